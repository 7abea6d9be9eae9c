"""Helpers for notebook 04 (serverless inference): the plumbing, named by what it does.

``timed_invoke`` is :func:`utils.latency.timed_invoke`, here so the lesson imports one module.
Everything works on both backends. Where only the local SageMaker can show something (how many
serverless workers are warm right now), the helper says so on AWS instead of guessing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from utils.cloudwatch import flush_telemetry, metric_datapoints, wait_for_metrics
from utils.concurrency import burst_outcomes
from utils.latency import timed_invoke
from utils.local_sagemaker import SERVERLESS_IDLE_TAG as IDLE_TAG
from utils.polling import max_poll_seconds

__all__ = [
    "IDLE_TAG",
    "burst",
    "metric_sum",
    "record_attempts",
    "runtime_with_attempts",
    "serverless_cost_lines",
    "serverless_costs",
    "timed_invoke",
    "wait_until_cold",
    "warm_workers",
]


def runtime_with_attempts(tut: Any, attempts: int, mode: str = "standard") -> Any:
    """A sagemaker-runtime client that makes at most ``attempts`` attempts per call (1 = no retry).

    botocore's ``total_max_attempts`` counts the first attempt too. Its older ``max_attempts``
    counts only the retries (botocore's ``Config`` documentation), so ``max_attempts=1`` would
    still retry once.
    """
    from botocore.config import Config

    return tut.boto_session.client(
        "sagemaker-runtime",
        region_name=tut.region,
        config=Config(
            retries={"total_max_attempts": attempts, "mode": mode},
            read_timeout=70,
            max_pool_connections=64,
        ),
    )


def record_attempts(client: Any) -> list[str]:
    """From now on, note what every attempt of ``client`` got: ``"200"`` or the error code.

    botocore retries throttles quietly: a call that succeeds on its third attempt returns like one
    that succeeded at once, and its answer only counts the retries
    (``ResponseMetadata["RetryAttempts"]``). The list this returns grows by one entry per
    attempt (an exception that never reached the server, such as a read timeout, by its class
    name), read from botocore's ``needs-retry`` event, which it emits after every attempt.
    """
    outcomes: list[str] = []

    def note(response: Any = None, caught_exception: Exception | None = None, **_: Any) -> None:
        if caught_exception is not None:
            outcomes.append(type(caught_exception).__name__)
        elif response is not None:
            http, parsed = response
            outcomes.append(parsed.get("Error", {}).get("Code") or str(http.status_code))

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"needs-retry.{service}", note)
    return outcomes


def warm_workers(tut: Any, endpoint: str) -> int | None:
    """How many serverless workers are warm now (local only; AWS does not show it: None)."""
    if not tut.is_local:
        return None
    from utils.local_sagemaker import local_route

    instances = local_route(tut.endpoint_url, f"/_local/endpoints/{endpoint}")["Instances"]
    return len([i for i in instances if i["Alive"]])


#: What wait_until_cold says on AWS, where there is nothing to poll.
AWS_IDLE_NOTE = (
    "On AWS: SageMaker shows no serverless workers and does not publish how long it keeps an "
    "idle one, so there is nothing to wait for here. The next request tells: leave the endpoint "
    "idle for a while and run this cell again to see a cold start."
)


def wait_until_cold(
    tut: Any, endpoint: str, timeout: float = 120.0, show: Callable[[str], None] = print
) -> float:
    """Locally, poll until no worker is warm; returns the seconds waited.

    On AWS there is no signal to poll (:func:`warm_workers` is None there and the idle period is
    not published), so rather than sleep a guessed time this says so through ``show`` and
    returns 0 at once.
    """
    if not tut.is_local:
        show(AWS_IDLE_NOTE)
        return 0.0
    start = time.monotonic()
    while warm_workers(tut, endpoint):
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

    :func:`utils.concurrency.burst_outcomes`, with a successful answer counted as ``"result"``;
    each failed request's exception is appended to ``errors`` when given.
    """
    outcomes = burst_outcomes(runtime, endpoint, body, n, timeout=timeout, errors=errors)
    return Counter({("result" if k == "ok" else k): v for k, v in outcomes.items()})


def metric_sum(
    tut: Any,
    endpoint: str,
    name: str,
    statistic: str = "SampleCount",
    variant: str | None = None,
    at_least: float = 0,
    timeout: float = 180.0,
) -> float:
    """One CloudWatch metric of ``endpoint`` over the last hour, summed over its data points.

    With ``at_least``, keeps reading until the sum reaches it or ``timeout`` passes (on AWS
    metrics arrive a minute or more after the requests; a longer wait is announced) and returns
    what has arrived by then.
    """
    flush_telemetry(tut)

    def read() -> float:
        points = metric_datapoints(tut.cloudwatch, endpoint, name, [statistic], variant=variant)
        return sum(p[statistic] for p in points)

    return wait_for_metrics(read, lambda total: total, at_least, f"{name} samples", timeout=timeout,
                            poll_cap=max_poll_seconds(tut.cloudwatch))


def serverless_costs(tut: Any) -> list[dict[str, Any]]:
    """Serverless rows of the local meter: requests, GB-seconds, bytes and cost so far.

    AWS reports serverless usage only on the bill, not in any API: there this returns ``[]``.
    """
    if not tut.is_local:
        return []
    from utils.billing import current_costs

    return current_costs(tut).get("Serverless", [])


def serverless_cost_lines(tut: Any, endpoints: Iterable[str]) -> list[str]:
    """What ``endpoints`` have cost so far, one line each.

    Locally from the meter: requests, GB-seconds of processing, and for an endpoint without
    provisioned concurrency the price per 1,000 requests (with provisioned concurrency most of
    the cost is time, not requests, so the line shows the provisioned GB-seconds instead). AWS
    reports serverless usage only on the bill (Cost Explorer, about a day later), not in any API:
    there the one line says so instead of printing $0.
    """
    if not tut.is_local:
        return [
            "On AWS serverless usage appears only on your bill (Cost Explorer, about a day "
            "later); price it with the cost model below."
        ]
    from utils.billing import format_usd

    wanted = set(endpoints)
    lines = []
    for row in serverless_costs(tut):
        if row["EndpointName"] not in wanted:
            continue
        requests = row["Requests"]
        processing = row["ComputeGbSeconds"] + row["ProvisionedComputeGbSeconds"]
        line = (
            f"{row['EndpointName']}: {requests} request{'' if requests == 1 else 's'}, "
            f"{processing:.3f} GB-s of processing"
        )
        if row["ProvisionedGbSeconds"]:
            line += f", {row['ProvisionedGbSeconds']:,.0f} GB-s provisioned: {format_usd(row['CostUsd'])}"
        elif requests:
            per_1000 = row["CostUsd"] / requests * 1000
            line += f": {format_usd(row['CostUsd'])}, so {format_usd(per_1000)} per 1,000 requests"
        else:
            line += f": {format_usd(row['CostUsd'])}"
        lines.append(line)
    return lines
