"""Find and delete what the tutorial created, by its tags, on whichever backend is in use.

Every notebook's last cell is one line, ``cleanup(tut)``: it deletes the endpoints, endpoint
configs and models that notebook tagged (``notebook=<NN>``), waits until the endpoints are gone,
and prints what they cost. ``cleanup(tut, everything=True)`` does it for every notebook of the
tutorial (``project=handson-sagemaker-inference``). Resources without the tutorial's tags are
never touched, so the same call is safe in an AWS account that holds other work.

Transform jobs cannot be deleted on SageMaker (their names stay taken), so running ones are
stopped and finished ones are left as they are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from utils.session import PROJECT_TAG, Tutorial

# How often to poll while endpoints are deleted: the local SageMaker deletes in milliseconds,
# AWS takes minutes.
_POLL_SECONDS = {"local": 0.1, "aws": 10.0}
_DELETE_TIMEOUT_SECONDS = {"local": 30.0, "aws": 900.0}


@dataclass
class Found:
    """Tagged resources, by kind, in deletion order."""

    endpoints: list[str] = field(default_factory=list)
    endpoint_configs: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    transform_jobs: list[str] = field(default_factory=list)

    def count(self) -> int:
        return sum(len(v) for v in (self.endpoints, self.endpoint_configs, self.models))


def _matches(tags: list[dict[str, str]], notebook: str | None) -> bool:
    values = {t["Key"]: t["Value"] for t in tags}
    if values.get("project") != PROJECT_TAG:
        return False
    return notebook is None or values.get("notebook") == notebook


def _tagged(sm: Any, operation: str, key: str, name_key: str, arn_key: str, notebook: str | None):
    """Names of the resources listed by ``operation`` that carry the tutorial's tags."""
    names = []
    for page in sm.get_paginator(operation).paginate():
        for item in page[key]:
            tags = sm.list_tags(ResourceArn=item[arn_key]).get("Tags", [])
            if _matches(tags, notebook):
                names.append(item[name_key])
    return names


def find_tagged(tut: Tutorial, notebook: str | None = None) -> Found:
    """Everything carrying the tutorial's tags (and ``notebook``'s, unless it is None)."""
    sm = tut.sagemaker
    return Found(
        endpoints=_tagged(sm, "list_endpoints", "Endpoints", "EndpointName", "EndpointArn", notebook),
        endpoint_configs=_tagged(
            sm, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName",
            "EndpointConfigArn", notebook,
        ),
        models=_tagged(sm, "list_models", "Models", "ModelName", "ModelArn", notebook),
        transform_jobs=_running_transform_jobs(tut, notebook),
    )


def _running_transform_jobs(tut: Tutorial, notebook: str | None) -> list[str]:
    sm = tut.sagemaker
    if not hasattr(sm, "list_transform_jobs"):
        return []
    names = []
    try:
        pages = sm.get_paginator("list_transform_jobs").paginate(StatusEquals="InProgress")
        for page in pages:
            for job in page["TransformJobSummaries"]:
                tags = sm.list_tags(ResourceArn=job["TransformJobArn"]).get("Tags", [])
                if _matches(tags, notebook):
                    names.append(job["TransformJobName"])
    except sm.exceptions.ClientError as err:
        # A backend without transform jobs answers with an unknown-operation error: nothing to stop.
        if err.response["Error"]["Code"] not in ("UnknownOperationException", "InvalidAction"):
            raise
    return names


def costs(tut: Tutorial) -> dict[str, Any]:
    """What the endpoints have cost so far: metered locally, estimated from AWS otherwise."""
    from utils.local_sagemaker import meter

    if tut.is_local:
        return meter.current_costs(tut.endpoint_url)
    return meter.estimate_from_aws(tut.sagemaker)


def cost_report(tut: Tutorial) -> str:
    from utils.local_sagemaker import meter

    return meter.format_costs(costs(tut))


def cleanup(tut: Tutorial, everything: bool = False, quiet: bool = False) -> None:
    """Delete what this notebook (or, with ``everything``, the whole tutorial) created.

    Returns nothing so that a notebook's last cell shows only the printed summary;
    :func:`find_tagged` tells what there is.
    """
    notebook = None if everything else tut.notebook
    found = find_tagged(tut, notebook)
    spent = costs(tut) if found.endpoints else None
    sm = tut.sagemaker
    for job in found.transform_jobs:
        sm.stop_transform_job(TransformJobName=job)
    for name in found.endpoints:
        sm.delete_endpoint(EndpointName=name)
    _wait_deleted(tut, found.endpoints)
    for name in found.endpoint_configs:
        sm.delete_endpoint_config(EndpointConfigName=name)
    for name in found.models:
        sm.delete_model(ModelName=name)
    if not quiet:
        print(_summary(found, spent, everything, tut))


def _wait_deleted(tut: Tutorial, endpoints: list[str]) -> None:
    """Poll until every endpoint is gone (DescribeEndpoint answers ValidationException)."""
    sm = tut.sagemaker
    deadline = time.monotonic() + _DELETE_TIMEOUT_SECONDS[tut.backend]
    pending = list(endpoints)
    while pending:
        still = []
        for name in pending:
            try:
                sm.describe_endpoint(EndpointName=name)
                still.append(name)
            except sm.exceptions.ClientError as err:
                if err.response["Error"]["Code"] != "ValidationException":
                    raise
        pending = still
        if pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"endpoints still deleting: {', '.join(pending)}")
            time.sleep(_POLL_SECONDS[tut.backend])


def _summary(found: Found, spent: dict[str, Any] | None, everything: bool, tut: Tutorial) -> str:
    scope = "the whole tutorial" if everything else f"notebook {tut.notebook}"
    if not found.count() and not found.transform_jobs:
        return f"Nothing left to delete for {scope}."
    lines = [f"Deleted for {scope}:"]
    for label, names in (
        ("endpoints", found.endpoints),
        ("endpoint configs", found.endpoint_configs),
        ("models", found.models),
        ("transform jobs stopped", found.transform_jobs),
    ):
        if names:
            lines.append(f"  {label:<17}: {len(names)}")
    if spent is not None:
        deleted = [r for r in spent["Endpoints"] if r["EndpointName"] in found.endpoints]
        total = sum(r["CostUsd"] or 0.0 for r in deleted)
        where = "metered locally, as AWS would bill it" if tut.is_local else "estimated"
        lines.append(f"  cost of those endpoints: ${total:.6f} ({where})")
    return "\n".join(lines)
