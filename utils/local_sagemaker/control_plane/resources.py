"""SageMaker resources (models, endpoint configs, endpoints) and their status transitions.

This module holds behaviour only: it knows nothing about HTTP or JSON (see :mod:`.api`). State
lives in memory, guarded by one lock; slow work (downloading the model from S3, starting worker
processes, health checks, stopping fleets) runs on background threads, so every API call answers
at once with the transitional status, exactly like AWS:

* CreateEndpoint: ``Creating`` -> ``InService``, or ``Failed`` with AWS's FailureReason;
* UpdateEndpoint / UpdateEndpointWeightsAndCapacities: ``Updating`` -> ``InService``; the new
  fleet is started and health-checked before the old one stops, so invocations keep working;
* DeleteEndpoint: ``Deleting`` -> gone (DescribeEndpoint then raises ValidationException).

Names are unique case-insensitively and ARNs use the lower-cased name (as on AWS); the runtime
looks endpoints up by their exact name (see :meth:`Registry.endpoint_for_invoke`).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import async_inference, config, serverless
from ..container.libraries import IMAGE_ENV
from ..errors import resource_limit, validation
from ..fleet import HealthCheckFailed, LogSink, LogStreamCreator, VariantFleet, start_instances


def arn(kind: str, name: str) -> str:
    """``arn:aws:sagemaker:<region>:<account>:<kind>/<lower-cased name>``."""
    return f"arn:aws:sagemaker:{config.REGION}:{config.ACCOUNT_ID}:{kind}/{name.lower()}"


def log_group_for(endpoint_name: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint_name}"


def ping_failure_reason(variant: str) -> str:
    """AWS's FailureReason when a container never passes ``/ping`` (sagemaker-python-sdk#787)."""
    return (
        f"The primary container for production variant {variant} did not pass the ping health "
        "check. Please check CloudWatch logs for this endpoint."
    )


def download_failure_reason(url: str) -> str:
    # UNCONFIRMED: the wording AWS uses when ModelDataUrl cannot be downloaded, as quoted in
    # forum threads; no primary source confirms it.
    return (
        f'Failed to download model data for container "container_1" from URL: "{url}". Please '
        "ensure that there is an object located at the URL and that the role passed to "
        "CreateModel has permissions to download the object."
    )


def extract_failure_reason(url: str) -> str:
    # UNCONFIRMED: wording for an archive that is not a valid (or safe) tar.gz.
    return (
        f'Failed to extract model data archive from URL "{url}". Please ensure that the object '
        "located at the URL is a valid tar.gz archive."
    )


def max_instances() -> int:
    """Local quota per instance type: worker processes share the learner's machine.

    ``LOCAL_SAGEMAKER_MAX_INSTANCES`` (default 8) plays the role of AWS's per-account
    "<type> for endpoint usage" service quota, and exceeding it raises the same error.
    """
    return int(os.environ.get("LOCAL_SAGEMAKER_MAX_INSTANCES", "8"))


@dataclass
class Model:
    name: str
    arn: str
    request: dict[str, Any]
    creation_time: float


@dataclass
class EndpointConfig:
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
    fleets: dict[str, VariantFleet]
    directory: Path


@dataclass
class Endpoint:
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


class Hooks:
    """What the resources need from the outside world (injected by the gateway)."""

    def __init__(
        self,
        state_dir: Path,
        s3_client: Callable[[], Any],
        log_sink: LogSink,
        ensure_log_group: LogStreamCreator,
        fleet_started: Callable[[str, VariantFleet], None],
        fleet_stopped: Callable[[str, VariantFleet], None],
        instance_env: dict[str, str],
    ) -> None:
        self.state_dir = state_dir
        self.s3_client = s3_client
        self.log_sink = log_sink
        self.ensure_log_group = ensure_log_group
        self.fleet_started = fleet_started
        self.fleet_stopped = fleet_stopped
        #: Added to every container's environment: instances reach the local AWS services the
        #: way a container on AWS reaches AWS through its execution role.
        self.instance_env = instance_env


