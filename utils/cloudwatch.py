"""CloudWatch metrics the lessons read: flush the local telemetry, read an endpoint's data points.

SageMaker publishes its endpoint metrics in the ``AWS/SageMaker`` namespace, per minute. The
invocation metrics carry the ``EndpointName`` and ``VariantName`` dimensions; the asynchronous
backlog metrics ``EndpointName`` alone. :func:`metric_datapoints` reads either, and
:func:`wait_for_metrics` keeps reading until what a lesson sent has arrived (on AWS a minute or
more after the requests); :func:`read_endpoint_metrics` is the real-time lesson's summary (counts
summed, latencies averaged over every request). An endpoint's logs are :mod:`utils.endpoint_logs`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from utils.polling import MAX_POLL_SECONDS, max_poll_seconds, poll_intervals

__all__ = [
    "ENDPOINT_METRICS",
    "flush_telemetry",
    "metric_datapoints",
    "read_endpoint_metrics",
    "wait_for_metrics",
]

Reading = TypeVar("Reading")


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


def wait_for_metrics(
    read: Callable[[], Reading],
    count: Callable[[Reading], float],
    wanted: float,
    what: str,
    timeout: float = 180.0,
    sleep: Callable[[float], None] = time.sleep,
    show: Callable[[str], None] | None = print,
    announce_after: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    poll_cap: float = MAX_POLL_SECONDS,
) -> Reading:
    """Call ``read`` until ``count`` of its result reaches ``wanted`` or ``timeout`` passes.

    Returns the last reading, complete or not: the caller compares ``count`` with ``wanted``.
    Metrics arrive after the requests (on AWS about a minute later, sometimes more; the local
    SageMaker delivers within about a second), so a wait longer than ``announce_after`` seconds
    is announced once through ``show``, with how much has arrived and how long it waits at most:
    a wait on AWS's pace is never silent and never unbounded. ``sleep`` and ``clock`` are
    replaceable so a test can run the wait on a fake clock. The interval between reads grows
    up to ``poll_cap`` (:func:`utils.polling.max_poll_seconds` of the reading client).
    """
    start = clock()
    deadline = start + timeout
    intervals = poll_intervals(most=poll_cap)
    announced = False
    while True:
        reading = read()
        arrived = count(reading)
        if arrived >= wanted or clock() >= deadline:
            return reading
        if show is not None and not announced and clock() - start >= announce_after:
            show(
                f"CloudWatch has {arrived:.0f} of {wanted:.0f} {what} so far (on AWS metrics "
                f"arrive about a minute after the requests); waiting at most {timeout:.0f} s in all."
            )
            announced = True
        sleep(min(next(intervals), max(0.0, deadline - clock())))


#: (metric, statistic) pairs read by read_endpoint_metrics.
ENDPOINT_METRICS = (
    ("Invocations", "Sum"),
    ("Invocation4XXErrors", "Sum"),
    ("Invocation5XXErrors", "Sum"),
    ("ModelLatency", "Average"),
    ("OverheadLatency", "Average"),
)


def read_endpoint_metrics(
    cloudwatch: Any,
    endpoint: str,
    variant: str = "AllTraffic",
    minutes: int = 60,
    min_invocations: int = 0,
    timeout: float = 180.0,
    sleep: Callable[[float], None] = time.sleep,
    show: Callable[[str], None] | None = print,
    announce_after: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, float]:
    """The endpoint's ``AWS/SageMaker`` metrics over the last ``minutes``, one number each.

    Counts are summed; latencies (published in microseconds) are averaged over all requests and
    returned in milliseconds as ``ModelLatency_ms`` and ``OverheadLatency_ms``. Metrics arrive
    after the requests (on AWS about a minute later, sometimes more), so this polls until
    ``Invocations`` reaches ``min_invocations`` or ``timeout`` passes, and returns what has
    arrived by then: compare ``Invocations`` with what you sent. A wait longer than
    ``announce_after`` seconds (the local SageMaker delivers within about a second) is announced
    once through ``show``, with how much has arrived and how long it will wait at most.
    """
    return wait_for_metrics(
        lambda: _metric_values(cloudwatch, endpoint, variant, minutes),
        lambda values: values["Invocations"],
        min_invocations,
        "invocations",
        timeout=timeout,
        sleep=sleep,
        show=show,
        poll_cap=max_poll_seconds(cloudwatch),
        announce_after=announce_after,
        clock=clock,
    )


def _metric_values(cloudwatch: Any, endpoint: str, variant: str, minutes: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for metric, statistic in ENDPOINT_METRICS:
        points = metric_datapoints(
            cloudwatch,
            endpoint,
            metric,
            ["Sum", "SampleCount"] if statistic == "Average" else [statistic],
            variant=variant,
            minutes=minutes,
        )
        if statistic == "Sum":
            out[metric] = float(sum(p["Sum"] for p in points))
        else:  # average over every request, not over per-minute averages
            count = sum(p["SampleCount"] for p in points)
            total = sum(p["Sum"] for p in points)
            out[f"{metric}_ms"] = total / count / 1000 if count else float("nan")
    return out

