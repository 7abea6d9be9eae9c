"""CloudWatch reads the lessons share: flush the local telemetry, read an endpoint's data points.

SageMaker publishes its endpoint metrics in the ``AWS/SageMaker`` namespace, per minute. The
invocation metrics carry the ``EndpointName`` and ``VariantName`` dimensions; the asynchronous
backlog metrics ``EndpointName`` alone. :func:`metric_datapoints` reads either.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

__all__ = ["flush_telemetry", "metric_datapoints"]


def flush_telemetry(tut: Any) -> None:
    """Locally, wait until queued logs and metrics reached CloudWatch (AWS: nothing to do)."""
    if tut.is_local:
        from utils.local_sagemaker import local_route

        local_route(tut.endpoint_url, "/_local/flush", timeout=15)


def metric_datapoints(
    cloudwatch: Any,
    endpoint: str,
    metric: str,
    statistics: Sequence[str],
    variant: str | None = None,
    minutes: int = 60,
) -> list[dict[str, Any]]:
    """One ``AWS/SageMaker`` metric of ``endpoint`` over the last ``minutes``, per-minute points.

    With ``variant`` the ``VariantName`` dimension is added (invocation metrics); without it only
    ``EndpointName`` is used (the asynchronous backlog metrics).
    """
    dimensions = [{"Name": "EndpointName", "Value": endpoint}]
    if variant:
        dimensions.append({"Name": "VariantName", "Value": variant})
    now = time.time()
    return cloudwatch.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName=metric,
        Dimensions=dimensions,
        StartTime=now - minutes * 60,
        EndTime=now + 60,
        Period=60,
        Statistics=list(statistics),
    )["Datapoints"]
