"""The cost snapshot's view on AWS, estimated from what the SageMaker API shows."""

from __future__ import annotations

import time
from typing import Any

from .cost_meter import Segment, summarise


def estimate_from_aws(sagemaker_client: Any, now: float | None = None) -> dict[str, Any]:
    """Estimate the same view on AWS: running endpoints' instances since their last change.

    An estimate, not a bill: it counts InService/Updating endpoints from ``LastModifiedTime``
    (time before the last update is not seen) and ignores endpoints already deleted.
    """
    now = time.time() if now is None else now
    segments: list[Segment] = []
    paginator = sagemaker_client.get_paginator("list_endpoints")
    for page in paginator.paginate():
        for summary in page["Endpoints"]:
            if summary["EndpointStatus"] not in ("InService", "Updating", "SystemUpdating"):
                continue
            described = sagemaker_client.describe_endpoint(EndpointName=summary["EndpointName"])
            cfg = sagemaker_client.describe_endpoint_config(
                EndpointConfigName=described["EndpointConfigName"]
            )
            types = {v["VariantName"]: v.get("InstanceType") for v in cfg["ProductionVariants"]}
            started = described["LastModifiedTime"].timestamp()
            for variant in described.get("ProductionVariants", []):
                itype = types.get(variant["VariantName"])
                if not itype:
                    continue  # serverless: billed per use, not per instance-second
                segments.append(
                    Segment(
                        summary["EndpointName"],
                        variant["VariantName"],
                        itype,
                        int(variant.get("CurrentInstanceCount", 0)),
                        started,
                    )
                )
    return summarise(segments, {id(s) for s in segments}, now)
