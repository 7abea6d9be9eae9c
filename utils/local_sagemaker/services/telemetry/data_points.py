"""Single ``AWS/SageMaker`` data points that are not per-invocation latencies.

:class:`~.invocation_metrics.MetricsPublisher` aggregates InvokeEndpoint numbers; serverless cold
starts (``ModelSetupTime``) and asynchronous queues (``ApproximateBacklogSize`` and friends) need
single data points with their own dimensions. :class:`MetricSink` queues them and ships them to
moto's CloudWatch in batches, like the other telemetry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .flusher import BatchFlusher

NAMESPACE = "AWS/SageMaker"


class MetricSink:
    """Queue ``put_metric_data`` data points (namespace ``AWS/SageMaker``)."""

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        self._client_factory = client_factory
        self._client: Any = None
        self._queue: BatchFlusher[dict[str, Any]] = BatchFlusher("custom-metrics", self._send)

    def put(
        self,
        name: str,
        value: float,
        unit: str,
        endpoint: str,
        variant: str | None = None,
    ) -> None:
        """Queue one data point with the ``EndpointName`` (and ``VariantName``) dimensions."""
        dimensions = [{"Name": "EndpointName", "Value": endpoint}]
        if variant:
            dimensions.append({"Name": "VariantName", "Value": variant})
        self._queue.put(
            {
                "MetricName": name,
                "Dimensions": dimensions,
                "Value": float(value),
                "Unit": unit,
                "Timestamp": time.time(),
            }
        )

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every data point queued so far has been published (or failed)."""
        return self._queue.flush(timeout)

    def _send(self, batch: list[dict[str, Any]]) -> None:
        if self._client is None:
            self._client = self._client_factory()
        for start in range(0, len(batch), 500):
            self._client.put_metric_data(Namespace=NAMESPACE, MetricData=batch[start : start + 500])
