"""Transform jobs: CreateTransformJob, DescribeTransformJob, ListTransformJobs, StopTransformJob.

State and transitions live here; the work is done by :class:`..transform.runner.TransformRunner`
on a background thread of the gateway, so every call answers at once, as on AWS:

* CreateTransformJob -> ``InProgress`` -> ``Completed``, or ``Failed`` with a FailureReason;
* StopTransformJob on an ``InProgress`` job -> ``Stopping`` -> ``Stopped`` (no output is kept);
* a job is never deleted (there is no DeleteTransformJob), so its name stays taken
  (amazon-sagemaker-examples#633); the record lives as long as the local SageMaker process.

Request validation is the transform library's (:func:`validate_create_transform_job`: the
botocore model plus the cross-field rules); the model must exist (``Could not find model``).

Texts that could not be confirmed against real AWS output (UNCONFIRMED, kept in
:data:`MESSAGES` so they are easy to change):

* duplicate name: ``ResourceInUse`` (the error the API reference lists for CreateTransformJob)
  with the wording AWS uses for duplicate *training* job names;
* unknown job: ``ValidationException`` (the error the ``TransformJobCompletedOrStopped``
  waiter treats as failure) with the wording SageMaker uses for other unknown jobs;
* stopping a job that has ended.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import config
from ..errors import AwsError, resource_limit, validation
from ..fleet import VariantFleet
from ..transform import TransformJobSpec, TransformValidationError, validate_create_transform_job
from ..transform.runner import LOG_GROUP, JobProgress, RunnerContext, TransformRunner
from .resources import Registry, arn

MESSAGES = {
    # UNCONFIRMED: modelled on "Training job names must be unique within an AWS account and
    # region, and a training job with this name already exists (<arn>)".
    "duplicate": (
        "Transform job names must be unique within an AWS account and region, and a transform "
        "job with this name already exists ({arn})"
    ),
    # UNCONFIRMED.
    "not_found": "Could not find requested job with name {name}",
    # UNCONFIRMED.
    "not_running": ("The request was rejected because the transform job is in status {status}."),
    # UNCONFIRMED: the quota name follows AWS's "<type> for transform job usage".
    "quota": (
        "The account-level service limit '{itype} for transform job usage' is {limit} "
        "Instances, with current utilization of {current} Instances and a request delta of "
        "{delta} Instances. Please use AWS Service Quotas to request an increase for this "
        "quota. If AWS Service Quotas is not available, contact AWS support to request an "
        "increase for this quota."
    ),
}

TERMINAL = ("Completed", "Failed", "Stopped")


@dataclass
class TransformJob:
    name: str
    arn: str
    request: dict[str, Any]
    spec: TransformJobSpec
    status: str
    creation_time: float
    last_modified_time: float
    failure_reason: str | None = None
    start_time: float | None = None
    end_time: float | None = None
    progress: JobProgress = field(default_factory=JobProgress)
    runner: TransformRunner | None = None
    done: threading.Event = field(default_factory=threading.Event)


class TransformJobs:
    """The account's transform jobs, beside the :class:`Registry` (models, tags, hooks)."""

    def __init__(self, registry: Registry, meter: Any = None) -> None:
        self.registry = registry
        self.meter = meter
        self.lock = threading.RLock()
        self.jobs: dict[str, TransformJob] = {}
        self._closed = False

    # -- operations ---------------------------------------------------------------------------

    def create(self, request: dict[str, Any]) -> TransformJob:
        try:
            spec = validate_create_transform_job(request)
        except TransformValidationError as err:
            raise AwsError(err.code, err.message) from None
        name = spec.name
        model = self.registry.get_model(spec.model_name)
        container = (
            model.request.get("PrimaryContainer") or (model.request.get("Containers") or [{}])[0]
        )
        with self.lock:
            if self._closed:
                raise AwsError("ServiceUnavailable", "The local SageMaker is shutting down.", 503)
            if name.lower() in self.jobs:
                job_arn = arn("transform-job", name)
                raise AwsError("ResourceInUse", MESSAGES["duplicate"].format(arn=job_arn))
            self._check_quota(spec)
            now = time.time()
            stored = {k: v for k, v in request.items() if k != "Tags"}
            job = TransformJob(
                name, arn("transform-job", name), stored, spec, "InProgress", now, now
            )
            self.jobs[name.lower()] = job
            with self.registry.lock:
                self.registry.tags[job.arn] = list(request.get("Tags") or [])
        hooks = self.registry.hooks
        work_dir = hooks.state_dir / "transform-jobs" / name.lower()

        def fetch(url: str | None, model_dir: Any) -> None:
            self.registry._fetch_model(url, model_dir)

        ctx = RunnerContext(
            s3_client=hooks.s3_client,
            log_sink=hooks.log_sink,
            ensure_log_stream=hooks.ensure_log_group,
            instance_env=dict(hooks.instance_env),
            work_dir=work_dir,
            fetch_model=fetch,
            instances_started=lambda fleet: self._metered(job, fleet, True),
            instances_stopped=lambda fleet: self._metered(job, fleet, False),
            startup_timeout=config.startup_health_timeout(),
        )
        job.runner = TransformRunner(spec, stored, container, ctx, job.progress)
        threading.Thread(
            target=self._run, args=(job,), name=f"transform-{name}", daemon=True
        ).start()
        return job

    def get(self, name: str) -> TransformJob:
        with self.lock:
            job = self.jobs.get(name.lower())
        if job is None:
            raise validation(MESSAGES["not_found"].format(name=name))
        return job

    def stop(self, name: str) -> None:
        with self.lock:
            job = self.get(name)
            if job.status in ("Stopping", "Stopped"):
                return  # idempotent, like StopEndpoint-style calls on AWS
            if job.status != "InProgress":
                raise validation(MESSAGES["not_running"].format(status=job.status))
            job.status = "Stopping"
            job.last_modified_time = time.time()
            runner = job.runner
        if runner is not None:
            # Stopping instances may take a moment; never make the API call wait for it.
            threading.Thread(target=runner.stop, name=f"stop-{name}", daemon=True).start()

    def describe(self, name: str) -> dict[str, Any]:
        job = self.get(name)
        with self.lock:
            return describe(job)

    def summaries(self) -> list[dict[str, Any]]:
        with self.lock:
            return [summary(job) for job in self.jobs.values()]

    def progress(self, name: str) -> dict[str, Any]:
        """The local-only view: status plus objects/records done (``/_local/transform-jobs``)."""
        job = self.get(name)
        with self.lock:
            out = {"TransformJobName": job.name, "TransformJobStatus": job.status}
        out.update(job.progress.snapshot())
        return out

    def shutdown(self, timeout: float = 10.0) -> None:
        """Gateway shutdown: stop every running job and wait (bounded) for its thread."""
        with self.lock:
            self._closed = True
            running = [j for j in self.jobs.values() if j.status not in TERMINAL]
        for job in running:
            if job.runner is not None:
                job.runner.stop()
        deadline = time.monotonic() + timeout
        for job in running:
            job.done.wait(max(0.0, deadline - time.monotonic()))

    # -- internals ----------------------------------------------------------------------------

    def _check_quota(self, spec: TransformJobSpec) -> None:
        limit = int(os.environ.get("LOCAL_SAGEMAKER_MAX_INSTANCES", "8"))
        current = sum(
            j.spec.instance_count
            for j in self.jobs.values()
            if j.status not in TERMINAL and j.spec.instance_type == spec.instance_type
        )
        if current + spec.instance_count > limit:
            raise resource_limit(
                MESSAGES["quota"].format(
                    itype=spec.instance_type,
                    limit=limit,
                    current=current,
                    delta=spec.instance_count,
                )
            )

    def _metered(self, job: TransformJob, fleet: VariantFleet, started: bool) -> None:
        if self.meter is None:
            return
        if started:
            self.meter.transform_job_started(job.name, fleet.instance_type, len(fleet.instances))
        else:
            self.meter.transform_job_stopped(job.name)

    def _run(self, job: TransformJob) -> None:
        def started() -> None:
            with self.lock:
                job.start_time = time.time()

        assert job.runner is not None
        try:
            outcome = job.runner.run(started)
            with self.lock:
                if job.status == "Stopping" or outcome.status == "Stopped":
                    job.status = "Stopped"
                    job.failure_reason = None
                else:
                    job.status = outcome.status
                    job.failure_reason = outcome.failure_reason
                now = time.time()
                job.end_time = now
                job.last_modified_time = now
                if job.start_time is None:
                    job.start_time = now
        finally:
            job.done.set()


