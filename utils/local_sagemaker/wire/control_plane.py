"""What the control plane's operations run on: the services the gateway built."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..services.endpoints.registry import Registry
from ..services.transform.jobs import TransformJobs


@dataclass(frozen=True)
class ControlPlane:
    """The account's SageMaker resources: models, configs, endpoints, tags; transform jobs."""

    registry: Registry
    transform_jobs: TransformJobs


#: One operation: (the services, validated request parameters) -> the response members.
Handler = Callable[[ControlPlane, dict[str, Any]], dict[str, Any]]
