"""Find and delete what the tutorial created, by its tags, on whichever backend is in use.

Every notebook's last cell is one line, ``cleanup(tut)``: it deletes the endpoints, endpoint
configs and models that notebook tagged (``notebook=<NN>``), waits until the endpoints are gone,
and prints what they cost. ``cleanup(tut, everything=True)`` does it for every notebook of the
tutorial (``project=handson-sagemaker-inference``). Resources without the tutorial's tags are
never touched, so the same call is safe in an AWS account that holds other work.

Autoscaling policies and targets and CloudWatch alarms on those endpoints go first (AWS refuses
to delete an endpoint registered for autoscaling). ``everything=True`` also deletes the objects
under the notebooks' prefixes (``NN_<name>/``) in the tutorial bucket: models, transform and
asynchronous inputs and outputs (never other keys: on AWS the bucket is shared).

Transform jobs cannot be deleted on SageMaker (their names stay taken), so running ones are
stopped and finished ones are left as they are.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from utils.billing import current_costs, format_costs
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
    #: Application Auto Scaling targets (``endpoint/<name>/variant/<variant>``) of those endpoints.
    scalable_targets: list[str] = field(default_factory=list)
    #: CloudWatch alarms on those endpoints (dimension ``EndpointName``).
    alarms: list[str] = field(default_factory=list)
    #: Objects in the tutorial bucket under the notebooks' prefixes (``NN_<notebook>/...``):
    #: uploaded models, transform and asynchronous inputs and outputs.
    s3_keys: list[str] = field(default_factory=list)

    def count(self) -> int:
        return sum(
            len(v)
            for v in (
                self.endpoints, self.endpoint_configs, self.models, self.scalable_targets,
                self.alarms, self.s3_keys,
            )
        )


def _matches(tags: list[dict[str, str]], notebook: str | None) -> bool:
    values = {t["Key"]: t["Value"] for t in tags}
    if values.get("project") != PROJECT_TAG:
        return False
    return notebook is None or values.get("notebook") == notebook


def _tags_of(sm: Any, arn: str) -> list[dict[str, str]]:
    """The resource's tags; none if it disappeared since it was listed (an endpoint that finished
    deleting between ListEndpoints and ListTags is gone, not an error)."""
    try:
        return sm.list_tags(ResourceArn=arn).get("Tags", [])
    except sm.exceptions.ClientError as err:
        if err.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
            return []
        raise


def _tagged(sm: Any, operation: str, key: str, name_key: str, arn_key: str, notebook: str | None):
    """Names of the resources listed by ``operation`` that carry the tutorial's tags."""
    names = []
    for page in sm.get_paginator(operation).paginate():
        for item in page[key]:
            if _matches(_tags_of(sm, item[arn_key]), notebook):
                names.append(item[name_key])
    return names


def find_tagged(tut: Tutorial, notebook: str | None = None) -> Found:
    """Everything carrying the tutorial's tags (and ``notebook``'s, unless it is None)."""
    sm = tut.sagemaker
    found = Found(
        endpoints=_tagged(sm, "list_endpoints", "Endpoints", "EndpointName", "EndpointArn", notebook),
        endpoint_configs=_tagged(
            sm, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName",
            "EndpointConfigArn", notebook,
        ),
        models=_tagged(sm, "list_models", "Models", "ModelName", "ModelArn", notebook),
        transform_jobs=_running_transform_jobs(tut, notebook),
    )
    found.scalable_targets = _scalable_targets(tut, found.endpoints)
    found.alarms = _alarms(tut, found.endpoints)
    # Objects only for the whole tutorial (notebook 08): a notebook's own clean-up keeps its
    # uploads and outputs, which are free records to look at later and cost cents on AWS.
    found.s3_keys = _tutorial_objects(tut, None) if notebook is None else []
    return found


def _scalable_targets(tut: Tutorial, endpoints: list[str]) -> list[str]:
    """Autoscaling targets registered for ``endpoints`` (they must go before the endpoint)."""
    wanted = set(endpoints)
    ids = []
    for page in tut.autoscaling.get_paginator("describe_scalable_targets").paginate(
        ServiceNamespace="sagemaker"
    ):
        for target in page["ScalableTargets"]:
            parts = target["ResourceId"].split("/")
            if len(parts) >= 2 and parts[0] == "endpoint" and parts[1] in wanted:
                ids.append(target["ResourceId"])
    return ids


