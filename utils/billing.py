"""What the tutorial's resources have cost so far, as AWS bills them, and how to show dollars.

Locally the figures come from the local SageMaker's meter (instance-seconds while instances ran,
serverless GB-seconds and bytes, transform jobs), at the price table's rates; on AWS they are an
estimate from the running endpoints' instance types and counts. Both come through the local
SageMaker's public face (:mod:`utils.local_sagemaker`). The lessons format this snapshot their
own way (:func:`cost_so_far`: the real-time endpoints, one line per variant;
:func:`utils.cleanup.cost_report`, ...) or as the meter's own table (:func:`format_costs`); every
dollar amount they print goes through :func:`format_usd`, except the per-second meter lines of
:func:`format_cost_rows`, which show six decimals so that a few seconds of an endpoint are not
rounded away.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from utils import local_sagemaker

__all__ = [
    "cost_so_far",
    "current_costs",
    "format_cost_rows",
    "format_costs",
    "format_usd",
    "hourly_price",
]


def current_costs(tut: Any) -> dict[str, Any]:
    """The meter's snapshot: ``Endpoints``, ``TransformJobs`` and (locally) ``Serverless`` rows."""
    if tut.is_local:
        return local_sagemaker.current_costs(tut.endpoint_url)
    return local_sagemaker.estimate_from_aws(tut.sagemaker)


def format_costs(snapshot: dict[str, Any]) -> str:
    """A snapshot as a small text table, one line per resource and the total."""
    return local_sagemaker.format_costs(snapshot)


def hourly_price(
    instance_type: str,
    region: str = local_sagemaker.DEFAULT_REGION,
    mode: local_sagemaker.InstanceMode = "realtime",
) -> float | None:
    """USD per instance-hour (``mode``: realtime, asynchronous or batch), or None when unknown."""
    return local_sagemaker.hourly_price(instance_type, region, mode)


def format_usd(usd: float | None) -> str:
    """Dollars as a reader should see them: never a small cost shown as ``$0.00``.

    From one dollar up, dollars and cents (``$1,007.40``). Below a dollar, two significant
    digits (``$0.49``, ``$0.015``, ``$0.00028``): the seconds an endpoint runs in a lesson cost
    hundredths of a cent, and a month of light serverless traffic about a cent, and rounding
    either to ``$0.00`` would say they are free. Exactly nothing is ``$0.00``; an amount the
    price table cannot tell (``None``) is ``unknown``.
    """
    if usd is None:
        return "unknown"
    if usd == 0:
        return "$0.00"
    sign = "-" if usd < 0 else ""
    amount = abs(usd)
    if amount >= 0.995:  # rounds to at least $1.00
        return f"{sign}${amount:,.2f}"
    decimals = max(2, 1 - math.floor(math.log10(amount)))  # two significant digits
    text = f"{amount:.{decimals}f}"
    if len(text.lstrip("0.")) > 2:  # 0.0099 rounded up to 0.010: one digit fewer
        text = f"{amount:.{decimals - 1}f}"
    return f"{sign}${text}"


def cost_so_far(tut: Any, endpoints: Iterable[str] | None = None) -> str:
    """A small table of what ``endpoints`` (default: all) have cost so far, as AWS bills them.

    Locally the figures come from the local SageMaker's meter (instance-seconds since each fleet
    became healthy, at the price table's hourly rate); on AWS they are an estimate from the
    running endpoints' instance types and counts (:func:`current_costs`).
    Models and endpoint configurations cost nothing: only instances behind endpoints do.
    """
    rows = current_costs(tut)["Endpoints"]
    return format_cost_rows(rows, None if endpoints is None else set(endpoints))


def format_cost_rows(rows: list[dict[str, Any]], endpoints: set[str] | None = None) -> str:
    """Format meter rows (see :func:`current_costs`): one line per endpoint variant.

    Measured numbers (instance-seconds: seconds times the instances running, and dollars) come
    last on each line and are never padded, so a notebook's stored output differs from a new
    run's only in those numbers.
    """
    chosen = [r for r in rows if endpoints is None or r["EndpointName"] in endpoints]
    width = max([len("endpoint"), *(len(r["EndpointName"]) for r in chosen)])
    lines = [f"{'endpoint':<{width}}  {'instances now':<18} {'price':<11} billed so far"]
    total = 0.0
    for row in chosen:
        running = f"{row['InstanceCount']} × {row['InstanceType']}" if row["Running"] else "deleted"
        price = "unknown" if row["UsdPerHour"] is None else f"${row['UsdPerHour']:.3f}/h"
        cost = "unknown" if row["CostUsd"] is None else f"${row['CostUsd']:.6f}"
        total += row["CostUsd"] or 0.0
        lines.append(
            f"{row['EndpointName']:<{width}}  {running:<18} {price:<11} "
            f"{row['InstanceSeconds']:.1f} instance-seconds = {cost}"
        )
    if not chosen:
        lines.append("(no endpoint has run yet)")
    lines.append(f"total so far: ${total:.6f}")
    return "\n".join(lines)

