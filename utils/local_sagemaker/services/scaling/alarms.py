"""How a CloudWatch metric alarm turns its metric's data points into a state.

An alarm looks at its metric once per ``Period``: each period that ends yields one data point (or
none, when the metric has no data). The alarm is in ``ALARM`` when at least ``DatapointsToAlarm``
(by default ``EvaluationPeriods``) of the last ``EvaluationPeriods`` data points breach its
threshold, ``OK`` when they do not, and ``INSUFFICIENT_DATA`` until it has seen enough periods.
``TreatMissingData`` decides whether a period without data counts as breaching (``breaching``),
as not breaching (``notBreaching``) or not at all (``missing``, the default, and ``ignore``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .clock import ScalingClock

OK, ALARM, INSUFFICIENT = "OK", "ALARM", "INSUFFICIENT_DATA"

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}

#: (period start, period end) -> the data point, or None when the metric has no data then.
MetricRead = Callable[[float, float], "float | None"]


def breaches(alarm: dict[str, Any], value: float) -> bool:
    compare = _COMPARE.get(str(alarm.get("ComparisonOperator")))
    return compare is not None and compare(value, float(alarm.get("Threshold", 0.0)))


@dataclass
class AlarmWatch:
    """The data points an alarm has seen so far, and its state."""

    name: str
    next_end: float
    state: str = INSUFFICIENT
    points: deque[float | None] = field(default_factory=lambda: deque(maxlen=64))

    @property
    def latest(self) -> float | None:
        """The most recent data point with data."""
        return next((p for p in reversed(self.points) if p is not None), None)

    def advance(
        self, alarm: dict[str, Any], now: float, clock: ScalingClock, read: MetricRead
    ) -> bool:
        """Take the data points of every period that ended by ``now`` and re-evaluate; True when
        at least one period ended (the alarm was evaluated)."""
        period = clock.local(float(alarm.get("Period") or 60))
        periods = int(alarm.get("EvaluationPeriods") or 1)
        if now - self.next_end > period * (periods + 1):
            self.next_end = now - period * periods  # long unobserved: only the recent periods count
        evaluated = False
        while self.next_end <= now:
            self.points.append(read(self.next_end - period, self.next_end))
            self.next_end += period
            evaluated = True
        if evaluated:
            self.state = evaluate(alarm, list(self.points))
        return evaluated


def evaluate(alarm: dict[str, Any], points: list[float | None]) -> str:
    """The state an alarm is in after ``points`` (oldest first)."""
    periods = int(alarm.get("EvaluationPeriods") or 1)
    needed = int(alarm.get("DatapointsToAlarm") or periods)
    if len(points) < periods:
        recent_breaches = sum(1 for p in points if p is not None and breaches(alarm, p))
        return ALARM if recent_breaches >= needed else INSUFFICIENT
    window = points[-periods:]
    missing = str(alarm.get("TreatMissingData") or "missing")
    breaching = 0
    present = 0
    for point in window:
        if point is None:
            if missing == "breaching":
                breaching += 1
                present += 1
            elif missing == "notBreaching":
                present += 1
            continue
        present += 1
        breaching += breaches(alarm, point)
    if breaching >= needed:
        return ALARM
    return OK if present else INSUFFICIENT
