"""A set of instances serving one model: how they start, how a request picks one, what they cost.

:class:`InstanceFleet` is what every kind of capacity shares: a transform job's instances, a
real-time or asynchronous production variant (:class:`~.realtime.RealtimeFleet`) and a serverless
one (:class:`~..serverless.fleet.ServerlessFleet`). :class:`EndpointFleet` adds what a production
variant has on top: a traffic weight, InvokeEndpoint, and a healer that replaces a failed instance
(:mod:`.healing`).
"""

from __future__ import annotations

import itertools
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ..telemetry.logs import LogSink
from .healing import FailedInstance, HealingSetup, InstanceHealer
from .instance import Instance

#: An InvokeEndpoint answer: HTTP status, response headers, body.
Reply = tuple[int, list[tuple[str, str]], bytes]


@dataclass(frozen=True)
class InstanceUsage:
    """Billed per instance-second: ``count`` instances of ``instance_type`` are running."""

    variant: str
    instance_type: str
    count: int


@dataclass(frozen=True)
class ServerlessUsage:
    """Billed per request, plus ``provisioned`` concurrency kept warm at ``memory_mb``."""

    variant: str
    memory_mb: int
    provisioned: int


class InstanceFleet:
    """Instances of one model, and which one takes the next request (fewest in flight)."""

    #: Whether its instances start as new processes even where workers are forked from a warm
    #: template (``fleet/launcher.py``): a serverless cold start does.
    fresh_processes: ClassVar[bool] = False

    def __init__(
        self,
        name: str,
        instance_type: str,
        model_dir: Path,
        environment: dict[str, str],
        memory_limit_mb: int | None = None,
    ) -> None:
        self.name = name
        self.instance_type = instance_type
        self.model_dir = model_dir
        self.environment = environment
        #: Address-space limit for each worker, in MB (a serverless memory size), or None.
        self.memory_limit_mb = memory_limit_mb
        self.instances: list[Instance] = []
        self._rr = itertools.count()
        self._lock = threading.Lock()
        self._closed = False

    def add_instances(self, new: list[Instance]) -> None:
        """Put started, healthy instances into service."""
        self.instances = self.instances + new

    def new_instance(
        self, log_group: str, log_sink: LogSink, stream_template: str = "{variant}/{instance_id}"
    ) -> Instance:
        """A new instance of this fleet's model (not started); its exit is reported to
        :meth:`instance_exited`."""
        return Instance(
            self.name,
            self.instance_type,
            self.model_dir,
            self.environment,
            log_group,
            log_sink,
            memory_limit_mb=self.memory_limit_mb,
            fresh_process=self.fresh_processes,
            stream_template=stream_template,
            on_exit=self.instance_exited,
        )

    def instance_exited(self, instance: Instance) -> None:
        """One of this fleet's instances ended on its own (a transform job's: nothing to do)."""

    def in_service(self) -> list[Instance]:
        """The instances serving now (what the health check pings)."""
        return [i for i in self.instances if i.alive]

    def instance_failed(self, instance: Instance) -> FailedInstance:
        """``instance`` failed: replace it when it is still one of the fleet's in-service ones."""
        with self._lock:
            if not self._closed and any(i is instance for i in self.instances):
                return "replace"
            return "unknown"

    def take_over(self, old: Instance, new: Instance) -> bool:
        """Put ``new`` in ``old``'s place; False when ``old`` left the fleet (scaled in) or the
        fleet is closed meanwhile."""
        with self._lock:
            if self._closed or not any(i is old for i in self.instances):
                return False
            self.instances = [new if i is old else i for i in self.instances]
            return True

    def remove_instances(self, count: int) -> list[Instance]:
        """Take the ``count`` newest instances out of routing (a scale-in) and return them; the
        caller stops them once their requests in flight have ended."""
        with self._lock:
            keep = max(0, len(self.instances) - count)
            surplus = self.instances[keep:]
            self.instances = self.instances[:keep]
            return surplus

    def reserve(self, limit: int | None = None) -> Instance | None:
        """The live instance with the fewest requests in flight (round-robin among equals), with
        one more request counted on it; None when none is alive (or all have ``limit``)."""
        with self._lock:
            live = [i for i in self.instances if i.alive and (limit is None or i.in_flight < limit)]
            if not live:
                return None
            start = next(self._rr) % len(live)
            if len(live) == 1:  # one instance (the usual case): nothing to compare
                chosen = live[0]
            else:
                chosen = min(live[start:] + live[:start], key=lambda i: i.in_flight)
            chosen.in_flight += 1
            return chosen

    def release(self, instance: Instance) -> None:
        """The request counted by :meth:`reserve` has ended."""
        with self._lock:
            instance.in_flight -= 1

    def usage(self) -> InstanceUsage | ServerlessUsage:
        """What this fleet is billed for now (the meter's view)."""
        return InstanceUsage(self.name, self.instance_type, len(self.instances))

    def close(self) -> None:
        """No more requests are coming (the fleet is being stopped); instances stop separately."""
        with self._lock:
            self._closed = True


