"""Find and delete what the tutorial created, by its tags, on whichever backend is in use.

Every notebook's clean-up calls ``cleanup(tut)``: it deletes the endpoints, endpoint configs,
models and SNS topics and SQS queues that notebook tagged (``notebook=<NN>``), waits until the
endpoints are gone, deletes their CloudWatch log groups and the log streams of its transform
jobs, and prints what it deleted and what the endpoints cost; the notebook then deletes its own
S3 prefix and ``build/`` folder. ``cleanup(tut, everything=True)`` does it for every notebook of the tutorial
(``project=handson-sagemaker-inference``) and also deletes the objects under the notebooks'
prefixes (``NN_<name>/``) in the tutorial bucket (never other keys: on AWS the bucket is shared).
Resources without the tutorial's tags are never touched, so the same call is safe in an AWS
account that holds other work.

Autoscaling policies and targets and the CloudWatch alarms on those endpoints go first. AWS does
not require that order: DeleteEndpoint deregisters an endpoint's scalable targets itself when the
caller may call DeregisterScalableTarget ("Delete endpoints configured for auto scaling", SageMaker
developer guide), and deregistering a target deletes its policies. But without that permission
the caller must deregister first, and an alarm a notebook created itself (notebook 05's, for a
step-scaling policy) would stay; deleting them explicitly leaves nothing behind either way.

Transform jobs cannot be deleted on SageMaker (their names stay taken), so running ones are
stopped and finished ones are left as they are.

CloudWatch Logs go last. SageMaker does not delete an endpoint's log group
(``/aws/sagemaker/Endpoints/<name>``) with the endpoint, and a log group keeps (and bills for)
its events until they expire, by default never; so once the endpoints are gone their log groups
are deleted. Transform jobs all write to one group, ``/aws/sagemaker/TransformJobs``, shared with
every other job in the account and region: only the streams of the tagged jobs (``<job>/...``)
are deleted, never the group (see :mod:`utils.endpoint_logs`).

A lesson that deletes some resources by name before its end (an endpoint it is done with) calls
:func:`delete_endpoint_resources`, which skips what is already gone and, given the logs client,
deletes the endpoints' log groups too.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from utils.billing import current_costs, format_usd
from utils.endpoint_logs import (
    TRANSFORM_JOBS_LOG_GROUP,
    delete_endpoint_log_groups,
    delete_log_streams,
    transform_job_log_streams,
)
from utils.endpoint_status import endpoint_not_found, wait_for_endpoint
from utils.polling import poll_seconds
from utils.progress import LiveWait, announce_aws_wait
from utils.session import PROJECT_TAG, Tutorial

# How often to poll while endpoints are deleted: the local SageMaker deletes in milliseconds,
# AWS takes minutes (the AWS path against a server on this machine, the AWS rehearsal's stand-in,
# polls at most every quarter of a second: utils.polling.poll_seconds).
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
    #: Tagged SNS topics (ARNs) and SQS queues (URLs): asynchronous inference notifications.
    topics: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    #: Streams of the tagged transform jobs (running or ended) in ``/aws/sagemaker/TransformJobs``.
    job_log_streams: list[str] = field(default_factory=list)
    #: Log groups deleted with the endpoints (filled by :func:`cleanup`: an endpoint's group is
    #: deleted once the endpoint is gone, and only a group that exists is counted).
    log_groups: list[str] = field(default_factory=list)
    #: The ``notebook`` tag of each endpoint, configuration, model and transform job found.
    notebook_of: dict[str, str] = field(default_factory=dict)

    def count(self) -> int:
        return sum(
            len(v)
            for v in (
                self.endpoints, self.endpoint_configs, self.models, self.scalable_targets,
                self.alarms, self.s3_keys, self.topics, self.queues, self.job_log_streams,
                self.log_groups,
            )
        )


def _notebook_tag(tags: list[dict[str, str]], notebook: str | None) -> str | None:
    """The resource's ``notebook`` tag if it is the tutorial's (and ``notebook``'s), else None."""
    values = {t["Key"]: t["Value"] for t in tags}
    if values.get("project") != PROJECT_TAG:
        return None
    if notebook is not None and values.get("notebook") != notebook:
        return None
    return values.get("notebook", "?")


def _tags_of(sm: Any, arn: str) -> list[dict[str, str]]:
    """The resource's tags; none if it disappeared since it was listed (an endpoint that finished
    deleting between ListEndpoints and ListTags is gone, not an error)."""
    try:
        return sm.list_tags(ResourceArn=arn).get("Tags", [])
    except sm.exceptions.ClientError as err:
        if err.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
            return []
        raise


def _tagged(
    sm: Any, operation: str, key: str, name_key: str, arn_key: str, notebook: str | None,
    notebook_of: dict[str, str],
) -> list[str]:
    """Names of the resources listed by ``operation`` that carry the tutorial's tags."""
    names = []
    for page in sm.get_paginator(operation).paginate():
        for item in page[key]:
            tag = _notebook_tag(_tags_of(sm, item[arn_key]), notebook)
            if tag is not None:
                names.append(item[name_key])
                notebook_of[item[name_key]] = tag
    return names


def find_tagged(tut: Tutorial, notebook: str | None = None) -> Found:
    """Everything carrying the tutorial's tags (and ``notebook``'s, unless it is None)."""
    sm = tut.sagemaker
    tags: dict[str, str] = {}
    found = Found(
        endpoints=_tagged(
            sm, "list_endpoints", "Endpoints", "EndpointName", "EndpointArn", notebook, tags
        ),
        endpoint_configs=_tagged(
            sm, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName",
            "EndpointConfigArn", notebook, tags,
        ),
        models=_tagged(sm, "list_models", "Models", "ModelName", "ModelArn", notebook, tags),
        transform_jobs=_tagged_transform_jobs(tut, notebook, tags, status="InProgress"),
        notebook_of=tags,
    )
    found.scalable_targets = _scalable_targets(tut, found.endpoints)
    found.alarms = _alarms(tut, found.endpoints)
    found.topics = _tagged_topics(tut, notebook)
    found.queues = _tagged_queues(tut, notebook)
    found.job_log_streams = [
        stream
        for job in _tagged_transform_jobs(tut, notebook, tags)
        for stream in transform_job_log_streams(tut.logs, job)
    ]
    # Objects only for the whole tutorial (notebook 08): a notebook's own clean-up keeps its
    # uploads and outputs, which are free records to look at later and cost cents on AWS.
    found.s3_keys = _tutorial_objects(tut, None) if notebook is None else []
    return found


def _tagged_topics(tut: Tutorial, notebook: str | None) -> list[str]:
    """SNS topics carrying the tutorial's tags (notebook 05's notifications)."""
    sns = tut.sns
    arns = []
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            try:
                tags = sns.list_tags_for_resource(ResourceArn=topic["TopicArn"]).get("Tags", [])
            except sns.exceptions.ClientError:
                continue  # deleted since it was listed, or not ours to read
            if _notebook_tag(tags, notebook) is not None:
                arns.append(topic["TopicArn"])
    return arns


def _tagged_queues(tut: Tutorial, notebook: str | None) -> list[str]:
    """SQS queues carrying the tutorial's tags (notebook 05's notification inbox)."""
    sqs = tut.client("sqs")
    urls = []
    for page in sqs.get_paginator("list_queues").paginate():
        for url in page.get("QueueUrls", []):
            try:
                tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
            except sqs.exceptions.ClientError:
                continue
            if _notebook_tag([{"Key": k, "Value": v} for k, v in tags.items()], notebook):
                urls.append(url)
    return urls


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


def _tagged_transform_jobs(
    tut: Tutorial, notebook: str | None, notebook_of: dict[str, str], status: str | None = None
) -> list[str]:
    """Tagged transform jobs (with ``status``, only those in it: jobs stay listed after they end)."""
    sm = tut.sagemaker
    if not hasattr(sm, "list_transform_jobs"):
        return []
    names = []
    try:
        filters = {"StatusEquals": status} if status else {}
        for page in sm.get_paginator("list_transform_jobs").paginate(**filters):
            for job in page["TransformJobSummaries"]:
                tag = _notebook_tag(_tags_of(sm, job["TransformJobArn"]), notebook)
                if tag is not None:
                    names.append(job["TransformJobName"])
                    notebook_of[job["TransformJobName"]] = tag
    except sm.exceptions.ClientError as err:
        # A backend without transform jobs answers with an unknown-operation error: nothing to stop.
        if err.response["Error"]["Code"] not in ("UnknownOperationException", "InvalidAction"):
            raise
    return names


def _job_notebook(tut: Tutorial, job: str, notebook: str | None) -> str | None:
    """The ``notebook`` tag of a transform job (jobs stay listed after they end), or None."""
    sm = tut.sagemaker
    try:
        arn = sm.describe_transform_job(TransformJobName=job)["TransformJobArn"]
    except sm.exceptions.ClientError:
        return None
    return _notebook_tag(_tags_of(sm, arn), notebook)


def cost_report(tut: Tutorial, found: Found | None = None, notebook: str | None = None) -> str:
    """What the tutorial's resources have cost so far: one aligned row per resource, by notebook.

    Rows: every tagged endpoint that exists now (``found``, or :func:`find_tagged` for
    ``notebook``; instance-seconds, or requests and GB-seconds for serverless) and every metered
    transform job that carries the tags (jobs stay in the history after they end). Endpoints
    already deleted have lost their tags, so they are summed on one line (each notebook's
    clean-up printed its own); only for the whole tutorial, since they cannot be told apart.
    Locally the meter counts what AWS would bill; on AWS the running instance endpoints are
    estimated and serverless requests, jobs and deleted endpoints are on the bill only.
    """
    found = found if found is not None else find_tagged(tut, notebook)
    snapshot = current_costs(tut)
    rows: list[tuple[str, str, str, str, float | None]] = []  # notebook, kind, name, usage, USD
    for name in found.endpoints:
        instances = [r for r in snapshot["Endpoints"] if r["EndpointName"] == name]
        serverless = [r for r in snapshot.get("Serverless", []) if r["EndpointName"] == name]
        if instances:
            count = sum(r["InstanceCount"] for r in instances if r["Running"])
            seconds = sum(r["InstanceSeconds"] for r in instances)
            usd = None if any(r["CostUsd"] is None for r in instances) else sum(
                r["CostUsd"] for r in instances
            )
            usage = f"{count} × {instances[-1]['InstanceType']} now, {seconds:,.1f} instance-s"
            rows.append((found.notebook_of.get(name, "?"), "endpoint", name, usage, usd))
        for row in serverless:
            usage = (
                f"{row['MemorySizeInMB'] // 1024} GB, {row['Requests']} requests, "
                f"{row['ComputeGbSeconds']:,.2f} GB-s"
            )
            rows.append((found.notebook_of.get(name, "?"), "serverless", name, usage, row["CostUsd"]))
        if not instances and not serverless:
            rows.append((found.notebook_of.get(name, "?"), "endpoint", name, "not metered", None))
    for row in snapshot.get("TransformJobs", []):
        tag = _job_notebook(tut, row["TransformJobName"], notebook)
        if tag is not None:
            state = "running" if row["Running"] else "ended"
            usage = (
                f"{row['InstanceCount']} × {row['InstanceType']} {state}, "
                f"{row['InstanceSeconds']:,.1f} instance-s"
            )
            rows.append((tag, "transform job", row["TransformJobName"], usage, row["CostUsd"]))
    listed = {r[2] for r in rows}
    deleted = [
        r for r in [*snapshot["Endpoints"], *snapshot.get("Serverless", [])]
        if r["EndpointName"] not in listed
    ]
    where = "metered locally, as AWS would bill it" if tut.is_local else "estimated: running instances only"
    if not rows and not (deleted and notebook is None):
        return f"Nothing tagged is running or metered ({where})."
    header = ("notebook", "kind", "resource", "usage", "cost")
    table = [header, *[(nb, kind, name, usage, format_usd(usd)) for nb, kind, name, usage, usd in
                       sorted(rows, key=lambda r: (r[0], r[1], r[2]))]]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = [f"What it cost so far ({where}):"]
    previous = None
    for i, (nb, kind, name, usage, cost) in enumerate(table):
        shown = nb if nb != previous or i == 0 else ""
        previous = nb
        lines.append(
            f"{shown:<{widths[0]}}  {kind:<{widths[1]}}  {name:<{widths[2]}}  "
            f"{usage:<{widths[3]}}  {cost}".rstrip()
        )
    total = sum(r[4] or 0.0 for r in rows)
    if deleted and notebook is None:
        gone = sum(r["CostUsd"] or 0.0 for r in deleted)
        total += gone
        names = {r["EndpointName"] for r in deleted}
        lines.append(
            f"and {len(names)} endpoints already deleted, each costed by its notebook's clean-up: "
            f"{format_usd(gone)}"
        )
    lines.append(f"total: {format_usd(total)}")
    return "\n".join(lines)


#: Answers "yes" to :func:`confirm_deletion` where nobody can be asked (a kernel without input).
CONFIRM_SETTING = "HANDSON_CONFIRM_DELETE"


def confirm_deletion(tut: Tutorial, found: Found, ask: Any = input) -> bool:
    """Whether to delete ``found``: locally yes; on AWS the learner is asked first.

    A kernel that cannot ask (run by a script or a test, not opened in JupyterLab) would block
    or fail on ``input()``; there the answer comes from ``HANDSON_CONFIRM_DELETE=yes`` and is
    otherwise no, and the printed line says which.
    """
    from IPython.core.error import StdinNotImplementedError

    if tut.is_local:
        print("local backend: deleting without asking")
        return True
    question = f"Delete these {found.count()} resources in AWS account {tut.account}? [y/N] "
    try:
        answer = ask(question)
    except (StdinNotImplementedError, EOFError):
        answer = os.environ.get(CONFIRM_SETTING, "")
        print(f"{question}(nobody to ask: {CONFIRM_SETTING}={answer or 'unset'})")
    confirmed = answer.strip().lower() in ("y", "yes")
    print("deleting" if confirmed else "nothing deleted")
    return confirmed


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
    for arn in found.topics:
        tut.sns.delete_topic(TopicArn=arn)
    for url in found.queues:
        tut.client("sqs").delete_queue(QueueUrl=url)
    for start in range(0, len(found.s3_keys), 1000):
        chunk = found.s3_keys[start : start + 1000]
        tut.s3.delete_objects(
            Bucket=tut.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
        )
    # last: the endpoints are gone, so no instance writes to these any more
    found.log_groups = delete_endpoint_log_groups(tut.logs, found.endpoints)
    found.job_log_streams = delete_log_streams(
        tut.logs, TRANSFORM_JOBS_LOG_GROUP, found.job_log_streams
    )
    if not quiet:
        print(_summary(found, spent, everything, tut))


def _delete_scaling_and_alarms(tut: Tutorial, found: Found) -> None:
    """Scaling policies and targets, then alarms: before the endpoints, so nothing of them stays.

    DeleteEndpoint would deregister the targets itself on AWS (given permission), but not their
    alarms, and not without the permission; deleting explicitly works for every caller.
    """
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
    limit = _DELETE_TIMEOUT_SECONDS[tut.backend]
    if endpoints:
        announce_aws_wait(tut, "deleting endpoints", "a few minutes", limit)
    deadline = time.monotonic() + limit
    pending = list(endpoints)
    # locally a second; on AWS minutes
    with LiveWait("deleting endpoints", print, mode=None if tut.is_local else "auto") as live:
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
                    live.end(f"{len(pending)} endpoint(s) still deleting: stopped waiting")
                    raise TimeoutError(f"endpoints still deleting: {', '.join(pending)}")
                live.update(f"{len(endpoints) - len(pending)} of {len(endpoints)} gone")
                live.sleep(poll_seconds(_POLL_SECONDS[tut.backend], sm))
        live.end(f"{len(endpoints)} endpoint(s) deleted")


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
        ("SNS topics", found.topics),
        ("SQS queues", found.queues),
        ("S3 objects", found.s3_keys),
        ("log groups", found.log_groups),
        ("job log streams", found.job_log_streams),
    ):
        if names:
            lines.append(f"  {label:<17}: {len(names)}")
    if spent is not None:
        rows = [*spent["Endpoints"], *spent.get("Serverless", [])]
        total = sum(r["CostUsd"] or 0.0 for r in rows if r["EndpointName"] in found.endpoints)
        where = "metered locally, as AWS would bill it" if tut.is_local else "estimated"
        lines.append(f"  cost of those endpoints: {format_usd(total)} ({where})")
    return "\n".join(lines)


