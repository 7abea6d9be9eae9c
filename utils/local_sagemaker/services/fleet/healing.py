"""Healing: an endpoint's instances are watched after start-up, and a failed one is replaced.

One :class:`InstanceHealer` per endpoint fleet (real-time, asynchronous and serverless
variants; a transform job's instances are not healed). It finds a failed instance two ways:

* **exit**, at once: every instance has a thread blocked on its process's exit
  (:meth:`.instance.Instance.start`), which calls :meth:`InstanceHealer.instance_exited`;
* **hang**, by the health check: every ``interval`` seconds each in-service instance gets a
  ``GET /ping`` with AWS's 2 s timeout; ``failures`` failed pings in a row (no answer, or not
  200) and it is taken out of service and stopped.

A failed instance gets no new request from that moment (``Instance.alive`` turns false). A new
instance (new instance id, so a new log stream) is started through the same path as any other
(:meth:`ReplaceableFleet.new_instance`), must pass the ping health check, and then takes the
failed one's place in the fleet; the endpoint stays ``InService`` throughout, and the failed
instance's log stream gets a line saying what happened. Meanwhile a request that finds no
instance gets the fleet's usual answer (real-time: ``ServiceUnavailable``; asynchronous: it
waits in the queue).

A model that keeps failing (its replacement does not pass the health check, or fails again
within ``stable_after`` seconds) is restarted with exponential backoff: the first replacement
starts at once, the next after ``first_backoff`` seconds, then twice as long each time up to
``max_backoff``, each delay announced in the log.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from ...core.settings import PING_TIMEOUT
from ..telemetry.logs import LogSink
from .instance import HealthCheckFailed, Instance

# FIDELITY endpoint.instance-health UNCONFIRMED: how often an in-service instance is pinged, and when it is replaced
#   local: every in-service instance gets `GET /ping` every 5 s (2 s timeout); after 3 failed
#     pings in a row, or at once when its process exits, it receives no more requests and a
#     new instance (new id, new log stream) replaces it; the endpoint stays InService. A model
#     that keeps failing is restarted after 1 s, 2 s, 4 s ... up to 60 s, each step logged.
#   why: AWS says it keeps pinging instances after start-up and replaces one that fails, with
#     the endpoint staying InService (developer guide, "How Your Container Should Respond to
#     Health Check (Ping) Requests"), but publishes neither the cadence nor how many failures
#     count; 5 s finds a hung instance within seconds while costing a worker one tiny request
#     every 5 s, and three failures keep one slow answer on a busy laptop from replacing a
#     healthy instance. AWS writes no line of its own into the container's log stream: the
#     "replaced" lines are the local SageMaker's, so a learner can see why a stream ends.
#   notice: On AWS a replacement takes minutes (a new machine boots), and requests in the gap go
#     to the variant's other instances or fail; the log shows only the container's own output.

#: Where a replacement is announced in the failed instance's log stream.
REPLACED = "local SageMaker: instance {old} {why}; it receives no more requests. {next}"


#: What a fleet does with a failed instance: start a replacement in its place, just drop it (an
#: on-demand serverless worker), or nothing (not one of its in-service instances: a start-up that
#: failed, or a fleet being stopped).
FailedInstance = Literal["replace", "forget", "unknown"]


@dataclass(frozen=True)
class HealthPolicy:
    """How instances are checked and how failing ones are restarted (see the module text)."""

    interval: float
    ping_timeout: float = PING_TIMEOUT
    failures: int = 3
    first_backoff: float = 1.0
    max_backoff: float = 60.0
    stable_after: float = 60.0

    def backoff(self, streak: int) -> float:
        """Seconds to wait before the ``streak``-th replacement in a row (the first: none)."""
        if streak <= 1:
            return 0.0
        return float(min(self.first_backoff * 2 ** (streak - 2), self.max_backoff))


@dataclass(frozen=True)
class HealingSetup:
    """What a fleet's healer needs besides the fleet: where logs go, how long a replacement
    may take to pass its first ping, whom to tell that capacity came back."""

    policy: HealthPolicy
    log_group: str
    log_sink: LogSink
    startup_timeout: float
    capacity_changed: Callable[[], None]


class ReplaceableFleet(Protocol):
    """What the healer asks of the fleet it watches."""

    name: str

    def in_service(self) -> list[Instance]:
        """The instances to health-check now."""
        ...

    def instance_failed(self, instance: Instance) -> FailedInstance:
        """``instance`` failed and is out of service: what to do about it."""
        ...

    def new_instance(self, log_group: str, log_sink: LogSink) -> Instance:
        """A new instance of the fleet's model, not started yet."""
        ...

    def take_over(self, old: Instance, new: Instance) -> bool:
        """Put healthy ``new`` in ``old``'s place; False when ``old`` is no longer wanted (the
        fleet was scaled in, updated or deleted meanwhile)."""
        ...


