"""Serverless endpoints: workers that start inside a request, scale to zero, and throttle.

A production variant with ``ServerlessConfig`` is served by a :class:`ServerlessFleet`. One
worker process (the same container contract as a real-time instance) serves one request at a
time, as AWS recommends for serverless (one worker per container):

* **Cold start.** A request that finds no idle warm worker starts one *inside the request*: a
  real process start, the model load (lazy, on the first ``/ping``) and the health check. The
  time it took is the ``ModelSetupTime`` metric (microseconds, ``AWS/SageMaker``) and is part of
  the request's latency (``OverheadLatency``), as on AWS. A new endpoint goes ``InService`` with
  no warm worker, so the first request is always cold. The model download happens once, at
  ``CreateEndpoint`` (AWS keeps the image and model cached, too).
* **Scale to zero.** A worker idle for :func:`idle_timeout` seconds is stopped (a timer on a
  condition variable, no polling). AWS does not publish its idle period; locally it is
  ``LOCAL_SAGEMAKER_SERVERLESS_IDLE_SECONDS`` (read when the server starts, default 60 s), or per
  endpoint the tag :data:`IDLE_TAG` (read at CreateEndpoint/UpdateEndpoint; AWS ignores it, so the
  same notebook code works there, only with AWS's own idle period).
* **Provisioned concurrency.** ``ProvisionedConcurrency`` workers are started at deployment (the
  endpoint is ``InService`` once they pass ``/ping``) and are never scaled in.
* **Throttling.** At most ``MaxConcurrency`` requests are admitted at once (warm, cold-starting or
  processing); one more is answered at once with ``ThrottlingException`` (HTTP 400). Nothing is
  queued, nothing is dropped silently.
* **Limits.** Request bodies over 4 MB get ``ValidationError: Request <id> has oversize body.``
  (sagemaker-python-sdk#4271); the model has 60 s (the runtime's invocation timeout); a cold
  start (download + ``/ping``) has 3 minutes.
* **Memory.** ``MemorySizeInMB`` bounds the worker with ``RLIMIT_AS`` (see
  :data:`..fleet.Instance.memory_limit_mb`): a model that needs more memory fails in the worker
  with a real ``MemoryError``, so the health check fails and the request gets a ModelError (or, with
  provisioned concurrency, the endpoint fails with AWS's ping FailureReason). ``RLIMIT_AS`` counts
  *address space*, not resident memory: a worker that has imported numpy, pandas and scikit-learn
  and loaded the tutorial's model maps about 580 MB (660 MB with one BLAS thread per core on a
  2-core machine) while only about 215 MB is resident, so 1024 MB leaves roughly 400 MB for the
  model and the request. To keep that predictable the worker gets one BLAS/OpenMP thread per
  2 GB of memory (AWS gives serverless vCPUs in proportion to memory) and ``MALLOC_ARENA_MAX=2``.

UNCONFIRMED choices (AWS documents the behaviour but not these texts), each a constant below:
the throttle code (``ThrottlingException``) and its message (``null``, as quoted from real
service output in aws-samples/amazon-sagemaker-nlu-search#4), the validation texts for invalid
memory sizes and unsupported combinations, and the error a failed cold start returns.
"""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path
from typing import Any

from . import config
from .errors import AwsError, validation
from .fleet import HealthCheckFailed, Instance, VariantFleet, start_instances

#: AWS's memory sizes for serverless endpoints (1 GB increments).
MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)

#: Serverless request (and response) payload limit: 4 MB.
MAX_BODY_BYTES = 4 * 1024 * 1024

#: The model download plus a passing ``/ping`` must finish within 3 minutes on AWS.
COLD_START_TIMEOUT = 180.0

#: Local-only tag that shortens (or lengthens) one endpoint's idle period, in seconds.
IDLE_TAG = "local-sagemaker:serverless-idle-seconds"

#: UNCONFIRMED: AWS's throttle answer for serverless. The code is the one botocore retries; real
#: ThrottlingException responses seen in the wild carry no message (botocore prints ``None``).
THROTTLE_CODE = "ThrottlingException"
THROTTLE_MESSAGE: str | None = None


def idle_timeout() -> float:
    """Seconds a serverless worker may stay idle before it is stopped (server-wide default).

    ``LOCAL_SAGEMAKER_SERVERLESS_IDLE_SECONDS`` (default 60) is read when the server starts.
    """
    value = os.environ.get("LOCAL_SAGEMAKER_SERVERLESS_IDLE_SECONDS")
    return float(value) if value else 60.0


