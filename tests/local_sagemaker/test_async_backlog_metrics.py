"""When the asynchronous backlog metrics are emitted: on change, rate-limited, except that a
request arriving while the endpoint has no instance is emitted at once.

``HasBacklogWithoutCapacity`` is 1 only until the scale-out from zero has started an instance,
which locally can be quicker than the metrics' period. Sampled at the end of a rate-limited
period, the 1 that woke the endpoint could be missed: notebook 05 waits for it in CloudWatch.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from utils.local_sagemaker.services.async_inference import service as service_module
from utils.local_sagemaker.services.async_inference.service import AsyncService


class Points:
    """A metric sink that keeps what it is given and lets a test wait for a data point."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.points: list[tuple[str, float]] = []

    def put(self, name: str, value: float, unit: str, endpoint: str, *rest: Any) -> None:
        with self.cond:
            self.points.append((name, value))
            self.cond.notify_all()

    def wait_for(self, wanted: tuple[str, float], after: int, timeout: float = 20.0) -> bool:
        """Whether ``wanted`` is emitted after the first ``after`` points (waits up to
        ``timeout`` seconds; the rate limit under test is an hour, so a pass is never a wait)."""
        with self.cond:
            return self.cond.wait_for(lambda: wanted in self.points[after:], timeout)


def test_a_request_at_zero_instances_is_emitted_within_the_rate_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service_module, "METRIC_PERIOD", 3600.0)  # one emission, then the limit
    alive = SimpleNamespace(alive=True)
    fleet = SimpleNamespace(instances=[alive], reserve=lambda per_instance: None)  # never free
    points = Points()
    service = AsyncService(SimpleNamespace(), lambda name: None, points)  # type: ignore[arg-type]
    monkeypatch.setattr(service, "fleet_for", lambda name: (fleet, 1))
    try:
        queue = service.queue_for("e")
        service.capacity_changed("e")  # an instance started: the first emission, then the limit
        assert points.wait_for(("HasBacklogWithoutCapacity", 0.0), after=0)
        emitted = len(points.points)

        fleet.instances = []  # scaled in to zero; then a request arrives
        job = SimpleNamespace(deadline=time.monotonic() + 3600, enqueued=time.monotonic())
        queue.put(job)  # type: ignore[arg-type]

        assert points.wait_for(("HasBacklogWithoutCapacity", 1.0), after=emitted), (
            "the request waiting at zero instances was not emitted until the rate limit ended"
        )
        assert ("ApproximateBacklogSize", 1.0) in points.points[emitted:]
    finally:
        service.stop()


def test_a_request_with_an_instance_waits_for_the_rate_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the request at zero is urgent: with an instance, metrics stay at most one per period
    (the request path must not pay for an emission each time)."""
    monkeypatch.setattr(service_module, "METRIC_PERIOD", 3600.0)
    fleet = SimpleNamespace(instances=[SimpleNamespace(alive=True)], reserve=lambda n: None)
    points = Points()
    service = AsyncService(SimpleNamespace(), lambda name: None, points)  # type: ignore[arg-type]
    monkeypatch.setattr(service, "fleet_for", lambda name: (fleet, 1))
    try:
        queue = service.queue_for("e")
        service.capacity_changed("e")
        assert points.wait_for(("HasBacklogWithoutCapacity", 0.0), after=0)
        emitted = len(points.points)
        queue.put(SimpleNamespace(deadline=time.monotonic() + 3600, enqueued=time.monotonic()))  # type: ignore[arg-type]
        assert not points.wait_for(("ApproximateBacklogSize", 1.0), after=emitted, timeout=0.5)
    finally:
        service.stop()


class StartsOnFirstLook:
    """A fleet at zero instances until its instance count has been read once: the scale-out
    from zero finishes right after the request arrives, before the metrics sample the queue."""

    def __init__(self) -> None:
        self.looked = False

    @property
    def instances(self) -> list[Any]:
        if self.looked:
            return [SimpleNamespace(alive=True)]
        self.looked = True
        return []

    def reserve(self, per_instance: int) -> None:
        return None  # never free: the request stays queued


def test_the_one_that_woke_the_endpoint_is_emitted_even_if_an_instance_started_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service_module, "METRIC_PERIOD", 3600.0)
    fleet: Any = SimpleNamespace(instances=[SimpleNamespace(alive=True)], reserve=lambda n: None)
    points = Points()
    service = AsyncService(SimpleNamespace(), lambda name: None, points)  # type: ignore[arg-type]
    monkeypatch.setattr(service, "fleet_for", lambda name: (fleet, 1))
    try:
        queue = service.queue_for("e")
        service.capacity_changed("e")
        assert points.wait_for(("HasBacklogWithoutCapacity", 0.0), after=0)
        emitted = len(points.points)

        fleet = StartsOnFirstLook()
        queue.put(SimpleNamespace(deadline=time.monotonic() + 3600, enqueued=time.monotonic()))  # type: ignore[arg-type]
        assert points.wait_for(("HasBacklogWithoutCapacity", 1.0), after=emitted)
        assert queue.snapshot()["HasBacklogWithoutCapacity"] == 0.0  # an instance runs now
        assert queue.emission()["HasBacklogWithoutCapacity"] == 0.0  # said once, then the truth
    finally:
        service.stop()