class InstanceHealer:
    """Health-checks one fleet's instances and replaces the ones that fail."""

    def __init__(self, fleet: ReplaceableFleet, setup: HealingSetup) -> None:
        self.fleet = fleet
        self.setup = setup
        self.policy = setup.policy
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        #: Failed pings in a row, per instance.
        self._missed: dict[Instance, int] = {}
        #: Replacements in a row that led to an instance, and when it went into service.
        self._streak: dict[Instance, tuple[int, float]] = {}
        #: Instances starting as replacements (stopped if the fleet closes meanwhile).
        self._starting: set[Instance] = set()

    # -- what the fleet calls -------------------------------------------------------------------

    def start(self) -> None:
        """Begin health-checking (idempotent; the fleet calls it when instances go in service)."""
        with self._cond:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(
                target=self._run, name=f"health-{self.fleet.name}", daemon=True
            )
            self._thread.start()

    def instance_exited(self, instance: Instance) -> None:
        """An instance's process ended without being asked to: handled at once, on the calling
        (the instance's exit watcher) thread, so a ping round in progress does not delay it."""
        self._failed(instance, instance.exit_description())

    def close(self) -> None:
        """The fleet stops: no more checks; a replacement still starting is stopped."""
        with self._cond:
            self._closed = True
            starting = list(self._starting)
            self._cond.notify_all()
        for instance in starting:
            instance.stop(grace=2.0)

    # -- the loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed, self.policy.interval)
                if self._closed:
                    return
            self._check_all()

    def _check_all(self) -> None:
        """Ping every in-service instance at once (a hung one costs the ping timeout, not more)."""
        instances = [i for i in self.fleet.in_service() if i.alive and i.client is not None]
        results: dict[Instance, int | None] = {}

        def ping(instance: Instance) -> None:
            client = instance.client
            try:
                results[instance] = client.ping(self.policy.ping_timeout) if client else None
            except OSError:
                results[instance] = None

        threads = [threading.Thread(target=ping, args=(i,), daemon=True) for i in instances]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.policy.ping_timeout + 1.0)
        failing: list[tuple[Instance, int, int | None]] = []
        with self._cond:
            # Forget instances that left the fleet (scaled in, replaced).
            for gone in [i for i in self._missed if i not in instances]:
                del self._missed[gone]
            for instance in instances:
                status = results.get(instance)
                if status == 200 or not instance.alive:
                    self._missed.pop(instance, None)
                    continue
                self._missed[instance] = self._missed.get(instance, 0) + 1
                failing.append((instance, self._missed[instance], status))
        for instance, missed, status in failing:
            if missed >= self.policy.failures:
                answer = "no answer" if status is None else f"status {status}"
                self._failed(
                    instance,
                    f"failed {missed} health checks in a row (GET /ping: {answer} within "
                    f"{self.policy.ping_timeout:g} s)",
                )

    # -- replacing ------------------------------------------------------------------------------

    def _failed(self, instance: Instance, why: str) -> None:
        """Take ``instance`` out of service, stop it, and start its replacement."""
        if not instance.take_out_of_service():
            return  # already handled (a ping round and the exit watcher both saw it)
        with self._cond:
            self._missed.pop(instance, None)
            streak, since = self._streak.pop(instance, (0, 0.0))
            if self._closed:
                return
        outcome = self.fleet.instance_failed(instance)
        # A hung process is stopped; an exited one is reaped and its pipes closed.
        threading.Thread(target=instance.stop, kwargs={"grace": 1.0}, daemon=True).start()
        if outcome == "unknown":
            return
        replace = outcome == "replace"
        if since and time.monotonic() - since >= self.policy.stable_after:
            streak = 0  # it served long enough: this is a new failure, not the same one again
        streak += 1
        delay = self.policy.backoff(streak)
        if not replace:
            then = "It is not replaced: the next request that needs it starts a new one."
        elif delay:
            then = f"The model keeps failing: a replacement starts in {delay:g} s."
        else:
            then = "A replacement instance is starting."
        self._log(instance, REPLACED.format(old=instance.instance_id, why=why, next=then))
        if replace:
            threading.Thread(
                target=self._replace,
                args=(instance, why, streak, delay),
                name=f"replace-{instance.instance_id}",
                daemon=True,
            ).start()

    def _replace(self, old: Instance, why: str, streak: int, delay: float) -> None:
        """Start new instances until one passes its health check and takes ``old``'s place."""
        while True:
            with self._cond:
                if delay:
                    self._cond.wait_for(lambda: self._closed, delay)
                if self._closed:
                    return
                new = self.fleet.new_instance(self.setup.log_group, self.setup.log_sink)
                self._starting.add(new)
            self._log(
                new,
                f"local SageMaker: instance {new.instance_id} replaces {old.instance_id}, "
                f"which {why}.",
            )
            try:
                new.start()
                new.wait_healthy(time.monotonic() + self.setup.startup_timeout)
            except (HealthCheckFailed, OSError) as exc:
                new.stop(grace=2.0)
                with self._cond:
                    if self._closed:
                        return
                streak += 1
                delay = self.policy.backoff(streak)
                self._log(
                    new,
                    f"local SageMaker: instance {new.instance_id} did not pass the ping health "
                    f"check ({exc}). The model keeps failing: the next replacement starts in "
                    f"{delay:g} s.",
                )
                continue
            finally:
                with self._cond:
                    self._starting.discard(new)
            with self._cond:
                closed = self._closed
                if not closed:
                    self._streak[new] = (streak, time.monotonic())
            if closed or not self.fleet.take_over(old, new):
                new.stop(grace=2.0)
                return
            self.setup.capacity_changed()
            return

    def _log(self, instance: Instance, line: str) -> None:
        self.setup.log_sink(self.setup.log_group, instance.log_stream, line)
