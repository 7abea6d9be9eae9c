"""The per-invocation endpoint metrics of ``AWS/SageMaker``, aggregated and published in batches.

:class:`MetricsPublisher` turns each InvokeEndpoint into ``StatisticValues`` (Invocations, 4XX/5XX
errors, ModelLatency, OverheadLatency) per endpoint and variant, and calls ``put_metric_data``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from .flusher import BatchFlusher
from .recent import RecentInvocations

#: (endpoint, variant, model latency in us or None, overhead latency in us, status, time)
Invocation = tuple[str, str, int | None, int, int, float]


class MetricsPublisher:
    """Publishes the per-invocation endpoint metrics of ``AWS/SageMaker``."""

    NAMESPACE = "AWS/SageMaker"

    def __init__(self, client_factory: Callable[[], Any], recent: RecentInvocations) -> None:
        self._client_factory = client_factory
        #: The same outcomes, kept in memory for the autoscaler's alarms (see :mod:`.recent`).
        self.recent = recent
        self._client: Any = None
        self._queue: BatchFlusher[Invocation] = BatchFlusher("metrics-publisher", self._send)

    def record_invocation(
        self,
        endpoint: str,
        variant: str,
        model_latency_us: int | None,
        overhead_latency_us: int,
        status: int,
    ) -> None:
        """Queue one invocation: its latencies (microseconds, as AWS reports them) and outcome."""
        self.recent.record(endpoint, variant, model_latency_us, overhead_latency_us, status)
        self._queue.put((endpoint, variant, model_latency_us, overhead_latency_us, status, time.time()))

    def _send(self, batch: list[Invocation]) -> None:
        if self._client is None:
            self._client = self._client_factory()
        stats: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
        for endpoint, variant, model_us, overhead_us, status, _ in batch:
            key = (endpoint, variant)
            stats[(*key, "Invocations", "None")].append(1)
            stats[(*key, "Invocation4XXErrors", "None")].append(1 if 400 <= status < 500 else 0)
            stats[(*key, "Invocation5XXErrors", "None")].append(
                1 if status >= 500 or status == 0 else 0
            )
            if model_us is not None:
                stats[(*key, "ModelLatency", "Microseconds")].append(model_us)
            stats[(*key, "OverheadLatency", "Microseconds")].append(overhead_us)
        data = []
        for (endpoint, variant, name, unit), values in stats.items():
            data.append(
                {
                    "MetricName": name,
                    "Dimensions": [
                        {"Name": "EndpointName", "Value": endpoint},
                        {"Name": "VariantName", "Value": variant},
                    ],
                    "StatisticValues": {
                        "SampleCount": float(len(values)),
                        "Sum": float(sum(values)),
                        "Minimum": float(min(values)),
                        "Maximum": float(max(values)),
                    },
                    "Unit": unit,
                }
            )
        for start in range(0, len(data), 500):
            self._client.put_metric_data(
                Namespace=self.NAMESPACE, MetricData=data[start : start + 500]
            )

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every invocation queued so far has been published (or failed)."""
        return self._queue.flush(timeout)