def delete_endpoint_resources(
    sm: Any,
    endpoints: Iterable[str] = (),
    endpoint_configs: Iterable[str] = (),
    models: Iterable[str] = (),
    wait: bool = True,
    logs: Any = None,
) -> list[str]:
    """Delete endpoints, then their configurations, then models; skip what is already gone.

    Returns what was deleted, as ``kind name`` lines. With ``wait`` it also waits until the
    endpoints are gone, so their instances (and their cost) have stopped. With ``logs`` (a
    CloudWatch Logs client; it needs ``wait``) it then deletes the endpoints' log groups, which
    SageMaker keeps after the endpoint.
    """
    if logs is not None and not wait:
        raise ValueError("deleting the log groups needs wait=True: a running instance still logs")
    deleted: list[str] = []
    endpoints = list(endpoints)
    calls = (
        ("endpoint", endpoints, lambda n: sm.delete_endpoint(EndpointName=n)),
        (
            "endpoint config",
            list(endpoint_configs),
            lambda n: sm.delete_endpoint_config(EndpointConfigName=n),
        ),
        ("model", list(models), lambda n: sm.delete_model(ModelName=n)),
    )
    for kind, names, delete in calls:
        for name in names:
            try:
                delete(name)
            except Exception as error:
                if endpoint_not_found(error):
                    continue
                raise
            deleted.append(f"{kind} {name}")
    if wait:
        for name in endpoints:
            wait_for_endpoint(sm, name, until="Deleted", show=None)
    if logs is not None:
        deleted += [f"log group {group}" for group in delete_endpoint_log_groups(logs, endpoints)]
    return deleted