def is_serverless(variant: dict[str, Any]) -> bool:
    return bool(variant.get("ServerlessConfig"))


def _constraint(value: Any, where: str, text: str) -> str:
    return f"Value '{value}' at '{where}' failed to satisfy constraint: {text}"


def check_endpoint_config(request: dict[str, Any]) -> None:
    """Refuse what serverless does not support, with AWS's generic constraint format.

    UNCONFIRMED texts: AWS's own wording for these cases is not on record; the memory-size one
    follows the generic ``N validation error(s) detected`` format of the service's validator.
    """
    variants = request.get("ProductionVariants") or []
    serverless = [v for v in variants if is_serverless(v)]
    if not serverless:
        return
    errors: list[str] = []
    for index, variant in enumerate(variants, start=1):
        cfg = variant.get("ServerlessConfig")
        if not cfg:
            continue
        where = f"productionVariants.{index}.member.serverlessConfig"
        memory = cfg.get("MemorySizeInMB")
        if memory is not None and memory not in MEMORY_SIZES:
            errors.append(
                _constraint(
                    memory,
                    f"{where}.memorySizeInMB",
                    "Member must satisfy enum value set: ["
                    + ", ".join(str(m) for m in MEMORY_SIZES)
                    + "]",
                )
            )
    if errors:
        noun = "error" if len(errors) == 1 else "errors"
        raise AwsError(
            "ValidationException", f"{len(errors)} validation {noun} detected: " + "; ".join(errors)
        )
    if len(variants) > 1:
        raise validation(
            "Serverless endpoints support a single production variant; the endpoint "
            f"configuration has {len(variants)}."
        )
    variant = serverless[0]
    cfg = variant["ServerlessConfig"]
    name = variant.get("VariantName")
    if variant.get("InstanceType") or variant.get("InitialInstanceCount") is not None:
        raise validation(
            f"Production variant {name} specifies ServerlessConfig together with InstanceType "
            "or InitialInstanceCount; a serverless variant must not specify instances."
        )
    provisioned = cfg.get("ProvisionedConcurrency")
    if provisioned is not None and provisioned > cfg.get("MaxConcurrency", 0):
        raise validation(
            f"ProvisionedConcurrency ({provisioned}) for production variant {name} must be less "
            f"than or equal to MaxConcurrency ({cfg.get('MaxConcurrency')})."
        )
    capture = request.get("DataCaptureConfig")
    if capture and capture.get("EnableCapture", True):
        raise validation("DataCaptureConfig is not supported for serverless endpoints.")
    if request.get("AsyncInferenceConfig"):
        raise validation("AsyncInferenceConfig is not supported for serverless endpoints.")


def check_update(old_variants: list[dict[str, Any]], new_variants: list[dict[str, Any]]) -> None:
    """Real-time -> serverless is refused (ValidationError on AWS); serverless -> real-time is fine."""
    old_serverless = any(is_serverless(v) for v in old_variants)
    new_serverless = any(is_serverless(v) for v in new_variants)
    if old_variants and not old_serverless and new_serverless:
        raise validation(
            "Updating an endpoint with instance-based production variants to a serverless "
            "endpoint configuration is not supported. Create a new endpoint instead."
        )


def initial_instances(variant: dict[str, Any]) -> int:
    """Workers to start at deployment: the provisioned concurrency (often 0) or the instances."""
    if is_serverless(variant):
        return int(variant["ServerlessConfig"].get("ProvisionedConcurrency") or 0)
    return int(variant["InitialInstanceCount"])


def idle_seconds_from_tags(tags: list[dict[str, str]] | None) -> float:
    for tag in tags or []:
        if tag.get("Key") == IDLE_TAG:
            try:
                return max(0.0, float(tag.get("Value", "")))
            except ValueError:
                break
    return idle_timeout()