def _alarms(tut: Tutorial, endpoints: list[str]) -> list[str]:
    """CloudWatch alarms whose ``EndpointName`` dimension names one of ``endpoints``."""
    wanted = set(endpoints)
    names = []
    for page in tut.cloudwatch.get_paginator("describe_alarms").paginate():
        for alarm in page.get("MetricAlarms", []):
            dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
            if dims.get("EndpointName") in wanted:
                names.append(alarm["AlarmName"])
    return names


def _tutorial_objects(tut: Tutorial, notebook: str | None) -> list[str]:
    """Keys under the notebooks' own prefixes (``07_common_mistakes/...``) in the tutorial bucket.

    Only these prefixes: on AWS the bucket is SageMaker's default bucket, shared with other work.
    """
    prefix = re.escape(notebook) if notebook else r"\d\d"
    pattern = re.compile(prefix + r"_[a-z0-9_]+/")
    keys = []
    for page in tut.s3.get_paginator("list_objects_v2").paginate(Bucket=tut.bucket):
        keys += [o["Key"] for o in page.get("Contents", []) if pattern.match(o["Key"])]
    return keys


def _running_transform_jobs(tut: Tutorial, notebook: str | None) -> list[str]:
    sm = tut.sagemaker
    if not hasattr(sm, "list_transform_jobs"):
        return []
    names = []
    try:
        pages = sm.get_paginator("list_transform_jobs").paginate(StatusEquals="InProgress")
        for page in pages:
            for job in page["TransformJobSummaries"]:
                tags = _tags_of(sm, job["TransformJobArn"])
                if _matches(tags, notebook):
                    names.append(job["TransformJobName"])
    except sm.exceptions.ClientError as err:
        # A backend without transform jobs answers with an unknown-operation error: nothing to stop.
        if err.response["Error"]["Code"] not in ("UnknownOperationException", "InvalidAction"):
            raise
    return names


def cost_report(tut: Tutorial) -> str:
    """Everything metered so far (:func:`utils.billing.current_costs`), one line per resource."""
    return format_costs(current_costs(tut))


def cleanup(tut: Tutorial, everything: bool = False, quiet: bool = False) -> None:
    """Delete what this notebook (or, with ``everything``, the whole tutorial) created.

    Returns nothing so that a notebook's last cell shows only the printed summary;
    :func:`find_tagged` tells what there is.
    """
    notebook = None if everything else tut.notebook
    found = find_tagged(tut, notebook)
    spent = current_costs(tut) if found.endpoints else None
    sm = tut.sagemaker
    for job in found.transform_jobs:
        sm.stop_transform_job(TransformJobName=job)
    _delete_scaling_and_alarms(tut, found)
    for name in found.endpoints:
        sm.delete_endpoint(EndpointName=name)
    _wait_deleted(tut, found.endpoints)
    for name in found.endpoint_configs:
        sm.delete_endpoint_config(EndpointConfigName=name)
    for name in found.models:
        sm.delete_model(ModelName=name)
    for start in range(0, len(found.s3_keys), 1000):
        chunk = found.s3_keys[start : start + 1000]
        tut.s3.delete_objects(
            Bucket=tut.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
        )
    if not quiet:
        print(_summary(found, spent, everything, tut))


def _delete_scaling_and_alarms(tut: Tutorial, found: Found) -> None:
    """Scaling policies and targets first (AWS requires it before deleting an endpoint), alarms."""
    scaling = tut.autoscaling
    for resource_id in found.scalable_targets:
        dimension = "sagemaker:variant:DesiredInstanceCount"
        policies = scaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=dimension
        )["ScalingPolicies"]
        for policy in policies:
            scaling.delete_scaling_policy(
                PolicyName=policy["PolicyName"], ServiceNamespace="sagemaker",
                ResourceId=resource_id, ScalableDimension=dimension,
            )
        scaling.deregister_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=dimension
        )
    if found.alarms:
        tut.cloudwatch.delete_alarms(AlarmNames=found.alarms)


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
        ("scalable targets", found.scalable_targets),
        ("alarms", found.alarms),
        ("S3 objects", found.s3_keys),
    ):
        if names:
            lines.append(f"  {label:<17}: {len(names)}")
    if spent is not None:
        deleted = [r for r in spent["Endpoints"] if r["EndpointName"] in found.endpoints]
        total = sum(r["CostUsd"] or 0.0 for r in deleted)
        where = "metered locally, as AWS would bill it" if tut.is_local else "estimated"
        lines.append(f"  cost of those endpoints: ${total:.6f} ({where})")
    return "\n".join(lines)
