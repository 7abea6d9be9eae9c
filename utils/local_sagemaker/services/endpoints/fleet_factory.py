"""Builds the fleet of one production variant: real-time (instances) or serverless, each with
the healer that replaces its failed instances (:mod:`..fleet.healing`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...core.settings import startup_health_timeout
from ..fleet.healing import HealingSetup, HealthPolicy
from ..fleet.instance_fleet import EndpointFleet
from ..fleet.realtime import RealtimeFleet
from ..serverless.config import is_serverless
from ..serverless.fleet import ServerlessFleet, ServerlessServices


def startup_timeout(variant: dict[str, Any]) -> float:
    """``ContainerStartupHealthCheckTimeoutInSeconds``, or the server's default."""
    timeout = variant.get("ContainerStartupHealthCheckTimeoutInSeconds")
    return float(timeout) if timeout else startup_health_timeout()


class FleetFactory:
    """Gives every new fleet what it reports to (built once by the gateway)."""

    def __init__(
        self,
        services: ServerlessServices,
        health: HealthPolicy,
        capacity_changed: Callable[[str], None],
    ) -> None:
        self.services = services
        self.health = health
        #: Told an endpoint's name when a replacement instance went into service.
        self.capacity_changed = capacity_changed

    def make(
        self,
        variant: dict[str, Any],
        model_dir: Path,
        environment: dict[str, str],
        endpoint_name: str,
        log_group: str,
        tags: list[dict[str, str]] | None,
    ) -> EndpointFleet:
        """The fleet for one production variant: serverless or instance-based."""
        healing = HealingSetup(
            policy=self.health,
            log_group=log_group,
            log_sink=self.services.log_sink,
            startup_timeout=startup_timeout(variant),
            capacity_changed=lambda: self.capacity_changed(endpoint_name),
        )
        if is_serverless(variant):
            return ServerlessFleet(
                variant,
                model_dir,
                environment,
                endpoint_name,
                log_group,
                tags,
                self.services,
                healing,
            )
        return RealtimeFleet(
            variant,
            model_dir,
            environment,
            self.services.metrics,
            self.services.invocation_timeout,
            healing,
        )