def worker_environment(memory_mb: int) -> dict[str, str]:
    """Thread and allocator settings that keep a worker's address space proportional to memory."""
    threads = str(max(1, min(os.cpu_count() or 1, memory_mb // 2048)))
    return {
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "MALLOC_ARENA_MAX": "2",
    }


def make_fleet(
    variant: dict[str, Any],
    model_dir: Path,
    env: dict[str, str],
    endpoint_name: str,
    log_group: str,
    hooks: Any,
    tags: list[dict[str, str]] | None,
) -> VariantFleet:
    """The fleet for one production variant: serverless or instance-based."""
    if not is_serverless(variant):
        return VariantFleet(variant, model_dir, env)
    return ServerlessFleet(variant, model_dir, env, endpoint_name, log_group, hooks, tags)


class ServerlessFleet(VariantFleet):
    """A serverless variant's workers: cold starts, idle scale-in, provisioned and max concurrency."""

    serverless = True

    def __init__(
        self,
        variant: dict[str, Any],
        model_dir: Path,
        env: dict[str, str],
        endpoint_name: str,
        log_group: str,
        hooks: Any,
        tags: list[dict[str, str]] | None = None,
    ) -> None:
        cfg = variant["ServerlessConfig"]
        self.memory_mb = int(cfg["MemorySizeInMB"])
        self.max_concurrency = int(cfg["MaxConcurrency"])
        self.provisioned_concurrency = int(cfg.get("ProvisionedConcurrency") or 0)
        self.serverless_config = {
            "MemorySizeInMB": self.memory_mb,
            "MaxConcurrency": self.max_concurrency,
        }
        if self.provisioned_concurrency:
            self.serverless_config["ProvisionedConcurrency"] = self.provisioned_concurrency
        self._members: list[Instance] = []
        self._cond = threading.Condition()
        self._idle: dict[Instance, float] = {}  # warm, not busy -> monotonic time it went idle
        self._provisioned: set[Instance] = set()
        super().__init__(variant, model_dir, {**env, **worker_environment(self.memory_mb)})
        self.instance_type = ""
        #: Read by ``start_instances``: the worker's address-space limit.
        self.memory_limit_mb: int | None = self.memory_mb
        self.endpoint_name = endpoint_name
        self.log_group = log_group
        self.hooks = hooks
        self.idle_seconds = idle_seconds_from_tags(tags)
        self._active = 0
        self._closed = False
        self.cold_starts = 0
        threading.Thread(target=self._reaper, name=f"idle-{endpoint_name}", daemon=True).start()

    # ``instances`` is what the registry, DescribeEndpoint and shutdown see: every live worker.
    @property
    def instances(self) -> list[Instance]:
        return list(self._members)

    @instances.setter
    def instances(self, value: list[Instance]) -> None:
        # Only the deployment sets it, with the provisioned-concurrency workers.
        with self._cond:
            for instance in value:
                if instance not in self._members:
                    self._members.append(instance)
                    self._provisioned.add(instance)
                    self._idle[instance] = time.monotonic()
            self._cond.notify_all()

    @property
    def warm_count(self) -> int:
        with self._cond:
            return len([i for i in self._members if i.alive])

    # -- scale to zero ------------------------------------------------------------------------

    def _reaper(self) -> None:
        """Stop on-demand workers idle for ``idle_seconds``: sleeps until the next one is due."""
        while True:
            expired: list[Instance] = []
            with self._cond:
                while not self._closed:
                    now = time.monotonic()
                    due = {
                        i: since + self.idle_seconds
                        for i, since in self._idle.items()
                        if i not in self._provisioned
                    }
                    expired = [i for i, at in due.items() if at <= now]
                    if expired:
                        for instance in expired:
                            self._idle.pop(instance, None)
                            self._members.remove(instance)
                        break
                    self._cond.wait(min(due.values()) - now if due else None)
                if self._closed and not expired:
                    return
            for instance in expired:
                instance.stop(grace=2.0)

    def close(self) -> None:
        """No more requests; the registry stops the workers (``instances``)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- requests -----------------------------------------------------------------------------

    def _admit(self) -> None:
        with self._cond:
            if self._active >= self.max_concurrency:
                raise AwsError(THROTTLE_CODE, THROTTLE_MESSAGE, 400)  # type: ignore[arg-type]
            self._active += 1

    def _checkout(self) -> tuple[Instance | None, bool]:
        """A warm idle worker (provisioned first, then the most recently used), if any."""
        with self._cond:
            warm = [i for i in self._idle if i.alive]
            for instance in [i for i in self._idle if not i.alive]:
                self._idle.pop(instance, None)
                if instance in self._members:
                    self._members.remove(instance)
            if not warm:
                return None, False
            warm.sort(key=lambda i: (i in self._provisioned, self._idle[i]), reverse=True)
            chosen = warm[0]
            del self._idle[chosen]
            return chosen, chosen in self._provisioned

    def _cold_start(self) -> tuple[Instance, float]:
        started = time.perf_counter()
        timeout = min(COLD_START_TIMEOUT, config.startup_health_timeout())
        [instance] = start_instances(self, 1, self.log_group, self.hooks.log_sink, timeout)
        setup = time.perf_counter() - started
        with self._cond:
            if self._closed:
                closed = True
            else:
                closed = False
                self._members.append(instance)
                self.cold_starts += 1
        if closed:
            instance.stop(grace=2.0)
            raise AwsError("ServiceUnavailable", "The endpoint is being deleted or updated.", 503)
        return instance, setup

    def _checkin(self, instance: Instance | None) -> None:
        with self._cond:
            self._active -= 1
            if instance is not None and instance in self._members:
                if instance.alive and not self._closed:
                    self._idle[instance] = time.monotonic()
                elif not instance.alive:
                    self._members.remove(instance)
            self._cond.notify_all()

    def invoke(
        self, runtime: Any, endpoint_name: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One InvokeEndpoint on a serverless endpoint (called by the runtime)."""
        from .runtime import model_error

        if len(body) > MAX_BODY_BYTES:
            request_id = headers.get("x-local-request-id", "")
            raise AwsError("ValidationError", f"Request {request_id} has oversize body.")
        started = time.perf_counter()
        self._admit()
        instance: Instance | None = None
        try:
            instance, provisioned = self._checkout()
            if instance is None:
                try:
                    instance, setup = self._cold_start()
                except HealthCheckFailed:
                    # UNCONFIRMED: how AWS reports a serverless container that fails to start
                    # (for example a model larger than MemorySizeInMB). We answer like a
                    # container error, quoting the ping FailureReason, logs in CloudWatch.
                    from .control_plane.resources import ping_failure_reason

                    runtime._record(endpoint_name, self, started, None, 500)
                    raise model_error(
                        endpoint_name, 500, ping_failure_reason(self.name).encode()
                    ) from None
                self._metric("ModelSetupTime", setup * 1_000_000, "Microseconds")
                provisioned = False
            model_started = time.perf_counter()
            try:
                status, reply_headers, reply_body = runtime._forward(instance, headers, body)
            except TimeoutError:
                runtime._record(endpoint_name, self, started, None, 0)
                raise model_error(endpoint_name, 0, None) from None
            model_seconds = time.perf_counter() - model_started
            runtime._record(endpoint_name, self, started, int(model_seconds * 1_000_000), status)
            self._bill(model_seconds, len(body), len(reply_body), provisioned)
        finally:
            self._checkin(instance)
        if not 200 <= status < 300:
            raise model_error(endpoint_name, status, reply_body)
        if len(reply_body) > MAX_BODY_BYTES:
            # UNCONFIRMED wording: the 4 MB limit applies to responses too.
            raise AwsError("ValidationError", "Response payload exceeds the 4 MB limit.")
        out = [("x-Amzn-Invoked-Production-Variant", self.name)]
        out.append(("Content-Type", reply_headers.get("Content-Type") or "application/json"))
        custom = reply_headers.get("X-Amzn-SageMaker-Custom-Attributes")
        if custom:
            out.append(("X-Amzn-SageMaker-Custom-Attributes", custom))
        return 200, out, reply_body

    def _metric(self, name: str, value: float, unit: str) -> None:
        sink = getattr(self.hooks, "metric_sink", None)
        if sink is not None:
            sink.put(name, value, unit, self.endpoint_name, self.name)

    def _bill(self, seconds: float, bytes_in: int, bytes_out: int, provisioned: bool) -> None:
        meter = getattr(self.hooks, "meter", None)
        if meter is not None:
            meter.serverless_invocation(
                self.endpoint_name,
                self.name,
                self.memory_mb,
                math.ceil(seconds * 1000),
                bytes_in,
                bytes_out,
                provisioned,
            )


def describe_variant(fleet: VariantFleet, summary: dict[str, Any]) -> None:
    """DescribeEndpoint: a serverless variant shows its serverless config, not instance counts."""
    if not getattr(fleet, "serverless", False):
        return
    summary.pop("CurrentInstanceCount", None)
    summary.pop("DesiredInstanceCount", None)
    summary["CurrentServerlessConfig"] = dict(fleet.serverless_config)  # type: ignore[attr-defined]
    summary["DesiredServerlessConfig"] = dict(fleet.serverless_config)  # type: ignore[attr-defined]
