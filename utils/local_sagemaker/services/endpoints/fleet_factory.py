"""Builds the fleet of one production variant: real-time (instances) or serverless."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..fleet.instance_fleet import EndpointFleet
from ..fleet.realtime import RealtimeFleet
from ..serverless.config import is_serverless
from ..serverless.fleet import ServerlessFleet, ServerlessServices


class FleetFactory:
    """Gives every new fleet what it reports to (built once by the gateway)."""

    def __init__(self, services: ServerlessServices) -> None:
        self.services = services

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
        if is_serverless(variant):
            return ServerlessFleet(
                variant, model_dir, environment, endpoint_name, log_group, tags, self.services
            )
        return RealtimeFleet(
            variant,
            model_dir,
            environment,
            self.services.metrics,
            self.services.invocation_timeout,
        )
