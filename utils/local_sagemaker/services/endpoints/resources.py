"""The SageMaker resources of the local account, as data: models, endpoint configs, endpoints."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fleet.instance_fleet import EndpointFleet


@dataclass
class Model:
    """A CreateModel request as stored (without its tags)."""

    name: str
    arn: str
    request: dict[str, Any]
    creation_time: float


@dataclass
class EndpointConfig:
    """A CreateEndpointConfig request as stored (without its tags)."""

    name: str
    arn: str
    request: dict[str, Any]
    creation_time: float

    @property
    def variants(self) -> list[dict[str, Any]]:
        return list(self.request.get("ProductionVariants", []))


@dataclass
class Deployment:
    """The fleets built from one endpoint config, and where their models were extracted."""

    config: EndpointConfig
    fleets: dict[str, EndpointFleet]
    directory: Path
    #: The model each variant runs, as it was when deployed (AWS lets you delete it meanwhile).
    models: dict[str, Model] = field(default_factory=dict)


@dataclass
class Endpoint:
    """An endpoint: its status, and the deployment serving it (None until the first is up)."""

    name: str
    arn: str
    config_name: str
    status: str
    creation_time: float
    last_modified_time: float
    failure_reason: str | None = None
    deployment: Deployment | None = None
    #: Bumped by every operation; background work for an older generation discards its result.
    generation: int = 0
    deleted: threading.Event = field(default_factory=threading.Event)
