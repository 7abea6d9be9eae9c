"""One asynchronous endpoint's queue and its dispatcher thread.

A FIFO queue per endpoint. The dispatcher sends the oldest request to an instance with a free
slot (``MaxConcurrentInvocationsPerInstance``). It sleeps on a condition and is woken by a new
request, a finished one, a capacity change, or the next TTL expiry (a timed wait, never a polling
sleep). At 0 instances requests simply wait. The work itself (running a request, expiring one,
publishing metrics) is the owner's (:class:`QueueOwner`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Protocol

from ..fleet.instance import Instance
from ..fleet.instance_fleet import InstanceFleet
from .job import Job


class QueueOwner(Protocol):
    """What the queue asks of the asynchronous service that owns it."""

    def fleet_for(self, name: str) -> tuple[InstanceFleet | None, int]:
        """The endpoint's fleet now (None if gone) and its per-instance concurrency."""
        ...

    def process(self, job: Job, instance: Instance) -> bool:
        """Run ``job`` on ``instance``; True to put it back at the head of the queue."""
        ...

    def expire(self, job: Job) -> None:
        """``job`` outlived its RequestTTLSeconds."""
        ...

    def metrics_changed(self, urgent: bool = False) -> None:
        """The backlog changed: its metrics are due (``urgent``: now, no rate limit)."""
        ...


class EndpointQueue:
    """One async endpoint's queue and dispatcher."""

    def __init__(self, owner: QueueOwner, name: str) -> None:
        self.owner = owner
        self.name = name
        self.cond = threading.Condition()
        self.queue: deque[Job] = deque()
        self.in_process = 0
        #: The requests being processed now (saved with the queue: a restart runs them again).
        self.active: list[Job] = []
        self.closed = False
        self.dirty = True
        #: A request arrived while the endpoint had no instance since the metrics last took
        #: their values (:meth:`emission`): HasBacklogWithoutCapacity was 1 in that period.
        self.waited_without_capacity = False
        threading.Thread(target=self._dispatch, name=f"async-{name}", daemon=True).start()

    def _live_instances(self) -> int:
        fleet, _ = self.owner.fleet_for(self.name)
        return len([i for i in fleet.instances if i.alive]) if fleet is not None else 0

    def snapshot(self) -> dict[str, float]:
        """The backlog metrics' values now (and the live instance count)."""
        instances = self._live_instances()
        with self.cond:
            backlog = len(self.queue) + self.in_process
            oldest = min((j.enqueued for j in self.queue), default=None)
        age = time.monotonic() - oldest if oldest is not None else 0.0
        return {
            "ApproximateBacklogSize": float(backlog),
            "ApproximateBacklogSizePerInstance": float(
                backlog / instances if instances else backlog
            ),
            "ApproximateAgeOfOldestRequest": round(age, 3),
            "HasBacklogWithoutCapacity": 1.0 if backlog and not instances else 0.0,
            "Instances": float(instances),
        }

    def emission(self) -> dict[str, float]:
        """The values the metrics publish now: :meth:`snapshot`, except that
        ``HasBacklogWithoutCapacity`` is 1 if a request waited without an instance at any time
        since the last emission.

        The scale-out from zero can start an instance before the next emission samples the
        queue (locally it can take less than the metrics' period; on AWS it takes minutes, so
        there the sampled value is 1 anyway); the 1 that woke the endpoint must still reach
        CloudWatch, where clients and alarms look for it.
        """
        values = self.snapshot()
        with self.cond:
            if self.waited_without_capacity:
                values["HasBacklogWithoutCapacity"] = 1.0
            self.waited_without_capacity = False
        return values

    def put(self, job: Job) -> None:
        without_capacity = self._live_instances() == 0
        with self.cond:
            self.queue.append(job)
            self.dirty = True
            # only the first such request since the last emission is news
            urgent = without_capacity and not self.waited_without_capacity
            self.waited_without_capacity = self.waited_without_capacity or without_capacity
            self.cond.notify_all()
        # At 0 instances the request makes HasBacklogWithoutCapacity 1: emitted at once.
        self.owner.metrics_changed(urgent=urgent)

    def pending(self) -> list[Job]:
        """The requests not finished yet: in process first, then queued, oldest first."""
        with self.cond:
            return [*self.active, *self.queue]

    def capacity_changed(self) -> None:
        """Instances came or went: dispatch again, and the metrics are due."""
        with self.cond:
            self.dirty = True
            self.cond.notify_all()

    def busy(self) -> bool:
        """Whether the metrics are due: something changed, waits or is in process."""
        with self.cond:
            return self.dirty or bool(self.queue) or self.in_process > 0

    def take_busy(self) -> bool:
        """:meth:`busy`, and mark the change as seen."""
        with self.cond:
            due = self.dirty or bool(self.queue) or self.in_process > 0
            self.dirty = False
            return due

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.queue.clear()
            self.cond.notify_all()

    def _dispatch(self) -> None:
        while True:
            expired: list[Job] = []
            start: tuple[Job, InstanceFleet, Instance] | None = None
            with self.cond:
                if self.closed:
                    return
                now = time.monotonic()
                while self.queue and self.queue[0].deadline <= now:
                    expired.append(self.queue.popleft())
                # Requests behind the head may expire too (TTLs differ per request).
                for job in [j for j in self.queue if j.deadline <= now]:
                    self.queue.remove(job)
                    expired.append(job)
                if not expired and self.queue:
                    fleet, per_instance = self.owner.fleet_for(self.name)
                    instance = fleet.reserve(per_instance) if fleet is not None else None
                    if fleet is not None and instance is not None:
                        job = self.queue.popleft()
                        self.in_process += 1
                        self.active.append(job)
                        start = (job, fleet, instance)
                if expired or start:
                    self.dirty = True
                else:
                    wait = min((j.deadline for j in self.queue), default=None)
                    self.cond.wait(None if wait is None else max(0.0, wait - now))
                    continue
            for job in expired:
                self.owner.expire(job)
            if start is not None:
                threading.Thread(
                    target=self._run,
                    args=start,
                    name=f"async-job-{start[0].inference_id}",
                    daemon=True,
                ).start()
            self.owner.metrics_changed()

    def _run(self, job: Job, fleet: InstanceFleet, instance: Instance) -> None:
        requeue = False
        try:
            requeue = self.owner.process(job, instance)
        finally:
            fleet.release(instance)
            with self.cond:
                self.in_process -= 1
                self.active.remove(job)
                if requeue and not self.closed:
                    self.queue.appendleft(job)
                self.dirty = True
                self.cond.notify_all()
            self.owner.metrics_changed()
