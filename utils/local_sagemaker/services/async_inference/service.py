"""Asynchronous endpoints: InvokeEndpointAsync, the queue per endpoint, processing, metrics.

An endpoint whose config has ``AsyncInferenceConfig`` runs ordinary instances (real worker
processes, billed per instance-second like real-time ones), but it is only reachable through
``POST /endpoints/{name}/async-invocations``:

* **Request.** The input is an S3 object (``X-Amzn-SageMaker-InputLocation``) or, since the
  installed botocore model has it, an inline ``Body`` of at most 128,000 bytes (exactly one of the
  two). Headers are validated against the botocore runtime model (:mod:`.headers`). The answer is
  **202** with ``{"InferenceId"}`` and the ``X-Amzn-SageMaker-OutputLocation`` /
  ``-FailureLocation`` headers, before any work is done.
* **Queue.** One FIFO queue per endpoint (:mod:`.queue`); each request runs on an instance with a
  free slot, with its ``InvocationTimeoutSeconds``; an instance that goes away mid-request
  (scale-in, update) gets the request back at the head of the queue.
* **Results and notifications**: :mod:`.delivery` (S3) and :mod:`.notifications` (SNS).
* **Metrics** (``AWS/SageMaker``, ``EndpointName``): ``ApproximateBacklogSize`` (queued + in
  process), ``ApproximateBacklogSizePerInstance`` (the backlog itself when there are 0
  instances), ``ApproximateAgeOfOldestRequest`` (s), ``HasBacklogWithoutCapacity``, and per request
  ``TimeInBacklog`` / ``TotalProcessingTime`` (ms), ``InvocationFailures`` and ``ExpiredRequests``.
  AWS emits the backlog metrics once a minute; locally they are emitted on change, at most every
  :data:`METRIC_PERIOD` seconds, except that a request arriving while no instance runs has them
  emitted at once (see :meth:`AsyncService.metrics_changed`).

Scaling to and from zero is :mod:`..autoscaling`'s, which reads this service's backlog.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from ...core.errors import AwsError
from ...core.instance_client import InstanceUnreachable
from ...core.messages import endpoint_not_found
from ...core.settings import async_ttl_scale
from ..endpoints.registry import Registry
from ..endpoints.resources import Endpoint
from ..fleet.instance import Instance
from ..fleet.instance_fleet import InstanceFleet
from ..telemetry.data_points import MetricSink
from .config import (
    DEFAULT_INVOCATION_TIMEOUT,
    DEFAULT_PER_INSTANCE,
    DEFAULT_TTL_SECONDS,
    async_config,
    not_asynchronous,
    per_instance_concurrency,
)
from .delivery import ResultDelivery, output_locations
from .headers import request_members
from .job import Job
from .notifications import Notifier
from .queue import EndpointQueue

#: Backlog metrics are emitted at most this often per endpoint (AWS: every minute).
METRIC_PERIOD = 1.0

BACKLOG_METRICS = (
    "ApproximateBacklogSize",
    "ApproximateBacklogSizePerInstance",
    "ApproximateAgeOfOldestRequest",
    "HasBacklogWithoutCapacity",
)


class AsyncService:
    """InvokeEndpointAsync for a registry: queues, processing, results, backlog metrics."""

    def __init__(
        self, registry: Registry, client: Callable[[str], Any], metric_sink: MetricSink
    ) -> None:
        self.registry = registry
        self.metric_sink = metric_sink
        self.delivery = ResultDelivery(
            lambda: client("s3"), Notifier(lambda: client("sns")), metric_sink
        )
        self.ttl_scale = async_ttl_scale()
        self.lock = threading.Lock()
        self.queues: dict[str, EndpointQueue] = {}
        self._metrics_cond = threading.Condition()
        self._stopped = False
        self._urgent = False  # emit now, rate limit or not (a request waits without capacity)
        threading.Thread(target=self._metrics_loop, name="async-metrics", daemon=True).start()

    # -- lookups ----------------------------------------------------------------------------

    def _endpoint(self, name: str) -> Endpoint:
        endpoint = self.registry.endpoint_for_invoke(name)
        if endpoint is None or endpoint.status not in ("InService", "Updating"):
            raise endpoint_not_found(name)
        if endpoint.deployment is None:
            raise endpoint_not_found(name)
        return endpoint

    def fleet_for(self, name: str) -> tuple[InstanceFleet | None, int]:
        """The endpoint's (first) variant fleet and its per-instance concurrency."""
        endpoint = self.registry.endpoint_for_invoke(name)
        deployment = endpoint.deployment if endpoint is not None else None
        if endpoint is None or deployment is None or endpoint.deleted.is_set():
            return None, DEFAULT_PER_INSTANCE
        cfg = async_config(deployment.config.request) or {}
        fleet = next(iter(deployment.fleets.values()), None)
        return fleet, per_instance_concurrency(cfg)

    def _output_config(self, name: str) -> dict[str, Any]:
        endpoint = self.registry.endpoint_for_invoke(name)
        if endpoint is None or endpoint.deployment is None:
            return {}
        cfg = async_config(endpoint.deployment.config.request) or {}
        output: dict[str, Any] = cfg.get("OutputConfig") or {}
        return output

    def queue_for(self, name: str) -> EndpointQueue:
        with self.lock:
            queue = self.queues.get(name)
            if queue is None or queue.closed:
                queue = self.queues[name] = EndpointQueue(self, name)
            return queue

    def capacity_changed(self, endpoint_name: str) -> None:
        """An endpoint's instances changed: wake its dispatcher, its metrics are due."""
        with self.lock:
            queue = self.queues.get(endpoint_name)
        if queue is not None:
            queue.capacity_changed()
            self.metrics_changed()

    # -- InvokeEndpointAsync ----------------------------------------------------------------

    def invoke_async(
        self, name: str, headers: dict[str, str], body: bytes | None, request_id: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        endpoint = self._endpoint(name)
        assert endpoint.deployment is not None
        cfg = async_config(endpoint.deployment.config.request)
        if cfg is None:
            raise not_asynchronous(name)
        params = request_members(name, headers)
        if bool(params.get("InputLocation")) == bool(body):
            # FIDELITY async.body-or-location UNCONFIRMED: InvokeEndpointAsync with both or neither of Body and InputLocation
            #   local: ValidationError "Exactly one of InputLocation and Body must be specified."
            #   why: the runtime model says the two are mutually exclusive; the sentence is ours.
            #   notice: the message wording can differ on AWS.
            raise AwsError(
                "ValidationError",
                "Exactly one of InputLocation and Body must be specified.",
            )
        inference_id = params.get("InferenceId") or str(uuid.uuid4())
        output = cfg["OutputConfig"]
        output_location, failure_location = output_locations(output, inference_id, params)
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

    def process(self, job: Job, instance: Instance) -> bool:
        """Run one job on ``instance``; returns True to requeue it (instance went away)."""
        started = time.monotonic()
        output = self._output_config(job.endpoint)
        self.metric_sink.put(
            "TimeInBacklog", (started - job.enqueued) * 1000, "Milliseconds", job.endpoint
        )
        try:
            payload = self.delivery.read_input(job)
        except Exception as exc:
            self.delivery.failed(
                job, output, f"Failed to download input from {job.input_location}: {exc}"
            )
            return False
        try:
            if instance.client is None:
                raise InstanceUnreachable("the instance has no port yet", connected=False)
            reply = instance.client.invoke(payload, job.container_headers(), job.timeout)
        except TimeoutError:
            self.delivery.failed(
                job,
                output,
                "Inference request timed out after "
                f"{int(job.timeout)} seconds (InvocationTimeoutSeconds).",
            )
            return False
        except InstanceUnreachable:
            # The instance stopped (scale-in or update) while the job was being sent: retry it.
            return True
        total_ms = (time.monotonic() - started) * 1000
        self.metric_sink.put("TotalProcessingTime", total_ms, "Milliseconds", job.endpoint)
        if 200 <= reply.status < 300:
            content_type = reply.headers.get("Content-Type") or "application/json"
            self.delivery.succeeded(job, output, content_type, reply.body)
        else:
            # FIDELITY async.failure-object UNCONFIRMED: what a failed asynchronous request writes to S3
            #   local: 'Received server error (<status>) from primary with message "<container
            #     answer>".' ("client error" for a 4xx), or the timeout or expiry text.
            #   source: awsdocs/amazon-sagemaker-developer-guide#203 quotes this sentence from an
            #     asynchronous endpoint's data log.
            #   why: that the failure object holds the same sentence as the log is our reading.
            #   notice: the failure object can hold only the container's answer on AWS.
            kind = "server" if reply.status >= 500 else "client"
            self.delivery.failed(
                job,
                output,
                f"Received {kind} error ({reply.status}) from primary with message "
                f'"{reply.body.decode("utf-8", "replace")}".',
            )
        return False

    def expire(self, job: Job) -> None:
        self.metric_sink.put("ExpiredRequests", 1, "Count", job.endpoint)
        self.delivery.failed(
            job,
            self._output_config(job.endpoint),
            "Request expired: it was not processed within its RequestTTLSeconds.",
        )

    # -- metrics -----------------------------------------------------------------------------

    def metrics_changed(self, urgent: bool = False) -> None:
        """The backlog changed: its metrics are due, at most every :data:`METRIC_PERIOD`.

        ``urgent`` (the first request to arrive while its endpoint has no instance): due now,
        even within the rate limit. ``HasBacklogWithoutCapacity`` is 1 only until the scale-out
        from zero starts an instance, which locally can take less than :data:`METRIC_PERIOD`;
        the emission then still says 1 (:meth:`EndpointQueue.emission`), and it is not delayed
        by a period.
        """
        with self._metrics_cond:
            self._urgent = self._urgent or urgent
            self._metrics_cond.notify_all()

    def _metrics_loop(self) -> None:
        """Emit backlog metrics of changed (or non-empty) queues, at most every METRIC_PERIOD."""
        while True:
            with self._metrics_cond:
                while not self._stopped and not self._pending():
                    self._metrics_cond.wait()
                if self._stopped:
                    return
                self._urgent = False
            with self.lock:
                queues = list(self.queues.values())
            for queue in queues:
                if not queue.take_busy() or queue.closed:
                    continue
                values = queue.emission()
                for name in BACKLOG_METRICS:
                    unit = "Seconds" if name == "ApproximateAgeOfOldestRequest" else "Count"
                    self.metric_sink.put(name, values[name], unit, queue.name)
            with self._metrics_cond:
                # Rate limit, woken early only by stop() and an urgent change; any other change
                # meanwhile is caught next round.
                self._metrics_cond.wait_for(lambda: self._stopped or self._urgent, METRIC_PERIOD)

    def _pending(self) -> bool:
        with self.lock:
            queues = list(self.queues.values())
        return any(queue.busy() for queue in queues)

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
        """The names of the endpoints deployed with an AsyncInferenceConfig."""
        with self.registry.lock:
            endpoints = list(self.registry.endpoints.values())
        return [
            e.name
            for e in endpoints
            if e.deployment is not None and async_config(e.deployment.config.request)
        ]

    # -- saved state (services/state) -------------------------------------------------------

    def export_state(self) -> list[dict[str, Any]]:
        """The requests accepted and not finished yet, as JSON-ready data."""
        with self.lock:
            queues = list(self.queues.values())
        now, clock = time.time(), time.monotonic()
        return [
            {
                "inference_id": job.inference_id,
                "endpoint": job.endpoint,
                "content_type": job.content_type,
                "accept": job.accept,
                "custom_attributes": job.custom_attributes,
                "input_location": job.input_location,
                "body": base64.b64encode(job.body).decode() if job.body is not None else None,
                "output_location": job.output_location,
                "failure_location": job.failure_location,
                "received": job.received,
                "expires": now + (job.deadline - clock),
                "timeout": job.timeout,
            }
            for queue in queues
            if not queue.closed
            for job in queue.pending()
        ]

    def restore_state(self, records: list[dict[str, Any]], notes: list[str]) -> None:
        """Queue again the requests :meth:`export_state` saved (after the registry's endpoints
        are back); they run once their endpoint has instances, or expire by their TTL, which
        counts from when they were received, the time the machine was off included."""
        # FIDELITY async.restart-requeues UNCONFIRMED: asynchronous requests pending when the local SageMaker stops
        #   local: queued requests, and those being processed, are queued again when it starts;
        #     one being processed runs again from the start.
        #   why: AWS keeps an endpoint's queue while your machine is off; a request whose
        #     processing was cut off is retried, as AWS retries a request whose instance goes away.
        #   notice: a request cut off by a restart may reach your model twice locally.
        now, clock = time.time(), time.monotonic()
        for raw in records:
            try:
                body = raw.get("body")
                job = Job(
                    inference_id=str(raw["inference_id"]),
                    endpoint=str(raw["endpoint"]),
                    content_type=raw.get("content_type"),
                    accept=raw.get("accept"),
                    custom_attributes=raw.get("custom_attributes"),
                    input_location=raw.get("input_location"),
                    body=base64.b64decode(body) if body is not None else None,
                    output_location=str(raw["output_location"]),
                    failure_location=str(raw["failure_location"]),
                    received=float(raw["received"]),
                    deadline=clock + (float(raw["expires"]) - now),
                    timeout=float(raw["timeout"]),
                    enqueued=clock - max(0.0, now - float(raw["received"])),
                )
            except (KeyError, TypeError, ValueError) as exc:
                notes.append(f"an asynchronous request could not be restored: {exc!r}")
                continue
            self.queue_for(job.endpoint).put(job)

    def stop(self) -> None:
        with self._metrics_cond:
            self._stopped = True
            self._metrics_cond.notify_all()
        with self.lock:
            queues = list(self.queues.values())
        for queue in queues:
            queue.close()
