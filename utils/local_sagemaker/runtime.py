"""The SageMaker runtime: ``POST /endpoints/{name}/invocations`` (rest-json, InvokeEndpoint).

Forwards the request to one instance of the endpoint (chosen by variant weight, then least busy)
over a keep-alive connection and answers as AWS does: the container's body and Content-Type with
``x-Amzn-Invoked-Production-Variant``; a container error becomes ``ModelError`` (HTTP 424) quoting
the container's real status and body; a model slower than the invocation timeout (60 s, see
:func:`..config.invocation_timeout`) becomes the timeout ModelError. Metrics are queued for the
background publisher, so the hot path does no AWS calls.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import time
import uuid
from typing import Any

from . import async_inference, config
from .control_plane.resources import Registry, log_group_for
from .errors import AwsError
from .fleet import Instance, VariantFleet
from .telemetry import MetricsPublisher

INVOKE_PATH = re.compile(r"^/endpoints/([^/]+)/invocations$")

#: Request headers SageMaker passes on to the container (everything else is stripped).
FORWARDED_HEADERS = (
    "Content-Type",
    "Accept",
    "X-Amzn-SageMaker-Custom-Attributes",
    "X-Amzn-SageMaker-Target-Model",
    "X-Amzn-SageMaker-Target-Variant",
    "X-Amzn-SageMaker-Inference-Id",
    "X-Amzn-SageMaker-Session-Id",
)

TIMEOUT_MESSAGE = (
    "Your invocation timed out while waiting for a response from container primary. Review the "
    "latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)


def _see_logs(endpoint_name: str) -> str:
    group = log_group_for(endpoint_name)
    return (
        f"See https://{config.REGION}.console.aws.amazon.com/cloudwatch/home?region={config.REGION}"
        f"#logEventViewer:group={group} in account {config.ACCOUNT_ID} for more information."
    )


def not_found(endpoint_name: str) -> AwsError:
    return AwsError(
        "ValidationError", f"Endpoint {endpoint_name} of account {config.ACCOUNT_ID} not found."
    )


def model_error(endpoint_name: str, status: int, body: bytes | None) -> AwsError:
    """The 424 ModelError wrapping a container answer (or a timeout when ``body`` is None)."""
    # UNCONFIRMED: LogStreamArn names the endpoint's log group (the console link points there).
    log_arn = (
        f"arn:aws:logs:{config.REGION}:{config.ACCOUNT_ID}:log-group:{log_group_for(endpoint_name)}"
    )
    kind = "client" if 400 <= status < 500 else "server"
    if body is None:
        original = TIMEOUT_MESSAGE
        message = f'Received {kind} error ({status}) from primary with message "{original}". '
    else:
        try:
            original = body.decode("utf-8")
            message = f'Received {kind} error ({status}) from primary with message "{original}". '
        except UnicodeDecodeError:
            original = ""
            message = f"Received {kind} error ({status}) from primary and could not load the entire response body. "
    return AwsError(
        "ModelError",
        message + _see_logs(endpoint_name),
        424,
        OriginalStatusCode=status,
        OriginalMessage=original,
        LogStreamArn=log_arn,
    )


class Runtime:
    """InvokeEndpoint on the endpoints of a :class:`Registry`."""

    def __init__(self, registry: Registry, metrics: MetricsPublisher) -> None:
        self.registry = registry
        self.metrics = metrics
        self.timeout = config.invocation_timeout()

    def _route(self, endpoint_name: str, target_variant: str | None) -> VariantFleet:
        endpoint = self.registry.endpoint_for_invoke(endpoint_name)
        # UNCONFIRMED: an endpoint that is not (yet, or any more) serving answers like an
        # unknown one. During Updating the old fleet keeps serving, as on AWS.
        if endpoint is None or endpoint.status not in ("InService", "Updating"):
            raise not_found(endpoint_name)
        deployment = endpoint.deployment
        if deployment is None:
            raise not_found(endpoint_name)
        async_inference.refuse_sync(endpoint_name, deployment.config.request)
        fleets = list(deployment.fleets.values())
        if target_variant:
            for fleet in fleets:
                if fleet.name == target_variant:
                    return fleet
            # UNCONFIRMED wording.
            raise AwsError(
                "ValidationError",
                f"Variant {target_variant} does not exist for endpoint {endpoint_name}.",
            )
        if len(fleets) == 1:
            return fleets[0]
        weights = [f.weight for f in fleets]
        if sum(weights) <= 0:
            raise AwsError(
                "ValidationError", f"Endpoint {endpoint_name} has no variant with traffic."
            )
        return random.choices(fleets, weights=weights)[0]

    def invoke(
        self, endpoint_name: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Serve one InvokeEndpoint; AwsError for every failure a client should see."""
        started = time.perf_counter()
        fleet = self._route(endpoint_name, headers.get("X-Amzn-SageMaker-Target-Variant"))
        if getattr(fleet, "serverless", False):
            reply: tuple[int, list[tuple[str, str]], bytes] = fleet.invoke(  # type: ignore[attr-defined]
                self, endpoint_name, headers, body
            )
            return reply
        with fleet._lock:
            instance = fleet.pick()
            if instance is None:
                raise AwsError("ServiceUnavailable", "No healthy instance is available.", 503)
            instance.in_flight += 1
        model_started = time.perf_counter()
        try:
            status, reply_headers, reply_body = self._forward(instance, headers, body)
        except TimeoutError:
            self._record(endpoint_name, fleet, started, None, 0)
            raise model_error(endpoint_name, 0, None) from None
        finally:
            with fleet._lock:
                instance.in_flight -= 1
        model_us = int((time.perf_counter() - model_started) * 1_000_000)
        self._record(endpoint_name, fleet, started, model_us, status)
        if not 200 <= status < 300:
            raise model_error(endpoint_name, status, reply_body)
        out = [("x-Amzn-Invoked-Production-Variant", fleet.name)]
        out.append(("Content-Type", reply_headers.get("Content-Type") or "application/json"))
        custom = reply_headers.get("X-Amzn-SageMaker-Custom-Attributes")
        if custom:
            out.append(("X-Amzn-SageMaker-Custom-Attributes", custom))
        return 200, out, reply_body

    def _record(
        self,
        endpoint_name: str,
        fleet: VariantFleet,
        started: float,
        model_us: int | None,
        status: int,
    ) -> None:
        total_us = int((time.perf_counter() - started) * 1_000_000)
        overhead = max(0, total_us - (model_us or 0)) if model_us is not None else 0
        self.metrics.record_invocation(endpoint_name, fleet.name, model_us, overhead, status)

    def _forward(
        self, instance: Instance, headers: dict[str, str], body: bytes
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        send = {k: v for k in FORWARDED_HEADERS if (v := headers.get(k)) is not None}
        send["Content-Length"] = str(len(body))
        for _attempt in (1, 2):
            try:
                conn, reused = instance.acquire(self.timeout)
            except OSError:
                raise AwsError(
                    "ServiceUnavailable", "The instance is not accepting connections.", 503
                ) from None
            try:
                conn.request("POST", "/invocations", body=body, headers=send)
                response = conn.getresponse()
                data = response.read()
            except TimeoutError:
                conn.close()
                raise TimeoutError from None
            except (ConnectionError, http.client.HTTPException, OSError):
                conn.close()
                if reused:
                    continue  # a keep-alive connection the instance had closed: try a fresh one
                raise AwsError(
                    "ServiceUnavailable",
                    "The instance stopped while processing the request. Please try again.",
                    503,
                ) from None
            instance.release(conn, not response.will_close)
            return response.status, response.headers, data
        raise AssertionError("unreachable")


def error_response(err: AwsError, request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """rest-json error: ``x-amzn-ErrorType`` header plus the modelled members in the body."""
    body: dict[str, Any] = {"Message": err.message, **err.fields}
    if err.code != "ModelError":
        body = {"message": err.message}
    return (
        err.status,
        [
            ("x-amzn-ErrorType", err.code),
            ("x-amzn-RequestId", request_id),
            ("Content-Type", "application/json"),
        ],
        json.dumps(body).encode(),
    )


def new_request_id() -> str:
    return str(uuid.uuid4())
