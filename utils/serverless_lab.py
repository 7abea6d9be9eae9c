"""Helpers for notebooks 04 (serverless) and 05 (asynchronous): the plumbing, named by what it does.

Everything works on both backends. Where only the local SageMaker can show something (how many
serverless workers are warm right now), the helper says so on AWS instead of guessing.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from utils.local_sagemaker.serverless import IDLE_TAG

__all__ = [
    "IDLE_TAG",
    "burst",
    "flush_telemetry",
    "metric_sum",
    "no_retry_runtime",
    "serverless_costs",
    "timed_invoke",
    "wait_for_s3_object",
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


def timed_invoke(runtime: Any, endpoint: str, body: str, content_type: str = "text/csv") -> float:
    """Milliseconds for one InvokeEndpoint round trip (the body is read to the end)."""
    start = time.perf_counter()
    runtime.invoke_endpoint(EndpointName=endpoint, ContentType=content_type, Body=body)[
        "Body"
    ].read()
    return (time.perf_counter() - start) * 1000


def warm_workers(tut: Any, endpoint: str) -> int | None:
    """How many serverless workers are warm now (local only; AWS does not show it: None)."""
    if not tut.is_local:
        return None
    with urllib.request.urlopen(f"{tut.endpoint_url}/_local/endpoints/{endpoint}", timeout=5) as r:
        return len([i for i in json.loads(r.read())["Instances"] if i["Alive"]])


def wait_until_cold(tut: Any, endpoint: str, timeout: float = 120.0) -> float:
    """Poll until no worker is warm; returns the seconds waited (AWS: returns 0 at once)."""
    start = time.monotonic()
    while tut.is_local and warm_workers(tut, endpoint):
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{endpoint} still has warm workers after {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - start


def burst(runtime: Any, endpoint: str, body: str, n: int, timeout: float = 75.0) -> Counter:
    """Send ``n`` requests at once; count results, error codes, and requests still hanging."""

    def call() -> str:
        try:
            runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=body)
            return "result"
        except runtime.exceptions.ClientError as err:
            return err.response["Error"]["Code"]

    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(call) for _ in range(n)]
        done, pending = wait(futures, timeout=timeout)
    outcomes = Counter(f.result() for f in done)
    outcomes["hung"] = len(pending)
    return outcomes


def flush_telemetry(tut: Any) -> None:
    """Locally, wait until queued logs and metrics reached CloudWatch (AWS: nothing to do)."""
    if tut.is_local:
        with urllib.request.urlopen(f"{tut.endpoint_url}/_local/flush", timeout=15) as r:
            r.read()


def metric_sum(
    tut: Any, endpoint: str, name: str, statistic: str = "SampleCount", variant: str | None = None
) -> float:
    """One CloudWatch metric of ``endpoint`` over the last hour, summed over its data points."""
    flush_telemetry(tut)
    dimensions = [{"Name": "EndpointName", "Value": endpoint}]
    if variant:
        dimensions.append({"Name": "VariantName", "Value": variant})
    points = tut.cloudwatch.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName=name,
        Dimensions=dimensions,
        StartTime=time.time() - 3600,
        EndTime=time.time() + 60,
        Period=60,
        Statistics=[statistic],
    )["Datapoints"]
    return sum(p[statistic] for p in points)


def serverless_costs(tut: Any) -> list[dict[str, Any]]:
    """Serverless rows of the local meter: requests, GB-seconds, bytes and cost so far."""
    if not tut.is_local:
        return []
    from utils.local_sagemaker import meter

    return meter.current_costs(tut.endpoint_url).get("Serverless", [])


def wait_for_s3_object(s3: Any, uri: str, timeout: float = 120.0, poll: float = 0.2) -> bytes:
    """Poll S3 every ``poll`` seconds until the object at ``uri`` exists; return its bytes."""
    bucket, key = uri[len("s3://") :].split("/", 1)
    start = time.monotonic()
    while True:
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"{uri} did not appear within {timeout:.0f} s") from None
            time.sleep(poll)