class Registry:
    """All SageMaker resources of the local account, and the operations on them."""

    def __init__(self, hooks: Hooks) -> None:
        self.hooks = hooks
        self.lock = threading.RLock()
        self.models: dict[str, Model] = {}
        self.configs: dict[str, EndpointConfig] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.tags: dict[str, list[dict[str, str]]] = {}
        self._deploy_seq = 0

    # -- models -------------------------------------------------------------------------------

    def create_model(self, request: dict[str, Any]) -> Model:
        name = request["ModelName"]
        with self.lock:
            if name.lower() in self.models:
                raise validation(f'Cannot create already existing model "{arn("model", name)}".')
            if not request.get("PrimaryContainer") and not request.get("Containers"):
                # UNCONFIRMED wording; AWS requires one of the two.
                raise validation("Either PrimaryContainer or Containers must be specified.")
            stored = {k: v for k, v in request.items() if k != "Tags"}
            model = Model(name, arn("model", name), stored, time.time())
            self.models[name.lower()] = model
            self.tags[model.arn] = list(request.get("Tags") or [])
            return model

    def get_model(self, name: str) -> Model:
        with self.lock:
            model = self.models.get(name.lower())
        if model is None:
            raise validation(f'Could not find model "{arn("model", name)}".')
        return model

    def delete_model(self, name: str) -> None:
        with self.lock:
            model = self.get_model(name)
            del self.models[name.lower()]
            self.tags.pop(model.arn, None)

    # -- endpoint configs ---------------------------------------------------------------------

    def create_endpoint_config(self, request: dict[str, Any]) -> EndpointConfig:
        name = request["EndpointConfigName"]
        with self.lock:
            if name.lower() in self.configs:
                raise validation(
                    "Cannot create already existing endpoint configuration "
                    f'"{arn("endpoint-config", name)}".'
                )
            variants = request["ProductionVariants"]
            serverless.check_endpoint_config(request)
            async_inference.check_endpoint_config(request)
            seen: set[str] = set()
            for variant in variants:
                vname = variant["VariantName"]
                if vname in seen:
                    # UNCONFIRMED wording.
                    raise validation(
                        f"Variant name {vname} is duplicated in the production variants."
                    )
                seen.add(vname)
                self.get_model(variant.get("ModelName") or "")
                if variant.get("ServerlessConfig"):
                    continue  # checked by serverless.check_endpoint_config
                if not variant.get("InstanceType") or not variant.get("InitialInstanceCount"):
                    # UNCONFIRMED wording.
                    raise validation(
                        f"InstanceType and InitialInstanceCount are required for production "
                        f"variant {vname}."
                    )
            stored = {k: v for k, v in request.items() if k != "Tags"}
            for variant in stored["ProductionVariants"]:
                variant.setdefault("InitialVariantWeight", 1.0)
            cfg = EndpointConfig(name, arn("endpoint-config", name), stored, time.time())
            self.configs[name.lower()] = cfg
            self.tags[cfg.arn] = list(request.get("Tags") or [])
            return cfg

    def get_endpoint_config(self, name: str) -> EndpointConfig:
        with self.lock:
            cfg = self.configs.get(name.lower())
        if cfg is None:
            raise validation(
                f'Could not find endpoint configuration "{arn("endpoint-config", name)}".'
            )
        return cfg

    def delete_endpoint_config(self, name: str) -> None:
        with self.lock:
            cfg = self.get_endpoint_config(name)
            del self.configs[name.lower()]
            self.tags.pop(cfg.arn, None)

    # -- endpoints ----------------------------------------------------------------------------

    def get_endpoint(self, name: str) -> Endpoint:
        with self.lock:
            endpoint = self.endpoints.get(name.lower())
        if endpoint is None:
            raise validation(f'Could not find endpoint "{arn("endpoint", name)}".')
        return endpoint

    def endpoint_for_invoke(self, name: str) -> Endpoint | None:
        """The endpoint the runtime may call, or None (AWS matches the name's case on invoke)."""
        endpoint = self.endpoints.get(name.lower())
        if endpoint is None or endpoint.name != name:
            return None
        return endpoint

    def _check_quota(self, cfg: EndpointConfig, replacing: Deployment | None = None) -> None:
        in_use: dict[str, int] = {}
        for endpoint in self.endpoints.values():
            if endpoint.deployment is None or endpoint.deployment is replacing:
                continue
            for fleet in endpoint.deployment.fleets.values():
                in_use[fleet.instance_type] = in_use.get(fleet.instance_type, 0) + len(
                    fleet.instances
                )
        wanted: dict[str, int] = {}
        for variant in cfg.variants:
            if variant.get("ServerlessConfig"):
                continue  # serverless capacity is not an instance quota
            itype = variant["InstanceType"]
            wanted[itype] = wanted.get(itype, 0) + int(variant["InitialInstanceCount"])
        for itype, delta in wanted.items():
            self._check_type_quota(itype, in_use.get(itype, 0), delta)

    @staticmethod
    def _check_type_quota(itype: str, current: int, delta: int) -> None:
        limit = max_instances()
        if current + delta > limit:
            raise resource_limit(
                f"The account-level service limit '{itype} for endpoint usage' is {limit} "
                f"Instances, with current utilization of {current} Instances and a request delta "
                f"of {delta} Instances. Please use AWS Service Quotas to request an increase for "
                "this quota. If AWS Service Quotas is not available, contact AWS support to "
                "request an increase for this quota."
            )

    def create_endpoint(self, request: dict[str, Any]) -> Endpoint:
        name = request["EndpointName"]
        with self.lock:
            if name.lower() in self.endpoints:
                raise validation(
                    f'Cannot create already existing endpoint "{arn("endpoint", name)}".'
                )
            cfg = self.get_endpoint_config(request["EndpointConfigName"])
            models = {v["VariantName"]: self.get_model(v["ModelName"]) for v in cfg.variants}
            self._check_quota(cfg)
            now = time.time()
            endpoint = Endpoint(name, arn("endpoint", name), cfg.name, "Creating", now, now)
            self.endpoints[name.lower()] = endpoint
            self.tags[endpoint.arn] = list(request.get("Tags") or [])
            generation = endpoint.generation
        self.hooks.ensure_log_group(log_group_for(name))
        threading.Thread(
            target=self._create_worker,
            args=(endpoint, cfg, models, generation),
            name=f"create-{name}",
            daemon=True,
        ).start()
        return endpoint

    def _create_worker(
        self, endpoint: Endpoint, cfg: EndpointConfig, models: dict[str, Model], generation: int
    ) -> None:
        try:
            deployment = self._build_deployment(endpoint, cfg, models)
        except _DeployFailed as failure:
            with self.lock:
                if endpoint.generation == generation and not endpoint.deleted.is_set():
                    endpoint.status = "Failed"
                    endpoint.failure_reason = failure.reason
                    endpoint.last_modified_time = time.time()
            return
        with self.lock:
            current = endpoint.generation == generation and not endpoint.deleted.is_set()
            if current:
                endpoint.deployment = deployment
                endpoint.status = "InService"
                endpoint.last_modified_time = time.time()
        if current:
            for fleet in deployment.fleets.values():
                self.hooks.fleet_started(endpoint.name, fleet)
        else:
            self._stop_deployment(endpoint.name, deployment, metered=False)

    def _build_deployment(
        self, endpoint: Endpoint, cfg: EndpointConfig, models: dict[str, Model]
    ) -> Deployment:
        """Download and extract each variant's model, start its instances, health-check them."""
        with self.lock:
            self._deploy_seq += 1
            seq = self._deploy_seq
        directory = self.hooks.state_dir / "endpoints" / endpoint.name.lower() / f"deployment-{seq}"
        fleets: dict[str, VariantFleet] = {}
        started: list[VariantFleet] = []
        errors: list[BaseException] = []
        try:
            for variant in cfg.variants:
                model = models[variant["VariantName"]]
                container = model.request.get("PrimaryContainer") or model.request["Containers"][0]
                model_dir = directory / variant["VariantName"] / "model"
                self._fetch_model(container.get("ModelDataUrl"), model_dir)
                env = {**self.hooks.instance_env, **(container.get("Environment") or {})}
                env[IMAGE_ENV] = container.get("Image") or ""  # the image's libraries
                fleets[variant["VariantName"]] = serverless.make_fleet(
                    variant,
                    model_dir,
                    env,
                    endpoint.name,
                    log_group_for(endpoint.name),
                    self.hooks,
                    self.tags.get(endpoint.arn),
                )

            def start(fleet: VariantFleet, variant: dict[str, Any]) -> None:
                timeout = variant.get("ContainerStartupHealthCheckTimeoutInSeconds")
                try:
                    fleet.instances = start_instances(
                        fleet,
                        serverless.initial_instances(variant),
                        log_group_for(endpoint.name),
                        self.hooks.log_sink,
                        float(timeout) if timeout else config.startup_health_timeout(),
                    )
                    started.append(fleet)
                except BaseException as exc:
                    errors.append(
                        _DeployFailed(ping_failure_reason(fleet.name))
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
                close = getattr(fleet, "close", None)
                if close is not None:
                    close()
            for fleet in started:
                for instance in fleet.instances:
                    instance.stop(grace=2.0)
            if isinstance(exc, _DeployFailed):
                raise
            # Anything unexpected still ends as a Failed endpoint, never a stuck "Creating".
            raise _DeployFailed(
                f"Request to service failed. ({type(exc).__name__}: {exc})"
            ) from exc
        return Deployment(cfg, fleets, directory)

    def _fetch_model(self, url: str | None, model_dir: Path) -> None:
        """Download ModelDataUrl from (local) S3 and extract it safely into ``model_dir``."""
        model_dir.mkdir(parents=True, exist_ok=True)
        if not url:
            return
        if not url.startswith("s3://"):
            raise _DeployFailed(download_failure_reason(url))
        bucket, _, key = url[len("s3://") :].partition("/")
        archive = model_dir.parent / "model.tar.gz"
        try:
            self.hooks.s3_client().download_file(bucket, key, str(archive))
        except Exception as exc:
            raise _DeployFailed(download_failure_reason(url)) from exc
        from utils.artifact import ArchiveError, safe_extract

        try:
            safe_extract(archive, model_dir)
        except (ArchiveError, OSError) as exc:
            raise _DeployFailed(extract_failure_reason(url)) from exc
        finally:
            archive.unlink(missing_ok=True)

    def _stop_deployment(
        self, endpoint_name: str, deployment: Deployment, metered: bool = True
    ) -> None:
        for fleet in deployment.fleets.values():
            close = getattr(fleet, "close", None)  # serverless/async: stop taking new work
            if close is not None:
                close()
            for instance in list(fleet.instances):
                instance.stop()
            if metered:
                self.hooks.fleet_stopped(endpoint_name, fleet)
        shutil.rmtree(deployment.directory, ignore_errors=True)

    def update_endpoint(self, request: dict[str, Any]) -> Endpoint:
        name = request["EndpointName"]
        with self.lock:
            endpoint = self.get_endpoint(name)
            if endpoint.status != "InService":
                # UNCONFIRMED wording (AWS refuses updates unless the endpoint is InService).
                raise validation(f'Cannot update in-progress endpoint "{endpoint.arn}".')
            cfg = self.get_endpoint_config(request["EndpointConfigName"])
            models = {v["VariantName"]: self.get_model(v["ModelName"]) for v in cfg.variants}
            old = endpoint.deployment
            serverless.check_update(old.config.variants if old else [], cfg.variants)
            self._check_quota(cfg, replacing=None)
            endpoint.status = "Updating"
            endpoint.failure_reason = None
            endpoint.generation += 1
            endpoint.last_modified_time = time.time()
            generation = endpoint.generation
        threading.Thread(
            target=self._update_worker,
            args=(endpoint, cfg, models, old, generation),
            name=f"update-{name}",
            daemon=True,
        ).start()
        return endpoint

    def _update_worker(
        self,
        endpoint: Endpoint,
        cfg: EndpointConfig,
        models: dict[str, Model],
        old: Deployment | None,
        generation: int,
    ) -> None:
        try:
            new = self._build_deployment(endpoint, cfg, models)
        except _DeployFailed as failure:
            # UNCONFIRMED: AWS rolls back to the previous config; the endpoint stays InService on
            # the old fleet and FailureReason explains why the update failed.
            with self.lock:
                if endpoint.generation == generation and not endpoint.deleted.is_set():
                    endpoint.status = "InService"
                    endpoint.failure_reason = failure.reason
                    endpoint.last_modified_time = time.time()
            return
        with self.lock:
            current = endpoint.generation == generation and not endpoint.deleted.is_set()
            if current:
                endpoint.deployment = new
                endpoint.config_name = cfg.name
        if not current:
            self._stop_deployment(endpoint.name, new, metered=False)
            return
        for fleet in new.fleets.values():
            self.hooks.fleet_started(endpoint.name, fleet)
        if old is not None:
            self._stop_deployment(endpoint.name, old)
        with self.lock:
            if endpoint.generation == generation and not endpoint.deleted.is_set():
                endpoint.status = "InService"
                endpoint.last_modified_time = time.time()

    def update_weights_and_capacities(self, request: dict[str, Any]) -> Endpoint:
        name = request["EndpointName"]
        with self.lock:
            endpoint = self.get_endpoint(name)
            if endpoint.status != "InService" or endpoint.deployment is None:
                raise validation(f'Cannot update in-progress endpoint "{endpoint.arn}".')
            fleets = endpoint.deployment.fleets
            changes = request["DesiredWeightsAndCapacities"]
            for change in changes:
                if change["VariantName"] not in fleets:
                    # UNCONFIRMED wording.
                    raise validation(
                        f"The variant name(s) [{change['VariantName']}] is/are not present in "
                        f'the current configuration of endpoint "{endpoint.arn}".'
                    )
                if (
                    change.get("DesiredWeight") is None
                    and change.get("DesiredInstanceCount") is None
                ):
                    raise validation(
                        "Either DesiredWeight or DesiredInstanceCount must be specified for "
                        f"variant {change['VariantName']}."
                    )
            for change in changes:
                count = change.get("DesiredInstanceCount")
                fleet = fleets[change["VariantName"]]
                if count is not None and count > len(fleet.instances):
                    in_use = sum(
                        len(f.instances)
                        for e in self.endpoints.values()
                        if e.deployment
                        for f in e.deployment.fleets.values()
                        if f.instance_type == fleet.instance_type
                    )
                    self._check_type_quota(
                        fleet.instance_type, in_use, count - len(fleet.instances)
                    )
            endpoint.status = "Updating"
            endpoint.failure_reason = None
            endpoint.generation += 1
            endpoint.last_modified_time = time.time()
            generation = endpoint.generation
            deployment = endpoint.deployment
        threading.Thread(
            target=self._capacity_worker,
            args=(endpoint, deployment, changes, generation),
            name=f"capacity-{name}",
            daemon=True,
        ).start()
        return endpoint

    def _capacity_worker(
        self,
        endpoint: Endpoint,
        deployment: Deployment,
        changes: list[dict[str, Any]],
        generation: int,
    ) -> None:
        failure: str | None = None
        for change in changes:
            fleet = deployment.fleets[change["VariantName"]]
            if change.get("DesiredWeight") is not None:
                fleet.desired_weight = float(change["DesiredWeight"])
            count = change.get("DesiredInstanceCount")
            if count is None:
                fleet.weight = fleet.desired_weight
                continue
            self.hooks.fleet_stopped(endpoint.name, fleet)
            if count > len(fleet.instances):
                variant = next(
                    v for v in deployment.config.variants if v["VariantName"] == fleet.name
                )
                timeout = variant.get("ContainerStartupHealthCheckTimeoutInSeconds")
                try:
                    fleet.instances = fleet.instances + start_instances(
                        fleet,
                        count - len(fleet.instances),
                        log_group_for(endpoint.name),
                        self.hooks.log_sink,
                        float(timeout) if timeout else config.startup_health_timeout(),
                    )
                except HealthCheckFailed:
                    failure = ping_failure_reason(fleet.name)
            elif count < len(fleet.instances):
                surplus = fleet.instances[count:]
                fleet.instances = fleet.instances[:count]
                for instance in surplus:
                    instance.stop()
            fleet.weight = fleet.desired_weight
            self.hooks.fleet_started(endpoint.name, fleet)
        with self.lock:
            if endpoint.generation == generation and not endpoint.deleted.is_set():
                endpoint.status = "InService"
                endpoint.failure_reason = failure
                endpoint.last_modified_time = time.time()

    def delete_endpoint(self, name: str) -> None:
        with self.lock:
            endpoint = self.get_endpoint(name)
            if endpoint.status == "Deleting":
                # UNCONFIRMED wording.
                raise validation(f'Cannot delete in-progress endpoint "{endpoint.arn}".')
            endpoint.status = "Deleting"
            endpoint.generation += 1
            endpoint.last_modified_time = time.time()
            deployment = endpoint.deployment
        threading.Thread(
            target=self._delete_worker,
            args=(endpoint, deployment),
            name=f"delete-{name}",
            daemon=True,
        ).start()

    def _delete_worker(self, endpoint: Endpoint, deployment: Deployment | None) -> None:
        if deployment is not None:
            self._stop_deployment(endpoint.name, deployment)
        with self.lock:
            endpoint.deleted.set()
            if self.endpoints.get(endpoint.name.lower()) is endpoint:
                del self.endpoints[endpoint.name.lower()]
            self.tags.pop(endpoint.arn, None)
        shutil.rmtree(
            self.hooks.state_dir / "endpoints" / endpoint.name.lower(), ignore_errors=True
        )

    def shutdown(self) -> None:
        """Stop every fleet (gateway shutdown); resources vanish with the process."""
        with self.lock:
            endpoints = list(self.endpoints.values())
            for endpoint in endpoints:
                endpoint.generation += 1
                endpoint.deleted.set()
        for endpoint in endpoints:
            if endpoint.deployment is not None:
                self._stop_deployment(endpoint.name, endpoint.deployment)

    # -- tags ---------------------------------------------------------------------------------

    def _tags_for(self, resource_arn: str) -> list[dict[str, str]]:
        tags = self.tags.get(resource_arn)
        if tags is None:
            # UNCONFIRMED wording for a tag call on an ARN that names no resource.
            raise validation(f"Resource {resource_arn} does not exist.")
        return tags

    def add_tags(self, resource_arn: str, new_tags: list[dict[str, str]]) -> list[dict[str, str]]:
        with self.lock:
            tags = self._tags_for(resource_arn)
            merged = {t["Key"]: t["Value"] for t in tags}
            merged.update({t["Key"]: t.get("Value", "") for t in new_tags})
            if len(merged) > 50:
                raise resource_limit(
                    f"Exceeded the maximum number of tags (50) for {resource_arn}."
                )
            tags[:] = [{"Key": k, "Value": v} for k, v in merged.items()]
            return list(new_tags)

    def list_tags(self, resource_arn: str) -> list[dict[str, str]]:
        with self.lock:
            return [dict(t) for t in self._tags_for(resource_arn)]

    def delete_tags(self, resource_arn: str, keys: list[str]) -> None:
        with self.lock:
            tags = self._tags_for(resource_arn)
            tags[:] = [t for t in tags if t["Key"] not in set(keys)]


class _DeployFailed(Exception):
    """A deployment failed; ``reason`` becomes the endpoint's FailureReason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
