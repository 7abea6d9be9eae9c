"""Helpers for notebook 04 (serverless inference): the plumbing, named by what it does.

``timed_invoke`` is :func:`utils.endpoints.timed_invoke`, here so the lesson imports one module.
Everything works on both backends. Where only the local SageMaker can show something (how many
serverless workers are warm right now), the helper says so on AWS instead of guessing.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from utils.cloudwatch import flush_telemetry, metric_datapoints
from utils.endpoints import burst_outcomes, timed_invoke
from utils.local_sagemaker import SERVERLESS_IDLE_TAG as IDLE_TAG

__all__ = [
    "IDLE_TAG",
    "burst",
    "metric_sum",
    "no_retry_runtime",
    "serverless_costs",
    "timed_invoke",
    "wait_until_cold",
    "warm_workers",
]


def no_retry_runtime(tut: Any, max_attempts: int = 1, mode: str = "standard") -> Any:
    """A sagemaker-runtime client with botocore retries set explicitly (1 attempt = none)."""
    from botocore.config import Config

    return tut.boto_session.client(
        "sagemaker-runtime",
        region_name=tut.region,
        config=Config(
            retries={"max_attempts": max_attempts, "mode": mode},
            read_timeout=70,
            max_pool_connections=64,
        ),
    )


def warm_workers(tut: Any, endpoint: str) -> int | None:
    """How many serverless workers are warm now (local only; AWS does not show it: None)."""
    if not tut.is_local:
        return None
    from utils.local_sagemaker import local_route

    instances = local_route(tut.endpoint_url, f"/_local/endpoints/{endpoint}")["Instances"]
    return len([i for i in instances if i["Alive"]])


def wait_until_cold(tut: Any, endpoint: str, timeout: float = 120.0) -> float:
    """Poll until no worker is warm; returns the seconds waited (AWS: returns 0 at once)."""
    start = time.monotonic()
    while tut.is_local and warm_workers(tut, endpoint):
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{endpoint} still has warm workers after {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - start


def burst(
    runtime: Any,
    endpoint: str,
    body: str,
    n: int,
    timeout: float = 75.0,
    errors: list[Exception] | None = None,
) -> Counter:
    """Send ``n`` requests at once; count results, error codes, and requests still hanging.

    :func:`utils.endpoints.burst_outcomes`, with a successful answer counted as ``"result"``;
    each failed request's exception is appended to ``errors`` when given.
    """
    outcomes = burst_outcomes(runtime, endpoint, body, n, timeout=timeout, errors=errors)
    return Counter({("result" if k == "ok" else k): v for k, v in outcomes.items()})


def metric_sum(
    tut: Any, endpoint: str, name: str, statistic: str = "SampleCount", variant: str | None = None
) -> float:
    """One CloudWatch metric of ``endpoint`` over the last hour, summed over its data points."""
    flush_telemetry(tut)
    points = metric_datapoints(tut.cloudwatch, endpoint, name, [statistic], variant=variant)
    return sum(p[statistic] for p in points)


def serverless_costs(tut: Any) -> list[dict[str, Any]]:
    """Serverless rows of the local meter: requests, GB-seconds, bytes and cost so far.

    AWS reports serverless usage only on the bill, not in any API: there this returns ``[]``.
    """
    if not tut.is_local:
        return []
    from utils.billing import current_costs

    return current_costs(tut).get("Serverless", [])
