"""What the tutorial's resources have cost so far, as AWS bills them, and how to show dollars.

Locally the figures come from the local SageMaker's meter (instance-seconds while instances ran,
serverless GB-seconds and bytes, transform jobs), at the price table's rates; on AWS they are an
estimate from the running endpoints' instance types and counts
(:func:`utils.local_sagemaker.meter.estimate_from_aws`). The lessons format this snapshot their
own way (:func:`utils.endpoints.cost_so_far`, :func:`utils.cleanup.cost_report`, ...), and every
dollar amount they print goes through :func:`format_usd`.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["current_costs", "format_usd"]


def current_costs(tut: Any) -> dict[str, Any]:
    """The meter's snapshot: ``Endpoints``, ``TransformJobs`` and (locally) ``Serverless`` rows."""
    from utils.local_sagemaker import meter

    if tut.is_local:
        return meter.current_costs(tut.endpoint_url)
    return meter.estimate_from_aws(tut.sagemaker)


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
