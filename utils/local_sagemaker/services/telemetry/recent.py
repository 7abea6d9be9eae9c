"""The last few minutes of InvokeEndpoint outcomes per variant, kept in memory for autoscaling.

CloudWatch (moto) holds the published ``AWS/SageMaker`` metrics, but they reach it in batches up
to a second late and stamped with their arrival time; an alarm whose period lasts one second
(the autoscaling clock running 60x faster, ``core/settings.py``) would see the traffic of one
second in the next. The autoscaler therefore reads the invocation metrics from here, stamped when
each request ended, and reads every other metric from CloudWatch.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import NamedTuple

#: How far back the window reaches (s): the longest alarm window it serves is 15 periods of 60 s.
HORIZON_SECONDS = 16 * 60.0

#: The ``AWS/SageMaker`` metrics this window answers (the per-invocation ones).
METRICS = frozenset(
    {
        "Invocations",
        "InvocationsPerInstance",
        "Invocation4XXErrors",
        "Invocation5XXErrors",
        "ModelLatency",
        "OverheadLatency",
    }
)


class Outcome(NamedTuple):
    """One invocation: when it ended, its latencies (us) and HTTP status. A tuple, as one is
    made per InvokeEndpoint (a frozen dataclass sets each field through ``object.__setattr__``)."""

    at: float
    model_us: int | None
    overhead_us: int
    status: int


class RecentInvocations:
    """Invocation outcomes of the last :data:`HORIZON_SECONDS`, per (endpoint, variant)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_variant: dict[tuple[str, str], deque[Outcome]] = {}

    def record(
        self, endpoint: str, variant: str, model_us: int | None, overhead_us: int, status: int
    ) -> None:
        now = time.time()
        with self._lock:
            window = self._by_variant.setdefault((endpoint, variant), deque())
            window.append(Outcome(now, model_us, overhead_us, status))
            while window and window[0].at < now - HORIZON_SECONDS:
                window.popleft()

    def values(
        self, endpoint: str, variant: str, metric: str, start: float, end: float
    ) -> list[float]:
        """The data points of ``metric`` for requests that ended in [start, end): one per request
        (1 for Invocations, 0/1 for the error counts, microseconds for the latencies)."""
        with self._lock:
            outcomes = [
                o for o in self._by_variant.get((endpoint, variant), ()) if start <= o.at < end
            ]
        if metric in ("Invocations", "InvocationsPerInstance"):
            return [1.0 for _ in outcomes]
        if metric == "Invocation4XXErrors":
            return [1.0 if 400 <= o.status < 500 else 0.0 for o in outcomes]
        if metric == "Invocation5XXErrors":
            return [1.0 if o.status >= 500 or o.status == 0 else 0.0 for o in outcomes]
        if metric == "ModelLatency":
            return [float(o.model_us) for o in outcomes if o.model_us is not None]
        if metric == "OverheadLatency":
            return [float(o.overhead_us) for o in outcomes]
        return []

    def forget(self, endpoint: str) -> None:
        """Drop an endpoint's outcomes (it was deleted)."""
        with self._lock:
            for key in [k for k in self._by_variant if k[0] == endpoint]:
                del self._by_variant[key]
