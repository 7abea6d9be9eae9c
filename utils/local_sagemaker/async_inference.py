"""Asynchronous endpoints: InvokeEndpointAsync, the internal queue, S3 results, SNS, scale to zero.

An endpoint whose config has ``AsyncInferenceConfig`` runs ordinary instances (real worker
processes, billed per instance-second like real-time ones), but it is only reachable through
``POST /endpoints/{name}/async-invocations``:

* **Request.** The input is an S3 object (``X-Amzn-SageMaker-InputLocation``) or, since the
  installed botocore model has it, an inline ``Body`` of at most 128,000 bytes (exactly one of the
  two). Headers are validated against the botocore runtime model (``RequestTTLSeconds`` 60-21600,
  default 6 h; ``InvocationTimeoutSeconds`` 1-3600, default 900). The answer is **202** with
  ``{"InferenceId"}`` and the ``X-Amzn-SageMaker-OutputLocation`` / ``-FailureLocation`` headers,
  before any work is done.
* **Queue.** One FIFO queue per endpoint. A dispatcher thread sends the oldest request to an
  instance with a free slot (``ClientConfig.MaxConcurrentInvocationsPerInstance``; AWS picks a
  value when it is absent, we use :data:`DEFAULT_PER_INSTANCE`). It sleeps on a condition and is
  woken by a new request, a finished one, a capacity change, or the next TTL expiry (a timed wait,
  never a polling sleep). At 0 instances requests simply wait.
* **Results.** Success: the container's body goes to ``S3OutputPath/<InferenceId>.out`` with the
  container's Content-Type. Failure (container error, timeout, unreadable input, expired TTL): the
  error text goes to ``S3FailurePath/<InferenceId>-error.out`` (UNCONFIRMED key formats; with no
  S3FailurePath the error object goes under S3OutputPath). ``X-Amzn-SageMaker-S3OutputPathExtension``
  and ``-Filename`` are honoured.
* **Notifications.** ``NotificationConfig.SuccessTopic`` / ``ErrorTopic`` get an SNS message with
  the documented fields (``invocationStatus``, ``eventName: InferenceResult``, ``eventSource:
  aws:sagemaker``, ``requestParameters``, ``responseParameters``, ``inferenceId``...). With
  ``IncludeInferenceResponseIn``, responses up to 128 KB are embedded (``responseBody``, base64;
  UNCONFIRMED shape).
* **Metrics** (``AWS/SageMaker``, ``EndpointName``): ``ApproximateBacklogSize`` (queued + in
  process), ``ApproximateBacklogSizePerInstance`` (the backlog itself when there are 0
  instances), ``ApproximateAgeOfOldestRequest`` (s), ``HasBacklogWithoutCapacity``, and per request
  ``TimeInBacklog`` / ``TotalProcessingTime`` (ms) and ``ExpiredRequests``. AWS emits the backlog
  metrics once a minute; locally they are emitted on change, at most every
  :data:`METRIC_PERIOD` seconds.

**Scale to zero** (:class:`AutoScaler`): Application Auto Scaling is moto's record store, so the
local SageMaker reads the scalable targets and policies registered there (boto3 on its own URL,
every :func:`autoscaling_interval` seconds while async endpoints exist) and acts on them itself
through UpdateEndpointWeightsAndCapacities, as the real service does. The subset implemented:

* scalable dimension ``sagemaker:variant:DesiredInstanceCount``; capacity clamped to
  [MinCapacity, MaxCapacity]; ``SuspendedState`` dynamic in/out flags honoured;
* ``TargetTrackingScaling`` on a customized metric ``ApproximateBacklogSizePerInstance`` (or
  ``ApproximateBacklogSize``) of this endpoint: desired = ceil(backlog / target). From 0 instances
  it scales out only once the backlog exceeds the target (as on AWS, where the per-instance metric
  is undefined at 0); ``DisableScaleIn``, ``ScaleInCooldown`` and ``ScaleOutCooldown`` are honoured;
  AWS's alarm periods (3 min out, 15 min in) are not modelled: the decision is immediate, except
  that :func:`scale_in_delay` (0 by default) can hold a scale-in back until the lower count has
  been wanted that long, as AWS's 15 low periods do;
* ``StepScaling`` policies that a CloudWatch alarm names in ``AlarmActions``: the alarm's metric
  (one of the backlog metrics above) is evaluated locally against its threshold and comparison,
  and the step adjustments (ChangeInCapacity, ExactCapacity, PercentChangeInCapacity) apply with
  the policy's ``Cooldown``. This is the documented fix for scaling up from 0 at once:
  a step policy on ``HasBacklogWithoutCapacity``.
* With several policies: scale out if any asks for more, scale in only if all ask for less.

UNCONFIRMED texts (documented choices): sync InvokeEndpoint on an async endpoint
(:func:`refuse_sync`), InvokeEndpointAsync on a non-async endpoint, the failure texts written to S3.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import math
import os
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import config
from .errors import AwsError, validation

ASYNC_PATH = re.compile(r"^/endpoints/([^/]+)/async-invocations$")

#: Inline ``Body`` limit of InvokeEndpointAsync (botocore runtime model).
MAX_INLINE_BODY = 128_000
DEFAULT_TTL_SECONDS = 6 * 3600
DEFAULT_INVOCATION_TIMEOUT = 900
#: Used when ClientConfig.MaxConcurrentInvocationsPerInstance is absent (AWS picks its own value).
DEFAULT_PER_INSTANCE = 1
#: Notifications embed responses up to this size when IncludeInferenceResponseIn asks for it.
MAX_NOTIFICATION_RESPONSE = 128 * 1024
#: Backlog metrics are emitted at most this often per endpoint (AWS: every minute).
METRIC_PERIOD = 1.0

FORWARDED = {
    "ContentType": "Content-Type",
    "Accept": "Accept",
    "CustomAttributes": "X-Amzn-SageMaker-Custom-Attributes",
}

BACKLOG_METRICS = (
    "ApproximateBacklogSize",
    "ApproximateBacklogSizePerInstance",
    "ApproximateAgeOfOldestRequest",
    "HasBacklogWithoutCapacity",
)


def ttl_scale() -> float:
    """Factor applied to RequestTTLSeconds (default 1; tests use a small one).

    The smallest TTL AWS accepts is 60 s; ``LOCAL_SAGEMAKER_ASYNC_TTL_SCALE`` (read when the
    server starts) lets the test suite see an expiry without waiting a minute.
    """
    value = os.environ.get("LOCAL_SAGEMAKER_ASYNC_TTL_SCALE")
    return float(value) if value else 1.0


def autoscaling_interval() -> float:
    """Seconds between two reads of the Application Auto Scaling policies (default 1 s).

    ``LOCAL_SAGEMAKER_AUTOSCALING_INTERVAL`` changes it (read when the server starts).
    """
    value = os.environ.get("LOCAL_SAGEMAKER_AUTOSCALING_INTERVAL")
    return float(value) if value else 1.0


def scale_in_delay() -> float:
    """Seconds a lower instance count must stay wanted before it is applied (default 0).

    AWS scales in only after its alarm saw the metric low for 15 one-minute periods, so the
    higher count stays for minutes. ``LOCAL_SAGEMAKER_SCALE_IN_SECONDS`` (read when the server
    starts) brings back some of that wait: the AWS rehearsal uses it, because its helpers poll
    at AWS's pace and must see each count before it changes again.
    """
    value = os.environ.get("LOCAL_SAGEMAKER_SCALE_IN_SECONDS")
    return float(value) if value else 0.0


# -- control plane checks -------------------------------------------------------------------------


def async_config(config_request: dict[str, Any]) -> dict[str, Any] | None:
    return config_request.get("AsyncInferenceConfig") or None


def check_endpoint_config(request: dict[str, Any]) -> None:
    """Cross-field rules of AsyncInferenceConfig the botocore model cannot express."""
    cfg = async_config(request)
    if cfg is None:
        return
    output = cfg.get("OutputConfig") or {}
    if not output.get("S3OutputPath"):
        # UNCONFIRMED wording; the model marks S3OutputPath optional but nothing can be written
        # without it.
        raise validation("S3OutputPath must be specified in AsyncInferenceConfig.OutputConfig.")
    notification = output.get("NotificationConfig") or {}
    for value in notification.get("IncludeInferenceResponseIn") or []:
        topic = {
            "SUCCESS_NOTIFICATION_TOPIC": "SuccessTopic",
            "ERROR_NOTIFICATION_TOPIC": "ErrorTopic",
        }
        if value in topic and not notification.get(topic[value]):
            raise validation(
                f"IncludeInferenceResponseIn contains {value} but {topic[value]} is not set."
            )


def refuse_sync(endpoint_name: str, config_request: dict[str, Any]) -> None:
    """InvokeEndpoint on an async endpoint: a ValidationError (UNCONFIRMED text)."""
    if async_config(config_request) is not None:
        raise AwsError(
            "ValidationError",
            f"Endpoint {endpoint_name} of account {config.ACCOUNT_ID} is configured for "
            "asynchronous inference. Use InvokeEndpointAsync to invoke it.",
        )


# -- the queue ---------------------------------------------------------------------------------


@dataclass
class Job:
    inference_id: str
    endpoint: str
    content_type: str | None
    accept: str | None
    custom_attributes: str | None
    input_location: str | None
    body: bytes | None
    output_location: str
    failure_location: str
    received: float  # epoch seconds
    deadline: float  # monotonic
    timeout: float
    enqueued: float = field(default_factory=time.monotonic)


def _split_s3(uri: str) -> tuple[str, str]:
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    return bucket, key


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


class EndpointQueue:
    """One async endpoint's queue and dispatcher."""

    def __init__(self, service: AsyncService, name: str) -> None:
        self.service = service
        self.name = name
        self.cond = threading.Condition()
        self.queue: deque[Job] = deque()
        self.in_process = 0
        self.closed = False
        self.dirty = True
        threading.Thread(target=self._dispatch, name=f"async-{name}", daemon=True).start()

    # state read by metrics and the autoscaler
    def backlog(self) -> int:
        with self.cond:
            return len(self.queue) + self.in_process

    def snapshot(self) -> dict[str, float]:
        fleet, _ = self.service.fleet_for(self.name)
        instances = len([i for i in fleet.instances if i.alive]) if fleet is not None else 0
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

    def put(self, job: Job) -> None:
        with self.cond:
            self.queue.append(job)
            self.dirty = True
            self.cond.notify_all()
        self.service.metrics_changed()

    def wake(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.queue.clear()
            self.cond.notify_all()

    def _dispatch(self) -> None:
        while True:
            expired: list[Job] = []
            start: tuple[Job, Any, Any] | None = None
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
                    fleet, per_instance = self.service.fleet_for(self.name)
                    instance = self._free_instance(fleet, per_instance)
                    if instance is not None:
                        job = self.queue.popleft()
                        self.in_process += 1
                        with fleet._lock:
                            instance.in_flight += 1
                        start = (job, fleet, instance)
                if expired or start:
                    self.dirty = True
                else:
                    wait = min((j.deadline for j in self.queue), default=None)
                    self.cond.wait(None if wait is None else max(0.0, wait - now))
                    continue
            for job in expired:
                self.service.expire(job)
            if start is not None:
                threading.Thread(
                    target=self._run,
                    args=start,
                    name=f"async-job-{start[0].inference_id}",
                    daemon=True,
                ).start()
            self.service.metrics_changed()

    @staticmethod
    def _free_instance(fleet: Any, per_instance: int) -> Any:
        if fleet is None:
            return None
        candidates = [
            i for i in fleet.instances if i.alive and i.port and i.in_flight < per_instance
        ]
        return min(candidates, key=lambda i: i.in_flight) if candidates else None

    def _run(self, job: Job, fleet: Any, instance: Any) -> None:
        requeue = False
        try:
            requeue = self.service.process(job, instance)
        finally:
            with fleet._lock:
                instance.in_flight -= 1
            with self.cond:
                self.in_process -= 1
                if requeue and not self.closed:
                    self.queue.appendleft(job)
                self.dirty = True
                self.cond.notify_all()
            self.service.metrics_changed()


class AsyncService:
    """InvokeEndpointAsync for a registry: queues, processing, notifications, metrics, scaling."""

    def __init__(
        self,
        registry: Any,
        client: Callable[[str], Any],
        metric_sink: Any,
    ) -> None:
        self.registry = registry
        self.client = client
        self.metric_sink = metric_sink
        self.ttl_scale = ttl_scale()
        self.lock = threading.Lock()
        self.queues: dict[str, EndpointQueue] = {}
        self._metrics_cond = threading.Condition()
        self._stopped = False
        threading.Thread(target=self._metrics_loop, name="async-metrics", daemon=True).start()
        self.autoscaler = AutoScaler(self)

    # -- lookups ----------------------------------------------------------------------------

    def _endpoint(self, name: str) -> Any:
        from .runtime import not_found

        endpoint = self.registry.endpoint_for_invoke(name)
        if endpoint is None or endpoint.status not in ("InService", "Updating"):
            raise not_found(name)
        if endpoint.deployment is None:
            raise not_found(name)
        return endpoint

    def fleet_for(self, name: str) -> tuple[Any, int]:
        """The endpoint's (first) variant fleet and its per-instance concurrency."""
        endpoint = self.registry.endpoint_for_invoke(name)
        deployment = endpoint.deployment if endpoint is not None else None
        if deployment is None or endpoint.deleted.is_set():
            return None, DEFAULT_PER_INSTANCE
        cfg = async_config(deployment.config.request) or {}
        per = (cfg.get("ClientConfig") or {}).get("MaxConcurrentInvocationsPerInstance")
        fleet = next(iter(deployment.fleets.values()), None)
        return fleet, int(per or DEFAULT_PER_INSTANCE)

    def queue_for(self, name: str) -> EndpointQueue:
        with self.lock:
            queue = self.queues.get(name)
            if queue is None or queue.closed:
                queue = self.queues[name] = EndpointQueue(self, name)
            return queue

    def capacity_changed(self, endpoint_name: str, fleet: Any = None) -> None:
        """Hook: an endpoint's instances changed (wake its dispatcher)."""
        with self.lock:
            queue = self.queues.get(endpoint_name)
        if queue is not None:
            queue.wake()
            with queue.cond:
                queue.dirty = True
            self.metrics_changed()

    # -- InvokeEndpointAsync ----------------------------------------------------------------

    def invoke_async(
        self, name: str, headers: dict[str, str], body: bytes | None, request_id: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        endpoint = self._endpoint(name)
        cfg = async_config(endpoint.deployment.config.request)
        if cfg is None:
            # UNCONFIRMED wording.
            raise AwsError(
                "ValidationError",
                f"Endpoint {name} of account {config.ACCOUNT_ID} is not configured for "
                "asynchronous inference. Use InvokeEndpoint to invoke it.",
            )
        params = _header_params(headers)
        _validate_runtime("InvokeEndpointAsync", {"EndpointName": name, **params})
        if bool(params.get("InputLocation")) == bool(body):
            # UNCONFIRMED wording (the model says InputLocation and Body are mutually exclusive).
            raise AwsError(
                "ValidationError",
                "Exactly one of InputLocation and Body must be specified.",
            )
        inference_id = params.get("InferenceId") or str(uuid.uuid4())
        output = cfg["OutputConfig"]
        base = output["S3OutputPath"].rstrip("/")
        if params.get("S3OutputPathExtension"):
            base = f"{base}/{params['S3OutputPathExtension'].strip('/')}"
        filename = params.get("Filename") or f"{inference_id}.out"
        output_location = f"{base}/{filename}"
        failure_base = (output.get("S3FailurePath") or output["S3OutputPath"]).rstrip("/")
        failure_location = f"{failure_base}/{inference_id}-error.out"
        ttl = int(params.get("RequestTTLSeconds") or DEFAULT_TTL_SECONDS)
        job = Job(
            inference_id=inference_id,
            endpoint=name,
            content_type=params.get("ContentType"),
            accept=params.get("Accept"),
            custom_attributes=params.get("CustomAttributes"),
            input_location=params.get("InputLocation"),
            body=body or None,
            output_location=output_location,
            failure_location=failure_location,
            received=time.time(),
            deadline=time.monotonic() + ttl * self.ttl_scale,
            timeout=float(params.get("InvocationTimeoutSeconds") or DEFAULT_INVOCATION_TIMEOUT),
        )
        self.queue_for(name).put(job)
        out_headers = [
            ("Content-Type", "application/json"),
            ("X-Amzn-SageMaker-OutputLocation", output_location),
            ("x-amzn-RequestId", request_id),
        ]
        if output.get("S3FailurePath"):
            out_headers.append(("X-Amzn-SageMaker-FailureLocation", failure_location))
        return 202, out_headers, json.dumps({"InferenceId": inference_id}).encode()

    # -- processing --------------------------------------------------------------------------

    def _config(self, name: str) -> dict[str, Any]:
        endpoint = self.registry.endpoint_for_invoke(name)
        if endpoint is None or endpoint.deployment is None:
            return {}
        return async_config(endpoint.deployment.config.request) or {}

    def process(self, job: Job, instance: Any) -> bool:
        """Run one job on ``instance``; returns True to requeue it (instance went away)."""
        started = time.monotonic()
        self._metric("TimeInBacklog", (started - job.enqueued) * 1000, "Milliseconds", job.endpoint)
        if job.body is not None:
            payload = job.body
        else:
            try:
                bucket, key = _split_s3(job.input_location or "")
                payload = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
            except Exception as exc:
                self._fail(job, f"Failed to download input from {job.input_location}: {exc}")
                return False
        send = {"Content-Length": str(len(payload))}
        for attr, header in FORWARDED.items():
            value = getattr(job, _attr(attr))
            if value:
                send[header] = value
        send["X-Amzn-SageMaker-Inference-Id"] = job.inference_id
        try:
            conn = instance.connection(job.timeout)
            try:
                conn.request("POST", "/invocations", body=payload, headers=send)
                response = conn.getresponse()
                data = response.read()
                content_type = response.headers.get("Content-Type") or "application/json"
            finally:
                conn.close()
        except TimeoutError:
            self._fail(
                job,
                "Inference request timed out after "
                f"{int(job.timeout)} seconds (InvocationTimeoutSeconds).",
            )
            return False
        except (ConnectionError, http.client.HTTPException, OSError):
            # The instance stopped (scale-in or update) while the job was being sent: retry it.
            return True
        total_ms = (time.monotonic() - started) * 1000
        self._metric("TotalProcessingTime", total_ms, "Milliseconds", job.endpoint)
        if 200 <= response.status < 300:
            try:
                bucket, key = _split_s3(job.output_location)
                self.client("s3").put_object(
                    Bucket=bucket, Key=key, Body=data, ContentType=content_type
                )
            except Exception as exc:
                self._fail(job, f"Failed to upload the response to {job.output_location}: {exc}")
                return False
            self._notify(job, True, content_type, data, None)
        else:
            # The body AWS writes for a model error is the container's answer (UNCONFIRMED).
            reason = (
                f"Received server error ({response.status}) from primary with message "
                f'"{data.decode("utf-8", "replace")}".'
                if response.status >= 500
                else f"Received client error ({response.status}) from primary with message "
                f'"{data.decode("utf-8", "replace")}".'
            )
            self._fail(job, reason)
        return False

    def expire(self, job: Job) -> None:
        self._metric("ExpiredRequests", 1, "Count", job.endpoint)
        self._fail(job, "Request expired: it was not processed within its RequestTTLSeconds.")

    def _fail(self, job: Job, reason: str) -> None:
        self._metric("InvocationFailures", 1, "Count", job.endpoint)
        with contextlib.suppress(Exception):
            bucket, key = _split_s3(job.failure_location)
            self.client("s3").put_object(
                Bucket=bucket, Key=key, Body=reason.encode(), ContentType="text/plain"
            )
        self._notify(job, False, "text/plain", None, reason)

    def _notify(
        self,
        job: Job,
        success: bool,
        content_type: str,
        data: bytes | None,
        reason: str | None,
    ) -> None:
        cfg = self._config(job.endpoint)
        notification = (cfg.get("OutputConfig") or {}).get("NotificationConfig") or {}
        topic = notification.get("SuccessTopic" if success else "ErrorTopic")
        if not topic:
            return
        message: dict[str, Any] = {
            "awsRegion": config.REGION,
            "eventTime": _iso(time.time()),
            "receivedTime": _iso(job.received),
            "invocationStatus": "Completed" if success else "Failed",
            "requestParameters": {
                "accept": job.accept or "*/*",
                "contentType": job.content_type or "application/json",
                "endpointName": job.endpoint,
                "inputLocation": job.input_location or "inline",
            },
            "responseParameters": {"contentType": content_type},
            "inferenceId": job.inference_id,
            "eventVersion": "1.0",
            "eventSource": "aws:sagemaker",
            "eventName": "InferenceResult",
        }
        if success:
            message["responseParameters"]["outputLocation"] = job.output_location
        else:
            message["failureReason"] = reason
            message["responseParameters"]["failureLocation"] = job.failure_location
        wanted = "SUCCESS_NOTIFICATION_TOPIC" if success else "ERROR_NOTIFICATION_TOPIC"
        if (
            data is not None
            and wanted in (notification.get("IncludeInferenceResponseIn") or [])
            and len(data) <= MAX_NOTIFICATION_RESPONSE
        ):
            message["responseBody"] = {
                "content": base64.b64encode(data).decode(),
                "encoding": "BASE64",
            }
        try:
            self.client("sns").publish(TopicArn=topic, Message=json.dumps(message))
        except Exception as exc:  # a deleted topic must not break the queue
            print(f"local SageMaker: SNS notification to {topic} failed: {exc!r}", flush=True)

    # -- metrics -----------------------------------------------------------------------------

    def _metric(self, name: str, value: float, unit: str, endpoint: str) -> None:
        if self.metric_sink is not None:
            self.metric_sink.put(name, value, unit, endpoint)

    def metrics_changed(self) -> None:
        with self._metrics_cond:
            self._metrics_cond.notify_all()

    def _metrics_loop(self) -> None:
        """Emit backlog metrics of changed (or non-empty) queues, at most every METRIC_PERIOD."""
        while True:
            with self._metrics_cond:
                while not self._stopped and not self._pending():
                    self._metrics_cond.wait()
                if self._stopped:
                    return
            with self.lock:
                queues = list(self.queues.values())
            for queue in queues:
                with queue.cond:
                    due = queue.dirty or bool(queue.queue) or queue.in_process > 0
                    queue.dirty = False
                if not due or queue.closed:
                    continue
                values = queue.snapshot()
                for name in BACKLOG_METRICS:
                    unit = "Seconds" if name == "ApproximateAgeOfOldestRequest" else "Count"
                    self._metric(name, values[name], unit, queue.name)
            with self._metrics_cond:
                # Rate limit, woken early only by stop(); a change meanwhile is caught next round.
                self._metrics_cond.wait_for(lambda: self._stopped, METRIC_PERIOD)

    def _pending(self) -> bool:
        with self.lock:
            queues = list(self.queues.values())
        for queue in queues:
            with queue.cond:
                if queue.dirty or queue.queue or queue.in_process:
                    return True
        return False

    def stats(self, name: str) -> dict[str, Any]:
        """The backlog numbers of one endpoint (for ``/_local/async/<name>``)."""
        with self.lock:
            queue = self.queues.get(name)
        if queue is None:
            return {"EndpointName": name, **dict.fromkeys(BACKLOG_METRICS, 0.0)}
        return {"EndpointName": name, **queue.snapshot()}

    def sweep(self) -> None:
        """Close the queues of endpoints that no longer exist."""
        with self.lock:
            items = list(self.queues.items())
        for name, queue in items:
            endpoint = self.registry.endpoint_for_invoke(name)
            if endpoint is None or endpoint.deleted.is_set():
                queue.close()
                with self.lock:
                    if self.queues.get(name) is queue:
                        del self.queues[name]

    def async_endpoints(self) -> list[str]:
        with self.registry.lock:
            endpoints = list(self.registry.endpoints.values())
        return [
            e.name
            for e in endpoints
            if e.deployment is not None and async_config(e.deployment.config.request)
        ]

    def stop(self) -> None:
        self.autoscaler.stop()
        with self._metrics_cond:
            self._stopped = True
            self._metrics_cond.notify_all()
        with self.lock:
            queues = list(self.queues.values())
        for queue in queues:
            queue.close()


def _attr(member: str) -> str:
    return {
        "ContentType": "content_type",
        "Accept": "accept",
        "CustomAttributes": "custom_attributes",
    }[member]


_HEADERS = {
    "ContentType": "X-Amzn-SageMaker-Content-Type",
    "Accept": "X-Amzn-SageMaker-Accept",
    "CustomAttributes": "X-Amzn-SageMaker-Custom-Attributes",
    "InferenceId": "X-Amzn-SageMaker-Inference-Id",
    "InputLocation": "X-Amzn-SageMaker-InputLocation",
    "S3OutputPathExtension": "X-Amzn-SageMaker-S3OutputPathExtension",
    "Filename": "X-Amzn-SageMaker-Filename",
    "RequestTTLSeconds": "X-Amzn-SageMaker-RequestTTLSeconds",
    "InvocationTimeoutSeconds": "X-Amzn-SageMaker-InvocationTimeoutSeconds",
}
#: The headers the gateway reads for InvokeEndpointAsync (WSGI environ names derive from them).
ASYNC_HEADERS = tuple(_HEADERS.values())


def _header_params(headers: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for member, header in _HEADERS.items():
        value = headers.get(header)
        if value is None:
            continue
        if member in ("RequestTTLSeconds", "InvocationTimeoutSeconds"):
            try:
                params[member] = int(value)
            except ValueError:
                raise AwsError(
                    "ValidationError",
                    f"Value '{value}' at '{member[0].lower() + member[1:]}' "
                    "failed to satisfy constraint: Member must be an integer",
                ) from None
        else:
            params[member] = value
    return params


def _validate_runtime(operation: str, params: dict[str, Any]) -> None:
    """The botocore runtime model's limits, with AWS's message (code ValidationError)."""
    from .control_plane.validation import _check, service_model

    op = service_model("sagemaker-runtime").operation_model(operation)
    errors: list[str] = []
    _check(op.input_shape, params, "", errors)
    if errors:
        noun = "error" if len(errors) == 1 else "errors"
        raise AwsError(
            "ValidationError", f"{len(errors)} validation {noun} detected: " + "; ".join(errors)
        )


# -- Application Auto Scaling, acted on locally ---------------------------------------------------

RESOURCE_ID = "endpoint/{endpoint}/variant/{variant}"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


class AutoScaler:
    """Reads scalable targets and policies from (moto's) Application Auto Scaling and applies them."""

    def __init__(self, service: AsyncService) -> None:
        self.service = service
        self.interval = autoscaling_interval()
        self.scale_in_delay = scale_in_delay()
        #: Since when a lower count has been wanted, per endpoint (for :func:`scale_in_delay`).
        self._lower_since: dict[str, float] = {}
        self._stop = threading.Event()
        self._last_out: dict[str, float] = {}
        self._last_in: dict[str, float] = {}
        #: Last decision per endpoint, for ``/_local/async/<name>`` and the notebook.
        self.decisions: dict[str, dict[str, Any]] = {}
        threading.Thread(target=self._loop, name="async-autoscaler", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        # A periodic evaluation, like Application Auto Scaling's own: an interval wait on an
        # event (woken at once by stop()), not a fixed sleep waiting for a state.
        while not self._stop.wait(self.interval):
            try:
                self.service.sweep()
                for name in self.service.async_endpoints():
                    self._evaluate(name)
            except Exception as exc:  # moto unreachable for a moment: try again next round
                print(f"local SageMaker: autoscaling evaluation failed: {exc!r}", flush=True)

    def _evaluate(self, name: str) -> None:
        endpoint = self.service.registry.endpoint_for_invoke(name)
        if endpoint is None or endpoint.status != "InService" or endpoint.deployment is None:
            return
        client = self.service.client("application-autoscaling")
        for variant, fleet in endpoint.deployment.fleets.items():
            resource = RESOURCE_ID.format(endpoint=name, variant=variant)
            targets = client.describe_scalable_targets(
                ServiceNamespace="sagemaker", ResourceIds=[resource], ScalableDimension=DIMENSION
            )["ScalableTargets"]
            if not targets:
                continue
            target = targets[0]
            policies = client.describe_scaling_policies(
                ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=DIMENSION
            )["ScalingPolicies"]
            current = len(fleet.instances)
            values = self.service.queue_for(name).snapshot()
            desired = self._desired(name, current, values, target, policies)
            if desired is None or desired >= current:
                self._lower_since.pop(name, None)
            else:
                now = time.monotonic()
                if now - self._lower_since.setdefault(name, now) < self.scale_in_delay:
                    continue  # a lower count, wanted for less than the scale-in delay so far
            if desired is None or desired == current:
                continue
            self._lower_since.pop(name, None)
            self.decisions[name] = {
                "From": current,
                "To": desired,
                "Backlog": values["ApproximateBacklogSize"],
                "At": time.time(),
            }
            now = time.monotonic()
            (self._last_out if desired > current else self._last_in)[name] = now
            self.service.registry.update_weights_and_capacities(
                {
                    "EndpointName": name,
                    "DesiredWeightsAndCapacities": [
                        {"VariantName": variant, "DesiredInstanceCount": desired}
                    ],
                }
            )
            return  # one change at a time: the endpoint is Updating now

    def _desired(
        self,
        name: str,
        current: int,
        values: dict[str, float],
        target: dict[str, Any],
        policies: list[dict[str, Any]],
    ) -> int | None:
        low, high = int(target["MinCapacity"]), int(target["MaxCapacity"])
        suspended = target.get("SuspendedState") or {}
        now = time.monotonic()
        wants: list[int] = []
        for policy in policies:
            proposal = None
            if policy.get("PolicyType") == "TargetTrackingScaling":
                proposal = self._target_tracking(name, current, values, policy, now)
            elif policy.get("PolicyType") == "StepScaling":
                proposal = self._step(name, current, values, policy, now)
            if proposal is not None:
                wants.append(proposal)
        scale_out = any(w > current for w in wants)
        scale_in = bool(wants) and all(w < current for w in wants)
        desired = max(wants) if scale_out or scale_in else current
        desired = max(low, min(high, desired))
        if desired > current and suspended.get("DynamicScalingOutSuspended"):
            return None
        if desired < current and suspended.get("DynamicScalingInSuspended"):
            return None
        return desired

    def _cooled(self, name: str, out: bool, cooldown: float, now: float) -> bool:
        last = (self._last_out if out else self._last_in).get(name)
        return last is None or now - last >= cooldown

    def _target_tracking(
        self, name: str, current: int, values: dict[str, float], policy: dict[str, Any], now: float
    ) -> int | None:
        cfg = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
        spec = cfg.get("CustomizedMetricSpecification") or {}
        metric = spec.get("MetricName")
        if metric not in ("ApproximateBacklogSizePerInstance", "ApproximateBacklogSize"):
            return None  # only the async backlog metrics are evaluated locally
        dims = {d["Name"]: d["Value"] for d in spec.get("Dimensions") or []}
        if dims.get("EndpointName", name) != name:
            return None
        goal = float(cfg.get("TargetValue") or 0)
        if goal <= 0:
            return None
        backlog = values["ApproximateBacklogSize"]
        if metric == "ApproximateBacklogSizePerInstance":
            if current == 0 and backlog <= goal:
                return 0  # the per-instance metric does not breach the target from 0
            desired = math.ceil(backlog / goal)
        else:
            desired = (
                math.ceil(current * backlog / goal) if current else (1 if backlog > goal else 0)
            )
        if desired > current:
            if not self._cooled(name, True, float(cfg.get("ScaleOutCooldown") or 0), now):
                return None
        elif desired < current:
            if cfg.get("DisableScaleIn"):
                return None
            if backlog and desired == 0:
                desired = 1  # never scale in to 0 while work is queued or in process
            if not self._cooled(name, False, float(cfg.get("ScaleInCooldown") or 0), now):
                return None
        return desired

    def _step(
        self, name: str, current: int, values: dict[str, float], policy: dict[str, Any], now: float
    ) -> int | None:
        cfg = policy.get("StepScalingPolicyConfiguration") or {}
        alarms = self.service.client("cloudwatch").describe_alarms()["MetricAlarms"]
        alarm = next(
            (a for a in alarms if policy.get("PolicyARN") in (a.get("AlarmActions") or [])), None
        )
        if alarm is None or alarm.get("MetricName") not in values:
            return None
        value = values[alarm["MetricName"]]
        threshold = float(alarm.get("Threshold", 0))
        compare = {
            "GreaterThanThreshold": value > threshold,
            "GreaterThanOrEqualToThreshold": value >= threshold,
            "LessThanThreshold": value < threshold,
            "LessThanOrEqualToThreshold": value <= threshold,
        }.get(alarm.get("ComparisonOperator", ""), False)
        if not compare:
            return None
        delta = value - threshold
        for step in cfg.get("StepAdjustments") or []:
            lower = step.get("MetricIntervalLowerBound")
            upper = step.get("MetricIntervalUpperBound")
            if (lower is None or delta >= lower) and (upper is None or delta < upper):
                adjustment = float(step["ScalingAdjustment"])
                kind = cfg.get("AdjustmentType", "ChangeInCapacity")
                if kind == "ExactCapacity":
                    desired = int(adjustment)
                elif kind == "PercentChangeInCapacity":
                    desired = current + math.ceil(current * adjustment / 100)
                else:
                    desired = current + int(adjustment)
                out = desired > current
                if not self._cooled(name, out, float(cfg.get("Cooldown") or 0), now):
                    return None
                return desired
        return None
