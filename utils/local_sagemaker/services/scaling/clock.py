"""The autoscaling clock: AWS's periods and cooldowns, optionally compressed.

AWS measures alarm periods and cooldowns in real seconds (a 60 s period, a 300 s cooldown).
Locally they are divided by :func:`~...core.settings.autoscaling_time_scale` (1 unless set), so
that a lesson can show minutes of AWS behaviour in seconds, without changing any number the
learner writes (TargetValue, Period, ScaleOutCooldown stay AWS's).
"""

from __future__ import annotations

from dataclasses import dataclass

# FIDELITY autoscaling.time-scale DIFFERS: the autoscaling clock can run faster than AWS's
#   local: With LOCAL_SAGEMAKER_AUTOSCALING_TIME_SCALE=N (the tutorial's setup() and the tests
#     use 60 and 120; 1 by default) alarm periods and cooldowns last N times less, and a period's
#     Sum and SampleCount are multiplied by N, so a target in invocations per minute means the
#     same traffic as on AWS; instances start as fast as a local process does.
#   why: AWS needs 3 minutes above the target to scale out and 15 below it to scale in, plus
#     minutes for each new instance: too long to watch in a lesson.
#   notice: On AWS a scale-out takes several minutes from the first busy minute, a scale-in 15
#     minutes or more after traffic stops; plan load tests in minutes, not seconds.


@dataclass(frozen=True)
class ScalingClock:
    """Converts AWS seconds into local seconds (``scale`` times shorter)."""

    scale: float = 1.0

    def local(self, aws_seconds: float) -> float:
        """How long ``aws_seconds`` of AWS's time lasts here."""
        return aws_seconds / self.scale

    @property
    def tick(self) -> float:
        """How often the scaler looks: twice per (compressed) minute, at most once a second."""
        return max(0.05, min(1.0, self.local(60.0) / 2))
