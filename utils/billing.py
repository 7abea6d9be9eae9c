"""What the tutorial's resources have cost so far, as AWS bills them: one snapshot for every view.

Locally the figures come from the local SageMaker's meter (instance-seconds while instances ran,
serverless GB-seconds and bytes, transform jobs), at the price table's rates; on AWS they are an
estimate from the running endpoints' instance types and counts. Both come through the local
SageMaker's public face (:mod:`utils.local_sagemaker`). The lessons format this snapshot their
own way (:func:`utils.endpoints.cost_so_far`, :func:`utils.cleanup.cost_report`, ...) or as the
meter's own table (:func:`format_costs`).
"""

from __future__ import annotations

from typing import Any

from utils import local_sagemaker

__all__ = ["current_costs", "format_costs", "hourly_price"]


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
