"""CloudWatch Logs and metrics for endpoints and jobs, shipped to moto in background batches.

* :mod:`.logs`: container output, one stream per instance (:class:`~.logs.LogShipper`);
* :mod:`.invocation_metrics`: per-invocation latencies and errors (:class:`~.invocation_metrics.MetricsPublisher`);
* :mod:`.data_points`: single data points such as ``ModelSetupTime`` (:class:`~.data_points.MetricSink`);
* :mod:`.flusher`: the batching queue all three use; :mod:`.aws_clients`: boto3 on the gateway.
"""
