"""Transform jobs: CreateTransformJob, DescribeTransformJob, ListTransformJobs, StopTransformJob.

State and transitions live here; the work is done by :class:`.runner.TransformRunner` on a
background thread of the gateway, so every call answers at once, as on AWS:

* CreateTransformJob -> ``InProgress`` -> ``Completed``, or ``Failed`` with a FailureReason;
* StopTransformJob on an ``InProgress`` job -> ``Stopping`` -> ``Stopped`` (no output is kept);
* a job is never deleted (there is no DeleteTransformJob), so its name stays taken
  (amazon-sagemaker-examples#633); the record is saved and survives a restart (:mod:`..state`).

Request validation is the transform library's (:func:`validate_create_transform_job`: the
botocore model plus the cross-field rules); the model must exist (``Could not find model``).

The texts live in :data:`MESSAGES`, each with its FIDELITY marker (``docs/fidelity.md``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...core.errors import AwsError, validation
from ...core.messages import arn, instance_quota_exceeded
from ...core.settings import max_instances, startup_health_timeout
from ..endpoints.deployment import Deployer, fetch_model
from ..endpoints.registry import Registry
from ..meter.cost_meter import CostMeter
from ..telemetry.logs import LogStreamCreator
from .assembly import no_input_objects, objects_for_prefix, parse_s3_uri
from .read_ahead import CallHolder, hold_nothing
from .runner import JobProgress, RunnerContext, TransformRunner
from .validation import TransformJobSpec, transform_spec

MESSAGES = {
    # FIDELITY transform.duplicate-name UNCONFIRMED: CreateTransformJob with a name already used
    #   local: ResourceInUse "Transform job names must be unique within an AWS account and
    #     region, and a transform job with this name already exists (<arn>)"
    #   why: ResourceInUse is the error the API reference lists for it; the sentence is the one
    #     AWS gives for training jobs (quoted by users), with "transform" for "training".
    #   notice: the message wording can differ on AWS; the rule is the same (a name stays taken
    #     for good, amazon-sagemaker-examples#633).
    "duplicate": (
        "Transform job names must be unique within an AWS account and region, and a transform "
        "job with this name already exists ({arn})"
    ),
    # FIDELITY transform.not-found CONFIRMED: DescribeTransformJob or StopTransformJob for an unknown name
    #   local: ValidationException "Could not find requested job with name <name>"
    #   source: aws-controllers-k8s/sagemaker-controller (generator.yaml) recognises a missing
    #     transform job by ValidationException and the prefix "Could not find requested job with
    #     name".
    "not_found": "Could not find requested job with name {name}",
    # FIDELITY transform.stop-ended-job UNCONFIRMED: StopTransformJob on a job that has ended
    #   local: ValidationException "The request was rejected because the transform job is in
    #     status <status>."
    #   why: AWS refuses to stop an ended job; its sentence is not on record.
    #   notice: the message wording can differ on AWS.
    "not_running": ("The request was rejected because the transform job is in status {status}."),
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
    """The account's transform jobs, beside the :class:`Registry` (models, tags)."""

    def __init__(
        self,
        registry: Registry,
        deployer: Deployer,
        ensure_log_stream: LogStreamCreator,
        meter: CostMeter,
        flush_logs: Callable[[], object] = lambda: True,
        hold_calls: CallHolder = hold_nothing,
    ) -> None:
        self.registry = registry
        #: The call log's hold (see :mod:`.read_ahead`).
        self.hold_calls = hold_calls
        self.deployer = deployer
        self.ensure_log_stream = ensure_log_stream
        #: Waits until every log line queued so far reached CloudWatch Logs: a job's last lines
        #: are there when it is seen ended, so deleting its streams then leaves them deleted.
        self.flush_logs = flush_logs
        self.meter = meter
        self.lock = threading.RLock()
        self.jobs: dict[str, TransformJob] = {}
        self._closed = False

    # -- operations ---------------------------------------------------------------------------

    def create(self, request: dict[str, Any]) -> TransformJob:
        """CreateTransformJob on a request that fits the botocore model (the wire checked it)."""
        spec = transform_spec(request)
        name = spec.name
        model = self.registry.get_model(spec.model_name)
        container = (
            model.request.get("PrimaryContainer") or (model.request.get("Containers") or [{}])[0]
        )
        role = str(model.request.get("ExecutionRoleArn") or "")
        if spec.s3_data_type == "S3Prefix" and not self._has_input(spec.s3_uri):
            raise validation(no_input_objects(spec.s3_uri, role))
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
            self.registry.set_tags(job.arn, list(request.get("Tags") or []))
        self._launch(job, container, role)
        return job

    def _launch(self, job: TransformJob, container: dict[str, Any], role: str) -> None:
        """Start the job's runner on a background thread."""
        name = job.name
        stored = job.request
        spec = job.spec
        deployer = self.deployer
        work_dir = deployer.state_dir / "transform-jobs" / name.lower()

        def fetch(url: str | None, model_dir: Path) -> None:
            fetch_model(deployer.s3_client, url, model_dir)

        ctx = RunnerContext(
            s3_client=deployer.s3_client,
            log_sink=deployer.log_sink,
            ensure_log_stream=self.ensure_log_stream,
            instance_env=dict(deployer.instance_env),
            work_dir=work_dir,
            fetch_model=fetch,
            instances_started=lambda fleet: self.meter.transform_job_started(
                job.name, fleet.instance_type, len(fleet.instances)
            ),
            instances_stopped=lambda _fleet, ended: self.meter.transform_job_stopped(
                job.name, ended
            ),
            startup_timeout=startup_health_timeout(),
            hold_calls=self.hold_calls,
        )
        job.runner = TransformRunner(spec, stored, container, role, ctx, job.progress)
        threading.Thread(
            target=self._run, args=(job,), name=f"transform-{name}", daemon=True
        ).start()

    def _has_input(self, s3_uri: str) -> bool:
        """Whether an S3Prefix data source names at least one object (AWS checks at create)."""
        bucket, prefix = parse_s3_uri(s3_uri)
        try:
            pages = self.deployer.s3_client().get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            )
            return any(
                objects_for_prefix((o["Key"] for o in page.get("Contents", [])), s3_uri)
                for page in pages
            )
        except Exception:  # no such bucket, or it cannot be listed: AWS's text covers both
            return False

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

    def all(self) -> list[TransformJob]:
        """Every job (their fields change under :attr:`lock`)."""
        with self.lock:
            return list(self.jobs.values())

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

    # -- saved state (services/state) ---------------------------------------------------------

    def export_state(self) -> list[dict[str, Any]]:
        """Every job as JSON-ready data (:meth:`restore_state` reads it back)."""
        with self.lock:
            jobs = list(self.jobs.values())
            return [
                {
                    "name": job.name,
                    "request": job.request,
                    "status": job.status,
                    "creation_time": job.creation_time,
                    "last_modified_time": job.last_modified_time,
                    "failure_reason": job.failure_reason,
                    "start_time": job.start_time,
                    "end_time": job.end_time,
                    "progress": job.progress.snapshot(),
                }
                for job in jobs
            ]

    def restore_state(self, records: list[dict[str, Any]], notes: list[str]) -> None:
        """Bring back the jobs :meth:`export_state` saved.

        An ended job comes back as it ended. A job that was running starts again from the
        beginning (its output objects are written again); one being stopped is Stopped.
        """
        # FIDELITY transform.restart-reruns UNCONFIRMED: transform jobs running when the local SageMaker stops
        #   local: a job that was InProgress is run again from the start when the local SageMaker
        #     starts (same name, same creation time; its outputs are written again); one that was
        #     Stopping is Stopped.
        #   why: on AWS the job keeps running while your machine is off; locally nothing runs
        #     then, so running it again is the closest to "it finishes".
        #   notice: a job interrupted by a restart takes longer locally, and its TransformStartTime
        #     is the time it started again.
        for raw in records:
            try:
                request = dict(raw["request"])
                job = TransformJob(
                    str(raw["name"]),
                    arn("transform-job", str(raw["name"])),
                    request,
                    transform_spec(request),
                    str(raw["status"]),
                    float(raw["creation_time"]),
                    float(raw["last_modified_time"]),
                    raw.get("failure_reason"),
                    raw.get("start_time"),
                    raw.get("end_time"),
                )
                job.progress.restore(dict(raw.get("progress") or {}))
            except (KeyError, TypeError, ValueError, AwsError) as exc:
                notes.append(f"transform job {raw.get('name')!r} could not be restored: {exc!r}")
                continue
            restart = job.status == "InProgress"
            if job.status == "Stopping":
                job.status = "Stopped"
                job.end_time = job.end_time or job.last_modified_time
            with self.lock:
                self.jobs[job.name.lower()] = job
            if not restart:
                job.done.set()
                continue
            job.start_time = None
            job.progress = JobProgress()
            try:
                model = self.registry.get_model(job.spec.model_name)
            except AwsError as exc:
                with self.lock:
                    job.status = "Failed"
                    job.failure_reason = exc.message
                    job.end_time = job.last_modified_time = time.time()
                job.done.set()
                continue
            container = (
                model.request.get("PrimaryContainer")
                or (model.request.get("Containers") or [{}])[0]
            )
            self._launch(job, container, str(model.request.get("ExecutionRoleArn") or ""))

    # -- internals ----------------------------------------------------------------------------

    def _check_quota(self, spec: TransformJobSpec) -> None:
        limit = max_instances()
        current = sum(
            j.spec.instance_count
            for j in self.jobs.values()
            if j.status not in TERMINAL and j.spec.instance_type == spec.instance_type
        )
        if current + spec.instance_count > limit:
            raise instance_quota_exceeded(
                "transform job usage", spec.instance_type, limit, current, spec.instance_count
            )

    def _run(self, job: TransformJob) -> None:
        def started() -> None:
            with self.lock:
                job.start_time = time.time()

        assert job.runner is not None
        try:
            outcome = job.runner.run(started)
            self.flush_logs()
            with self.lock:
                if job.status == "Stopping" or outcome.status == "Stopped":
                    job.status = "Stopped"
                    job.failure_reason = None
                else:
                    job.status = outcome.status
                    job.failure_reason = outcome.failure_reason
                now = time.time()
                job.end_time = job.runner.ended or now  # the work's end (see the runner)
                job.last_modified_time = now
                if job.start_time is None:
                    job.start_time = job.end_time
        finally:
            job.done.set()
