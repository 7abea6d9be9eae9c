"""When the asynchronous backlog metrics are emitted: on change, rate-limited, except that a
request arriving while the endpoint has no instance is emitted at once.

``HasBacklogWithoutCapacity`` is 1 only until the scale-out from zero has started an instance,
which locally can be quicker than the metrics' period. Sampled at the end of a rate-limited
period, the 1 that woke the endpoint could be missed: notebook 05 waits for it in CloudWatch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
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


@pytest.fixture
def emitted_once(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    """An asynchronous service whose endpoint "e" has one instance, never free (``fleet``,
    which a test may replace), after its first emission: the rate limit (an hour) has begun.
    ``points`` keeps what is emitted; ``emitted`` counts the points before the test's own."""
    monkeypatch.setattr(service_module, "METRIC_PERIOD", 3600.0)
    harness = SimpleNamespace(
        fleet=SimpleNamespace(instances=[SimpleNamespace(alive=True)], reserve=lambda n: None),
        points=Points(),
    )
    service = AsyncService(SimpleNamespace(), lambda name: None, harness.points)  # type: ignore[arg-type]
    monkeypatch.setattr(service, "fleet_for", lambda name: (harness.fleet, 1))
    try:
        harness.queue = service.queue_for("e")
        service.capacity_changed("e")  # an instance started: the first emission, then the limit
        assert harness.points.wait_for(("HasBacklogWithoutCapacity", 0.0), after=0)
        harness.emitted = len(harness.points.points)
        yield harness
    finally:
        service.stop()


def _job() -> Any:
    return SimpleNamespace(deadline=time.monotonic() + 3600, enqueued=time.monotonic())


def test_a_request_at_zero_instances_is_emitted_within_the_rate_limit(
    emitted_once: SimpleNamespace,
) -> None:
    points, emitted = emitted_once.points, emitted_once.emitted
    emitted_once.fleet.instances = []  # scaled in to zero; then a request arrives
    emitted_once.queue.put(_job())

    assert points.wait_for(("HasBacklogWithoutCapacity", 1.0), after=emitted), (
        "the request waiting at zero instances was not emitted until the rate limit ended"
    )
    assert ("ApproximateBacklogSize", 1.0) in points.points[emitted:]


def test_a_request_with_an_instance_waits_for_the_rate_limit(
    emitted_once: SimpleNamespace,
) -> None:
    """Only the request at zero is urgent: with an instance, metrics stay at most one per period
    (the request path must not pay for an emission each time)."""
    emitted_once.queue.put(_job())
    assert not emitted_once.points.wait_for(
        ("ApproximateBacklogSize", 1.0), after=emitted_once.emitted, timeout=0.5
    )


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
    emitted_once: SimpleNamespace,
) -> None:
    queue = emitted_once.queue
    emitted_once.fleet = StartsOnFirstLook()
    queue.put(_job())
    assert emitted_once.points.wait_for(
        ("HasBacklogWithoutCapacity", 1.0), after=emitted_once.emitted
    )
    assert queue.snapshot()["HasBacklogWithoutCapacity"] == 0.0  # an instance runs now
    assert queue.emission()["HasBacklogWithoutCapacity"] == 0.0  # said once, then the truth