class EndpointFleet(InstanceFleet, ABC):
    """A production variant of an endpoint: weighted traffic and InvokeEndpoint."""

    def __init__(
        self,
        variant: dict[str, Any],
        model_dir: Path,
        environment: dict[str, str],
        healing: HealingSetup,
        memory_limit_mb: int | None = None,
    ) -> None:
        super().__init__(
            variant["VariantName"],
            variant.get("InstanceType", ""),
            model_dir,
            environment,
            memory_limit_mb,
        )
        self.weight: float = float(variant.get("InitialVariantWeight", 1.0))
        self.desired_weight: float = self.weight
        #: The instance count asked for by UpdateEndpointWeightsAndCapacities (autoscaling), shown
        #: as DesiredInstanceCount while the instances start or stop; None: the running count.
        self.desired_count: int | None = None
        #: Health-checks the instances in service and replaces a failed one.
        self.healer = InstanceHealer(self, healing)

    def add_instances(self, new: list[Instance]) -> None:
        super().add_instances(new)
        self.healer.start()

    def instance_exited(self, instance: Instance) -> None:
        self.healer.instance_exited(instance)

    def close(self) -> None:
        super().close()
        self.healer.close()

    @abstractmethod
    def invoke(self, endpoint_name: str, headers: dict[str, str], body: bytes) -> Reply:
        """Serve one InvokeEndpoint on this variant; AwsError for what a client should see."""

    def describe(self, deployed_images: list[dict[str, Any]] | None) -> dict[str, Any]:
        """This variant in DescribeEndpoint's ``ProductionVariants`` (the images, if any, as the
        wire layer resolved them)."""
        summary: dict[str, Any] = {
            "VariantName": self.name,
            "CurrentWeight": self.weight,
            "DesiredWeight": self.desired_weight,
            "CurrentInstanceCount": len([i for i in self.instances if i.alive]),
            "DesiredInstanceCount": (
                len(self.instances) if self.desired_count is None else self.desired_count
            ),
        }
        if deployed_images:
            summary["DeployedImages"] = deployed_images
        return summary


def start_instances(
    fleet: InstanceFleet,
    count: int,
    log_group: str,
    log_sink: LogSink,
    startup_timeout: float,
    stream_template: str = "{variant}/{instance_id}",
) -> list[Instance]:
    """Start ``count`` instances in parallel and wait until all pass the ping health check.

    ``stream_template`` names each instance's log stream (see :attr:`.instance.Instance.log_stream`).
    On failure every instance started here is stopped again and HealthCheckFailed is raised.
    """
    new = [fleet.new_instance(log_group, log_sink, stream_template) for _ in range(count)]
    deadline = time.monotonic() + startup_timeout
    try:
        for instance in new:
            instance.start()
        for instance in new:
            instance.wait_healthy(deadline)
    except BaseException:
        for instance in new:
            instance.stop(grace=2.0)
        raise
    return new
