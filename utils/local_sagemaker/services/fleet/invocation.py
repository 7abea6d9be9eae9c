"""What every InvokeEndpoint does once a variant is chosen: forward, measure, answer.

Shared by the real-time (:mod:`.realtime`) and serverless (:mod:`..serverless.fleet`) variants:
the headers SageMaker passes to the container, the container errors a client sees (503 when the
instance cannot answer), the per-invocation metrics, and the response headers.
"""

from __future__ import annotations

import time

from ...core.errors import AwsError
from ...core.instance_client import InstanceReply, InstanceUnreachable, InvalidHeader
from ...core.messages import header_not_sendable
from ..telemetry.invocation_metrics import MetricsPublisher
from .instance import Instance
from .instance_fleet import Reply

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


def forward(instance: Instance, headers: dict[str, str], body: bytes, timeout: float) -> InstanceReply:
    """POST the request to ``instance``; ``TimeoutError`` when the model is too slow."""
    send = {k: v for k in FORWARDED_HEADERS if (v := headers.get(k)) is not None}
    client = instance.client
    try:
        if client is None:
            raise InstanceUnreachable("the instance has no port yet", connected=False)
        return client.invoke(body, send, timeout)
    except InvalidHeader as exc:
        raise header_not_sendable(exc.header) from None
    except InstanceUnreachable as exc:
        if exc.connected:
            raise AwsError(
                "ServiceUnavailable",
                "The instance stopped while processing the request. Please try again.",
                503,
            ) from None
        raise AwsError(
            "ServiceUnavailable", "The instance is not accepting connections.", 503
        ) from None


def record(
    metrics: MetricsPublisher,
    endpoint_name: str,
    variant: str,
    started: float,
    model_us: int | None,
    status: int,
) -> None:
    """Queue one invocation's metrics: ModelLatency, and OverheadLatency (the rest of the time
    since ``started``, a ``perf_counter`` value); ``model_us`` None for a timeout."""
    total_us = int((time.perf_counter() - started) * 1_000_000)
    overhead = max(0, total_us - (model_us or 0)) if model_us is not None else 0
    metrics.record_invocation(endpoint_name, variant, model_us, overhead, status)


def success(variant: str, reply: InstanceReply) -> Reply:
    """InvokeEndpoint's 200: the container's body and Content-Type, the variant that served it."""
    out = [("x-Amzn-Invoked-Production-Variant", variant)]
    out.append(("Content-Type", reply.headers.get("Content-Type") or "application/json"))
    custom = reply.headers.get("X-Amzn-SageMaker-Custom-Attributes")
    if custom:
        out.append(("X-Amzn-SageMaker-Custom-Attributes", custom))
    return 200, out, reply.body
