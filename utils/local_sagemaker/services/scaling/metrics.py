"""Where an alarm's metric comes from: the variant's own invocations, or CloudWatch.

The per-invocation metrics of ``AWS/SageMaker`` (Invocations, InvocationsPerInstance, errors,
latencies) for one endpoint variant are read from the in-memory window of recent invocations
(:mod:`..telemetry.recent`), exact to the request; any other metric (one you publish with
PutMetricData, say) from CloudWatch with GetMetricStatistics.

With the clock compressed (:mod:`.clock`) a period holds ``scale`` times less traffic than the
AWS period it stands for, so the ``Sum`` and ``SampleCount`` of a period are multiplied by the
period's compression (``Period`` / local period length): "invocations per minute" keeps its
meaning. Averages, minimums and maximums are not scaled.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from ..telemetry.recent import METRICS, RecentInvocations

# FIDELITY autoscaling.idle-invocations UNCONFIRMED: InvocationsPerInstance of an endpoint nobody calls
#   local: a period without requests is a data point of 0 for Invocations, InvocationsPerInstance
#     and the error counts (so the low alarm can fire after traffic stops); latencies have no data.
#   why: endpoints are documented to scale in after traffic falls, which needs the low alarm to see
#     data points while there is no traffic; whether SageMaker publishes zeros or the alarm treats
#     the gap as not breaching is not on record.
#   notice: CloudWatch on AWS may show gaps, not zeros, for idle minutes.
_COUNTS = frozenset(
    {"Invocations", "InvocationsPerInstance", "Invocation4XXErrors", "Invocation5XXErrors"}
)


def _dimensions(alarm: dict[str, Any]) -> dict[str, str]:
    return {str(d["Name"]): str(d["Value"]) for d in alarm.get("Dimensions") or []}


def statistic(values: list[float], name: str, scale: float) -> float | None:
    """One period's ``name`` statistic of ``values`` (None when there are none)."""
    if name == "Sum":
        return sum(values) * scale
    if name == "SampleCount":
        return len(values) * scale
    if not values:
        return None
    if name == "Minimum":
        return min(values)
    if name == "Maximum":
        return max(values)
    return sum(values) / len(values)


class MetricReader:
    """Reads one period of an alarm's metric for the scaler."""

    def __init__(self, recent: RecentInvocations, client: Callable[[str], Any]) -> None:
        self.recent = recent
        self.client = client

    def read(
        self, alarm: dict[str, Any], start: float, end: float, instances: Callable[[], int]
    ) -> float | None:
        """The data point of ``alarm``'s metric for [start, end) (local seconds since the epoch);
        ``instances`` counts the variant's instances, for InvocationsPerInstance."""
        scale = float(alarm.get("Period") or 60) / max(end - start, 1e-6)
        stat = str(alarm.get("Statistic") or "Average")
        metric = str(alarm.get("MetricName"))
        dims = _dimensions(alarm)
        if (
            alarm.get("Namespace") == "AWS/SageMaker"
            and metric in METRICS
            and set(dims) == {"EndpointName", "VariantName"}
        ):
            values = self.recent.values(
                dims["EndpointName"], dims["VariantName"], metric, start, end
            )
            if metric in _COUNTS:
                if metric == "InvocationsPerInstance":
                    values = [v / max(1, instances()) for v in values]
                value = statistic(values, stat, scale)
                return 0.0 if value is None else value
            return statistic(values, stat, scale)
        return self._cloudwatch(alarm, start, end, stat, scale)

    def _cloudwatch(
        self, alarm: dict[str, Any], start: float, end: float, stat: str, scale: float
    ) -> float | None:
        # CloudWatch keeps whole seconds: a period shorter than a second reads the second around it.
        first, last = math.floor(start), max(math.ceil(end), math.floor(start) + 1)
        kwargs: dict[str, Any] = {
            "Namespace": alarm["Namespace"],
            "MetricName": alarm["MetricName"],
            "Dimensions": list(alarm.get("Dimensions") or []),
            "StartTime": dt.datetime.fromtimestamp(first, dt.UTC),
            "EndTime": dt.datetime.fromtimestamp(last, dt.UTC),
            "Period": max(1, last - first),
            "Statistics": [stat],
        }
        if alarm.get("Unit"):
            kwargs["Unit"] = alarm["Unit"]
        points = self.client("cloudwatch").get_metric_statistics(**kwargs)["Datapoints"]
        if not points:
            return None
        if stat in ("Sum", "SampleCount"):
            return sum(float(p[stat]) for p in points) * scale * (end - start) / (last - first)
        values = [float(p[stat]) for p in points]
        return statistic(values, stat, 1.0)
