"""Deployments: an endpoint config's models downloaded and unpacked, its fleets started and
health-checked; and stopped again.

The slow work of CreateEndpoint and UpdateEndpoint (it runs on a background thread of the
registry). A failure of any kind ends as :class:`DeployFailed`, whose ``reason`` becomes the
endpoint's FailureReason, never as a stuck ``Creating``.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ...core.archive import ArchiveError, safe_extract
from ...core.messages import (
    download_failure_reason,
    extract_failure_reason,
    log_group_for,
    ping_failure_reason,
)
from ...core.s3_uri import split_s3_uri
from ...core.worker_contract import container_environment
from ..fleet.instance import HealthCheckFailed
from ..fleet.instance_fleet import EndpointFleet, InstanceFleet, start_instances
from ..serverless.config import initial_instances
from ..telemetry.logs import LogSink
from .fleet_factory import FleetFactory, startup_timeout
from .resources import Deployment, EndpointConfig, Model


class DeployFailed(Exception):
    """A deployment failed; ``reason`` becomes the endpoint's FailureReason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FleetEvents(Protocol):
    """Told when a fleet starts or stops serving (the meter bills, async queues wake)."""

    def fleet_started(self, endpoint_name: str, fleet: InstanceFleet) -> None: ...

    def fleet_stopped(self, endpoint_name: str, fleet: InstanceFleet) -> None: ...


def fetch_model(s3_client: Callable[[], Any], url: str | None, model_dir: Path) -> None:
    """Download ModelDataUrl from (local) S3 and extract it safely into ``model_dir``."""
    model_dir.mkdir(parents=True, exist_ok=True)
    if not url:
        return
    if not url.startswith("s3://"):
        raise DeployFailed(download_failure_reason(url))
    bucket, key = split_s3_uri(url)
    archive = model_dir.parent / "model.tar.gz"
    try:
        s3_client().download_file(bucket, key, str(archive))
    except Exception as exc:
        raise DeployFailed(download_failure_reason(url)) from exc
    try:
        safe_extract(archive, model_dir)
    except (ArchiveError, OSError) as exc:
        raise DeployFailed(extract_failure_reason(url)) from exc
    finally:
        archive.unlink(missing_ok=True)


class Deployer:
    """Builds and stops the deployments of the account's endpoints."""

    def __init__(
        self,
        state_dir: Path,
        s3_client: Callable[[], Any],
        log_sink: LogSink,
        instance_env: dict[str, str],
        fleets: FleetFactory,
        events: FleetEvents,
    ) -> None:
        self.state_dir = state_dir
        self.s3_client = s3_client
        self.log_sink = log_sink
        #: Added to every container's environment: instances reach the local AWS services the
        #: way a container on AWS reaches AWS through its execution role.
        self.instance_env = instance_env
        self.fleets = fleets
        self.events = events
        self._seq = 0
        self._lock = threading.Lock()

    def endpoint_dir(self, endpoint_name: str) -> Path:
        """Where an endpoint's deployments unpack their models."""
        return self.state_dir / "endpoints" / endpoint_name.lower()

    def build(
        self,
        endpoint_name: str,
        cfg: EndpointConfig,
        models: dict[str, Model],
        tags: list[dict[str, str]] | None,
    ) -> Deployment:
        """Download and extract each variant's model, start its instances, health-check them."""
        with self._lock:
            self._seq += 1
            seq = self._seq
        directory = self.endpoint_dir(endpoint_name) / f"deployment-{seq}"
        log_group = log_group_for(endpoint_name)
        fleets: dict[str, EndpointFleet] = {}
        started: list[EndpointFleet] = []
        errors: list[BaseException] = []
        try:
            for variant in cfg.variants:
                model = models[variant["VariantName"]]
                container = model.request.get("PrimaryContainer") or model.request["Containers"][0]
                model_dir = directory / variant["VariantName"] / "model"
                fetch_model(self.s3_client, container.get("ModelDataUrl"), model_dir)
                env = container_environment(self.instance_env, container)
                fleets[variant["VariantName"]] = self.fleets.make(
                    variant, model_dir, env, endpoint_name, log_group, tags
                )

            def start(fleet: EndpointFleet, variant: dict[str, Any]) -> None:
                try:
                    fleet.add_instances(
                        start_instances(
                            fleet,
                            initial_instances(variant),
                            log_group,
                            self.log_sink,
                            startup_timeout(variant),
                        )
                    )
                    started.append(fleet)
                except BaseException as exc:
                    errors.append(
                        DeployFailed(ping_failure_reason(fleet.name))
                        if isinstance(exc, HealthCheckFailed)
                        else exc
                    )

            threads = [
                threading.Thread(target=start, args=(fleets[v["VariantName"]], v), daemon=True)
                for v in cfg.variants
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if errors:
                raise errors[0]
        except BaseException as exc:
            for fleet in fleets.values():
                fleet.close()
            for fleet in started:
                for instance in fleet.instances:
                    instance.stop(grace=2.0)
            if isinstance(exc, DeployFailed):
                raise
            # Anything unexpected still ends as a Failed endpoint, never a stuck "Creating".
            raise DeployFailed(
                f"Request to service failed. ({type(exc).__name__}: {exc})"
            ) from exc
        return Deployment(cfg, fleets, directory, dict(models))

    def started(self, endpoint_name: str, deployment: Deployment) -> None:
        """The deployment serves now: its fleets start accruing."""
        for fleet in deployment.fleets.values():
            self.events.fleet_started(endpoint_name, fleet)

    def stop(self, endpoint_name: str, deployment: Deployment, metered: bool = True) -> None:
        """Stop taking work, stop every instance, remove the unpacked models."""
        for fleet in deployment.fleets.values():
            fleet.close()  # serverless: stop taking new work
            for instance in list(fleet.instances):
                instance.stop()
            if metered:
                self.events.fleet_stopped(endpoint_name, fleet)
        shutil.rmtree(deployment.directory, ignore_errors=True)
