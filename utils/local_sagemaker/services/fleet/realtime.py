"""A real-time (or asynchronous) production variant: instances that are always on.

InvokeEndpoint goes to the live instance with the fewest requests in flight (round-robin among
equals) and answers as AWS does: the container's body with ``x-Amzn-Invoked-Production-Variant``;
a container error becomes ``ModelError`` (HTTP 424) quoting the container's status and body; a
model slower than the invocation timeout (60 s, ``LOCAL_SAGEMAKER_INVOCATION_TIMEOUT``) becomes
the timeout ModelError. Metrics are queued for the background publisher, so the hot path makes
no AWS calls.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ...core.errors import AwsError
from ...core.messages import model_error
from ..telemetry.invocation_metrics import MetricsPublisher
from .healing import HealingSetup
from .instance_fleet import EndpointFleet, Reply
from .invocation import forward, record, success


class RealtimeFleet(EndpointFleet):
    """An instance-based production variant."""

    def __init__(
        self,
        variant: dict[str, Any],
        model_dir: Path,
        environment: dict[str, str],
        metrics: MetricsPublisher,
        invocation_timeout: float,
        healing: HealingSetup,
    ) -> None:
        super().__init__(variant, model_dir, environment, healing)
        self.metrics = metrics
        self.invocation_timeout = invocation_timeout

    def invoke(self, endpoint_name: str, headers: dict[str, str], body: bytes) -> Reply:
        started = time.perf_counter()
        instance = self.reserve()
        if instance is None:
            raise AwsError("ServiceUnavailable", "No healthy instance is available.", 503)
        model_started = time.perf_counter()
        try:
            reply = forward(instance, headers, body, self.invocation_timeout)
        except TimeoutError:
            record(self.metrics, endpoint_name, self.name, started, None, 0)
            raise model_error(endpoint_name, 0, None) from None
        finally:
            self.release(instance)
        model_us = int((time.perf_counter() - model_started) * 1_000_000)
        record(self.metrics, endpoint_name, self.name, started, model_us, reply.status)
        if not 200 <= reply.status < 300:
            raise model_error(endpoint_name, reply.status, reply.body)
        return success(self.name, reply)