# -- serialisation (botocore output shapes) -----------------------------------------------------


def describe(job: TransformJob) -> dict[str, Any]:
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


def summary(job: TransformJob) -> dict[str, Any]:
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


def _jobs(reg: Registry) -> TransformJobs:
    jobs: TransformJobs | None = getattr(reg, "transform_jobs", None)
    if jobs is None:
        raise AwsError("UnknownOperationException", "Transform jobs are not available.")
    return jobs


def create_transform_job(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    return {"TransformJobArn": _jobs(reg).create(p).arn}


def describe_transform_job(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    return _jobs(reg).describe(p["TransformJobName"])


def stop_transform_job(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    _jobs(reg).stop(p["TransformJobName"])
    return {}


def list_transform_jobs(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    items = _jobs(reg).summaries()
    if p.get("NameContains"):
        items = [i for i in items if p["NameContains"] in i["TransformJobName"]]
    time_filters: tuple[tuple[str, Callable[[dict[str, Any], float], bool]], ...] = (
        ("CreationTimeBefore", lambda i, t: i["CreationTime"] < t),
        ("CreationTimeAfter", lambda i, t: i["CreationTime"] > t),
        ("LastModifiedTimeBefore", lambda i, t: i["LastModifiedTime"] < t),
        ("LastModifiedTimeAfter", lambda i, t: i["LastModifiedTime"] > t),
    )
    for key, test in time_filters:
        if p.get(key) is not None:
            bound = float(p[key])
            items = [i for i in items if test(i, bound)]
    if p.get("StatusEquals"):
        items = [i for i in items if i["TransformJobStatus"] == p["StatusEquals"]]
    sort_key = {"Name": "TransformJobName", "Status": "TransformJobStatus"}.get(
        p.get("SortBy") or "CreationTime", "CreationTime"
    )
    items.sort(key=lambda i: i[sort_key], reverse=p.get("SortOrder", "Descending") == "Descending")
    try:
        start = int(p.get("NextToken") or 0)
    except ValueError:
        raise AwsError("ValidationException", "Invalid pagination token.") from None
    size = int(p.get("MaxResults") or 10)
    out: dict[str, Any] = {"TransformJobSummaries": items[start : start + size]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out


OPERATIONS = {
    "CreateTransformJob": create_transform_job,
    "DescribeTransformJob": describe_transform_job,
    "ListTransformJobs": list_transform_jobs,
    "StopTransformJob": stop_transform_job,
}

__all__ = ["LOG_GROUP", "OPERATIONS", "TransformJob", "TransformJobs"]
