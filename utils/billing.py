"""What the tutorial's resources have cost so far, as AWS bills them: one snapshot for every view.

Locally the figures come from the local SageMaker's meter (instance-seconds while instances ran,
serverless GB-seconds and bytes, transform jobs), at the price table's rates; on AWS they are an
estimate from the running endpoints' instance types and counts
(:func:`utils.local_sagemaker.meter.estimate_from_aws`). The lessons format this snapshot their
own way (:func:`utils.endpoints.cost_so_far`, :func:`utils.cleanup.cost_report`, ...).
"""

from __future__ import annotations

from typing import Any

__all__ = ["current_costs"]


def current_costs(tut: Any) -> dict[str, Any]:
    """The meter's snapshot: ``Endpoints``, ``TransformJobs`` and (locally) ``Serverless`` rows."""
    from utils.local_sagemaker import meter

    if tut.is_local:
        return meter.current_costs(tut.endpoint_url)
    return meter.estimate_from_aws(tut.sagemaker)
