"""The control plane's transform-job operations, in botocore shapes.

Behaviour is the transform jobs service's (:mod:`...services.transform.jobs`); this module reads
the (already validated) parameters and writes DescribeTransformJobResponse and
TransformJobSummary as botocore defines them.
"""

from __future__ import annotations

from typing import Any

from ..services.transform.jobs import TransformJob
from .control_plane import ControlPlane, Handler
from .paging import filter_and_sort, page


def _describe(job: TransformJob) -> dict[str, Any]:
    """DescribeTransformJobResponse: the request as given, plus status and times."""
    request = job.request
    spec = job.spec
    out: dict[str, Any] = {
        "TransformJobName": job.name,
        "TransformJobArn": job.arn,
        "TransformJobStatus": job.status,
        "ModelName": spec.model_name,
        "MaxPayloadInMB": spec.max_payload_mb,
        "ModelClientConfig": {
            "InvocationsTimeoutInSeconds": spec.invocations_timeout_seconds,
            "InvocationsMaxRetries": spec.invocations_max_retries,
        },
        "TransformInput": request["TransformInput"],
        "TransformOutput": request["TransformOutput"],
        "TransformResources": request["TransformResources"],
        "CreationTime": job.creation_time,
    }
    if job.failure_reason:
        out["FailureReason"] = job.failure_reason
    for key in (
        "MaxConcurrentTransforms",
        "BatchStrategy",
        "Environment",
        "DataProcessing",
        "DataCaptureConfig",
        "ExperimentConfig",
    ):
        value = request.get(key)
        if value not in (None, {}, []):
            out[key] = value
    if job.start_time is not None:
        out["TransformStartTime"] = job.start_time
    if job.end_time is not None:
        out["TransformEndTime"] = job.end_time
    return out


def _summary(job: TransformJob) -> dict[str, Any]:
    """TransformJobSummary, as ListTransformJobs returns it."""
    out: dict[str, Any] = {
        "TransformJobName": job.name,
        "TransformJobArn": job.arn,
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "TransformJobStatus": job.status,
    }
    if job.end_time is not None:
        out["TransformEndTime"] = job.end_time
    if job.failure_reason:
        out["FailureReason"] = job.failure_reason
    return out


def create_transform_job(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return {"TransformJobArn": cp.transform_jobs.create(p).arn}


def describe_transform_job(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    job = cp.transform_jobs.get(p["TransformJobName"])
    with cp.transform_jobs.lock:
        return _describe(job)


def stop_transform_job(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    cp.transform_jobs.stop(p["TransformJobName"])
    return {}


def list_transform_jobs(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    with cp.transform_jobs.lock:
        items = [_summary(job) for job in cp.transform_jobs.all()]
    items = filter_and_sort(items, p, "TransformJobName", "TransformJobStatus")
    return page(items, p, "TransformJobSummaries")


OPERATIONS: dict[str, Handler] = {
    "CreateTransformJob": create_transform_job,
    "DescribeTransformJob": describe_transform_job,
    "ListTransformJobs": list_transform_jobs,
    "StopTransformJob": stop_transform_job,
}
