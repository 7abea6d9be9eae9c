"""Application Auto Scaling acted on for real-time endpoints: alarms, policies, cooldowns.

* :mod:`.registrations`: the scalable targets and policies (moto's records, read and changed
  through the public API) and the CloudWatch alarms target tracking creates;
* :mod:`.alarms`: how an alarm turns its metric's data points into a state;
* :mod:`.metrics`: where an alarm's metric comes from;
* :mod:`.policies`: what a policy asks for when its alarm fires;
* :mod:`.realtime`: the loop that evaluates the alarms and changes DesiredInstanceCount.

Asynchronous endpoints keep their own backlog-driven scaler (:mod:`..autoscaling`).
"""
