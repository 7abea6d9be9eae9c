"""Run one transform job: real worker processes, real S3 reads, ``.out`` objects written to S3.

The jobs service (:mod:`.jobs`) owns the job's status; this module does
the work, on the gateway's background thread, and reports an outcome:

1. download and extract the model (like an endpoint), start ``InstanceCount`` worker processes
   of the model's container with the batch environment ([DG:your-algorithms-batch-code]):
   ``SAGEMAKER_BATCH=true`` always, and ``SAGEMAKER_MAX_PAYLOAD_IN_MB``,
   ``SAGEMAKER_BATCH_STRATEGY`` (``SINGLE_RECORD``/``MULTI_RECORD``) and
   ``SAGEMAKER_MAX_CONCURRENT_TRANSFORMS`` only when the request set them;
2. ask each instance ``GET /execution-parameters`` for what the request left unset
   (precedence: API value, then the container's answer, then the defaults 1 / MultiRecord /
   6 MB) and log AWS's ``[sagemaker logs]: MaxConcurrentTransforms=…`` line;
3. list the input (S3Prefix or ManifestFile), assign whole objects to instances by key, and on
   each instance keep up to ``MaxConcurrentTransforms`` requests in flight (mini-batches of one
   object, then the next object; requests never mix objects). Each instance's first object is
   read from S3 while the instances start (:mod:`.read_ahead`), so its first request goes out
   as soon as the instance is up;
4. put predictions back in input order, apply DataProcessing, assemble, and upload
   ``<S3OutputPath>/<relative name>.out`` as soon as *all* of an object's requests succeeded.

Failures follow [DG:batch-transform-errors]: an object whose request fails (after
``InvocationsMaxRetries`` retries, each bounded by ``InvocationsTimeoutInSeconds``) or whose data
cannot be processed gets no ``.out`` and a few ``[sagemaker logs]`` lines in its instance's
``data-log`` stream (``/aws/sagemaker/TransformJobs``, ``<job>/<instance-id>-<epoch>/data-log``,
beside the container's own ``<job>/<instance-id>-<epoch>``); the other objects continue;
the job ends ``Failed`` with ``AlgorithmError: See job logs for more information`` (container
answers) or ``ClientError: …`` (the data or the settings).

Stopping: the stop event stops new requests, the instances and batch agents are stopped (so
in-flight requests end at once, never after a 10-minute invocation timeout), and every ``.out``
this job had already written is deleted: "When you stop a batch transform job before it is
completed, Amazon SageMaker doesn't store the job's output in Amazon S3" (StopTransformJob API
reference). Deleting outputs that were already written is how the local SageMaker honours that
(the ``transform.stop-keeps-no-output`` marker).

Speed: a job's CPU time is mostly the model's, in the instances (the handlers parse, predict
and write every record). What runs here on threads (S3 reads and uploads through the gateway,
splitting bytes, assembling, HTTP to the instances) is small beside it: for the plain job of
``benchmarks/bench_transform.py --phases`` the gateway used about one CPU-second where the two
instances used about nine, and each instance always has its next mini-batches queued (the
reading thread stays ``2 * MaxConcurrentTransforms`` requests ahead), so no instance waits for
the gateway. What held two instances to the speed of one was scheduling: every instance and
batch agent now starts a session of its own, so that Linux gives each its own share of a busy
machine rather than one share to the gateway and all its processes together (ARCHITECTURE.md,
"Instances are sessions").

The per-object data work (split, InputFilter, batch; split responses, join, OutputFilter) is
:func:`.agent.prepare` / :func:`.agent.finish`. Their quick forms run here, on the job's threads:
a job without DataProcessing only looks for record ends in the bytes (about 10 ms of CPU for a
6.5 MB object), and CSV records are filtered and joined as bytes when their bytes are what
``csv.writer`` writes (:mod:`.csv_bytes`; for an object of 25,000 of the notebooks' applications
with notebook 03's filters and join, about 65 ms of CPU to prepare and 45 ms to finish, where
parsing every record took about 300 and 200 ms in the agent, plus the copies to and from it;
the input records are kept in csv_bytes' form for the join). What the quick forms decline
(JSON, other CSV, other SplitTypes) runs in one batch agent process per instance
(:mod:`.agent`), started at the first object that needs it, because parsing and writing every
record twice on gateway threads is GIL-bound and held the whole job to one core. The agents are stopped with the instances: at
the end of the job, on StopTransformJob and on gateway shutdown (which stops every job); an
agent also exits by itself when the gateway dies (its stdin closes).
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from ...core.instance_client import InstanceUnreachable
from ...core.worker_contract import container_environment
from ..endpoints.deployment import DeployFailed
from ..fleet.instance import HealthCheckFailed, Instance
from ..fleet.instance_fleet import InstanceFleet, start_instances
from ..telemetry.logs import LogSink, LogStreamCreator
from . import agent as agent_work
from .agent import AgentError, BatchAgent
from .assembly import (
    InputObject,
    assemble,
    assign_to_instances,
    no_input_objects,
    objects_for_prefix,
    output_uri,
    parse_manifest,
    parse_s3_uri,
)
from .data_processing import DataProcessor
from .errors import TransformDataError
from .read_ahead import CallHolder, ReadAhead, hold_nothing
from .records import Batch
from .validation import DEFAULT_MAX_PAYLOAD_MB, TransformJobSpec

LOG_GROUP = "/aws/sagemaker/TransformJobs"
#: FailureReason of a job whose container answered a mini-batch with a 5xx (or not at all):
#: aws/deep-learning-containers#586 quotes it. The job log then says "<bucket>/<key>: Bad HTTP
#: status received from algorithm: 500", as quoted in aws/amazon-sagemaker-examples#1620 and #3948.
ALGORITHM_ERROR = "AlgorithmError: See job logs for more information"
# FIDELITY transform.no-response CONFIRMED: a container that does not answer a mini-batch in time
#   local: after InvocationsTimeoutInSeconds (and each retry) the job log says "<bucket>/<key>:
#     Unable to get response from algorithm" and the job fails with "AlgorithmError: See job logs
#     for more information"; a worker that cannot be reached is logged the same way.
#   source: aws/sagemaker-tensorflow-serving-container#18, opened by an AWS engineer, pairs the
#     container's own "client timed out" line with "[sagemaker logs]: <bucket>/<key>: Unable to get
#     response from algorithm"; aws/sagemaker-python-sdk#1951 quotes the same line.
NO_RESPONSE = "Unable to get response from algorithm"
# FIDELITY transform.container-client-error UNCONFIRMED: a container that answers a mini-batch with a 4xx
#   local: the job log says "<bucket>/<key>: ClientError: <status>", then "Message:" and the
#     answer; the job fails with "ClientError: See job logs for more information".
#   source: the log line is quoted in aws/sagemaker-python-sdk#1882 ("ClientError: 413") and
#     huggingface/notebooks#227 ("ClientError: 400"); real jobs fail with this FailureReason.
#   why: that AWS pairs a 4xx answer with this FailureReason (and a 5xx with AlgorithmError) is
#     our reading of its two error kinds.
#   notice: such a job's FailureReason can read "AlgorithmError: ..." on AWS.
CLIENT_ERROR = "ClientError: See job logs for more information"
# FIDELITY transform.ping-failure CONFIRMED: a transform container that never passes /ping
#   local: the job fails with "AlgorithmError: Model container failed to respond to ping. Please
#     ensure /ping endpoint is implemented and responds with an HTTP 200 status code"; a model
#     whose model_fn fails (a scikit-learn version mismatch, say) fails this way.
#   source: aws/amazon-sagemaker-examples#852 quotes a real job's FailureReason word for word. On
#     AWS the failure can take a while: an AWS engineer wrote in aws/amazon-sagemaker-examples#815
#     that a job whose container keeps failing /ping is stopped after 30 minutes; here a worker
#     that exits, or answers /ping with an error three times, fails the job at once (the
#     platform.speed difference).
PING_FAILURE = (
    "AlgorithmError: Model container failed to respond to ping. Please ensure /ping endpoint is "
    "implemented and responds with an HTTP 200 status code"
)
#: Lines of a failing response body copied into the job log after ``Message:``.
MAX_MESSAGE_LINES = 20


def data_log_stream(instance: Instance) -> str:
    """The stream of the job's own ``[sagemaker logs]`` lines: ``<container stream>/data-log``."""
    return f"{instance.log_stream}/data-log"


_STRATEGY_ENV = {"SingleRecord": "SINGLE_RECORD", "MultiRecord": "MULTI_RECORD"}
_STRATEGY_API = {v: k for k, v in _STRATEGY_ENV.items()}


@dataclass
class RunnerContext:
    """What a job needs from the gateway (injected by the control plane)."""

    s3_client: Callable[[], Any]
    log_sink: LogSink
    ensure_log_stream: LogStreamCreator
    instance_env: dict[str, str]
    work_dir: Path
    fetch_model: Callable[[str | None, Path], None]
    instances_started: Callable[[InstanceFleet], None]
    #: Called once the instances have stopped, with :attr:`TransformRunner.ended` (what is
    #: billed ends there, as TransformEndTime does).
    instances_stopped: Callable[[InstanceFleet, float], None]
    startup_timeout: float = 240.0
    #: Holds back the call log's trace of a read ahead until an instance takes it.
    hold_calls: CallHolder = hold_nothing


@dataclass
class JobProgress:
    """Counters a learner can watch while the job runs (served at ``/_local/transform-jobs``)."""

    objects_total: int | None = None
    objects_completed: int = 0
    objects_failed: int = 0
    records_completed: int = 0
    requests: int = 0
    instances: list[dict[str, Any]] = field(default_factory=list)
    #: Thread-seconds spent per phase (read, prepare, invoke, finish, upload): where time goes.
    seconds: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def timed(self, phase: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        with self.lock:
            self.seconds[phase] = self.seconds.get(phase, 0.0) + elapsed

    def request_sent(self) -> None:
        with self.lock:
            self.requests += 1

    def records_done(self, count: int) -> None:
        with self.lock:
            self.records_completed += count

    def object_completed(self) -> None:
        with self.lock:
            self.objects_completed += 1

    def object_failed(self) -> None:
        with self.lock:
            self.objects_failed += 1

    def restore(self, saved: dict[str, Any]) -> None:
        """Set the counters from a :meth:`snapshot` (an ended job after a restart)."""
        with self.lock:
            self.objects_total = saved.get("ObjectsTotal")
            self.objects_completed = int(saved.get("ObjectsCompleted") or 0)
            self.objects_failed = int(saved.get("ObjectsFailed") or 0)
            self.records_completed = int(saved.get("RecordsCompleted") or 0)
            self.requests = int(saved.get("Requests") or 0)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "ObjectsTotal": self.objects_total,
                "ObjectsCompleted": self.objects_completed,
                "ObjectsFailed": self.objects_failed,
                "RecordsCompleted": self.records_completed,
                "Requests": self.requests,
                "Instances": [dict(i) for i in self.instances],
                "PhaseSeconds": {k: round(v, 3) for k, v in self.seconds.items()},
            }


@dataclass(frozen=True)
class JobOutcome:
    status: str  # Completed | Failed | Stopped
    failure_reason: str | None = None


class _JobFailed(Exception):
    """The whole job fails before or instead of processing objects."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _RequestFailed(Exception):
    """A request still failed after every retry."""

    def __init__(self, status: int, body: bytes | None, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.body = body
        self.detail = detail


@dataclass(frozen=True)
class _Settings:
    """Resolved per-instance parameters (API value, then container answer, then default)."""

    max_concurrent_transforms: int
    batch_strategy: str
    max_payload_mb: int


class _ObjectWork:
    """One input object in flight: its batches and, as responses arrive, their outputs."""

    def __init__(self, obj: InputObject, originals: list[bytes], batches: list[Batch]) -> None:
        self.obj = obj
        self.originals = originals
        self.batches = batches
        self.outputs: list[list[bytes] | None] = [None] * len(batches)
        self.remaining = len(batches)
        self.failed = False
        self.lock = threading.Lock()

    def batch_done(self) -> bool:
        """Count one finished batch; True for the call that finished the object's last one."""
        with self.lock:
            self.remaining -= 1
            return self.remaining == 0


class _AgentSlot:
    """An instance's batch agent, started when its first object needs it (many jobs never do)."""

    def __init__(self, start: Callable[[], BatchAgent]) -> None:
        self._start = start
        self._agent: BatchAgent | None = None
        self._lock = threading.Lock()

    def call(self, name: str, *args: Any) -> Any:
        with self._lock:
            if self._agent is None:
                self._agent = self._start()
        return self._agent.call(name, *args)


class TransformRunner:
    """Runs one job to an outcome; :meth:`stop` makes :meth:`run` return ``Stopped`` promptly."""

    def __init__(
        self,
        spec: TransformJobSpec,
        request: dict[str, Any],
        container: dict[str, Any],
        role: str,
        ctx: RunnerContext,
        progress: JobProgress,
    ) -> None:
        self.spec = spec
        self.request = request
        self.container = container
        self.role = role  # the model's execution role, which AWS names in some errors
        self.ctx = ctx
        self.progress = progress
        self.stopping = threading.Event()
        self.processor = DataProcessor.from_spec(spec) if spec.uses_data_processing else None
        self._fleet: InstanceFleet | None = None
        self._agents: list[BatchAgent] = []
        self._fleet_lock = threading.Lock()  # also guards _agents
        self._uploaded: list[tuple[str, str]] = []
        self._failures: list[str] = []  # FailureReason candidates, first one wins
        self._lock = threading.Lock()
        self._read_ahead = ReadAhead(self._get_object, ())
        #: When the job's work ended (``time.time()``: its last output written, or it failed or
        #: stopped), taken before its instances are stopped: the job's TransformEndTime.
        self.ended: float | None = None

    # -- public -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the job to stop and stop its instances (in-flight requests end at once)."""
        self.stopping.set()
        with self._fleet_lock:
            fleet = self._fleet
        if fleet is not None:
            for instance in list(fleet.instances):
                instance.stop(grace=2.0)
        self._stop_agents()

    def run(self, started: Callable[[], None] = lambda: None) -> JobOutcome:
        """Do the whole job; never raises. ``started`` is called once the instances are up."""
        fleet: InstanceFleet | None = None
        try:
            objects = self._list_inputs()
            with self.progress.lock:
                self.progress.objects_total = len(objects)
            if self.stopping.is_set():
                return JobOutcome("Stopped")
            # each instance's first object is read while the instances start (the fleet starts
            # all InstanceCount instances or fails the job, so the shards stay right)
            shards = assign_to_instances(objects, self.spec.instance_count)
            self._read_ahead = ReadAhead(
                self._get_object, [s[0] for s in shards if s], self.ctx.hold_calls
            )
            fleet = self._start_fleet()
            started()
            threads = [
                threading.Thread(
                    target=self._run_instance,
                    args=(instance, shard),
                    name=f"transform-{self.spec.name}-{instance.instance_id}",
                    daemon=True,
                )
                for instance, shard in zip(fleet.instances, shards, strict=True)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        except _JobFailed as failure:
            if self.stopping.is_set():
                return self._stopped()
            return JobOutcome("Failed", failure.reason[:1024])
        except Exception as exc:  # a bug of ours: the job fails, it never stays InProgress
            if self.stopping.is_set():
                return self._stopped()
            return JobOutcome("Failed", f"InternalServerError: {type(exc).__name__}: {exc}"[:1024])
        finally:
            # FIDELITY transform.end-time UNCONFIRMED: the moment TransformEndTime marks
            #   local: when the job's work ended (its last .out written, or it failed or
            #     stopped), before its instances are shut down; the cost meter stops billing the
            #     instances at that same moment.
            #   source: the DescribeTransformJob API reference: TransformEndTime "indicates when
            #     the transform job has been completed, or has stopped or failed. You are billed
            #     for the time interval between the value of TransformStartTime and this time."
            #   why: the job is complete once its output is in S3; how long the platform takes
            #     to release its instances afterwards is not the job's and, by that sentence,
            #     not billed.
            #   notice: on AWS TransformEndTime may also cover the instances' shutdown, so the
            #     same job looks a few tens of milliseconds longer there.
            self.ended = time.time()
            self._read_ahead.drop()
            self._stop_agents()
            if fleet is not None:
                self._stop_fleet(fleet)
            shutil.rmtree(self.ctx.work_dir, ignore_errors=True)
        if self.stopping.is_set():
            return self._stopped()
        with self._lock:
            failures = list(self._failures)
        if failures:
            return JobOutcome("Failed", failures[0][:1024])
        return JobOutcome("Completed")

    # -- setup --------------------------------------------------------------------------------

    def _list_inputs(self) -> list[InputObject]:
        s3 = self.ctx.s3_client()
        uri = self.spec.s3_uri
        try:
            bucket, prefix = parse_s3_uri(uri)
            if self.spec.s3_data_type == "ManifestFile":
                body = s3.get_object(Bucket=bucket, Key=prefix)["Body"].read()
                objects = parse_manifest(body, source=uri)
            else:
                keys: list[str] = []
                for page in s3.get_paginator("list_objects_v2").paginate(
                    Bucket=bucket, Prefix=prefix
                ):
                    keys.extend(o["Key"] for o in page.get("Contents", []))
                objects = objects_for_prefix(keys, uri)
        except TransformDataError as err:
            raise _JobFailed(f"{err.failure_kind}: {err.message}") from None
        except Exception as exc:
            raise _JobFailed(f"ClientError: {no_input_objects(uri, self.role)}") from exc
        if not objects:  # CreateTransformJob refuses an empty prefix; it was emptied since
            raise _JobFailed(f"ClientError: {no_input_objects(uri, self.role)}")
        return objects

    def _start_fleet(self) -> InstanceFleet:
        model_dir = self.ctx.work_dir / "model"
        try:
            self.ctx.fetch_model(self.container.get("ModelDataUrl"), model_dir)
        except DeployFailed as exc:
            raise _JobFailed(f"ClientError: {exc.reason.strip()}") from exc
        except Exception as exc:
            raise _JobFailed(f"ClientError: {type(exc).__name__}: {exc}") from exc
        # The same container emulation as an endpoint's instances (the image's libraries
        # included), plus the job's own Environment and AWS's batch variables.
        env = container_environment(
            self.ctx.instance_env,
            self.container,
            {**dict(self.spec.environment), "SAGEMAKER_BATCH": "true"},
        )
        if self.request.get("MaxPayloadInMB") is not None:
            env["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(self.request["MaxPayloadInMB"])
        if self.request.get("BatchStrategy"):
            env["SAGEMAKER_BATCH_STRATEGY"] = _STRATEGY_ENV[self.request["BatchStrategy"]]
        if self.request.get("MaxConcurrentTransforms"):
            env["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = str(
                self.request["MaxConcurrentTransforms"]
            )
        # The job name plays the variant. AWS names a transform instance's container stream
        # "<job>/<instance id>-<epoch timestamp>" and puts the job's own "[sagemaker logs]" lines
        # in "<that>/data-log" ("CloudWatch Logs for Amazon SageMaker AI",
        # docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html).
        # FIDELITY transform.log-stream-epoch UNCONFIRMED: the epoch in a transform instance's log stream name
        #   local: one timestamp per job, taken when its instances start.
        #   why: the developer guide shows the form <job>/<instance id>-<epoch>; which moment the
        #     epoch marks is not stated.
        #   notice: on AWS each instance's stream may carry its own start time.
        stream_template = "{variant}/{instance_id}-" + str(int(time.time()))
        fleet = InstanceFleet(self.spec.name, self.spec.instance_type, model_dir, env)
        self.ctx.ensure_log_stream(LOG_GROUP, None)
        with self._fleet_lock:
            if self.stopping.is_set():
                raise _JobFailed("stopped")
            self._fleet = fleet
        try:
            fleet.add_instances(
                start_instances(
                    fleet,
                    self.spec.instance_count,
                    LOG_GROUP,
                    self.ctx.log_sink,
                    self.ctx.startup_timeout,
                    stream_template,
                )
            )
        except HealthCheckFailed as exc:
            raise _JobFailed(PING_FAILURE) from exc
        with self.progress.lock:
            self.progress.instances = [
                {"InstanceId": i.instance_id, "LogStream": i.log_stream, "ObjectsAssigned": 0}
                for i in fleet.instances
            ]
        self.ctx.instances_started(fleet)
        if self.stopping.is_set():  # stop() ran while the instances were starting
            for instance in fleet.instances:
                instance.stop(grace=2.0)
        return fleet

    def _stop_fleet(self, fleet: InstanceFleet) -> None:
        threads = [
            threading.Thread(target=i.stop, kwargs={"grace": 2.0}, daemon=True)
            for i in fleet.instances
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if fleet.instances:
            self.ctx.instances_stopped(fleet, self.ended or time.time())

    def _start_agent(self) -> BatchAgent:
        """A batch agent for an instance whose records need the library (see :mod:`.agent`)."""
        with self._fleet_lock:
            if self.stopping.is_set():
                raise AgentError("the job is stopping")
            agent = BatchAgent()
            self._agents.append(agent)
        return agent

    def _stop_agents(self) -> None:
        with self._fleet_lock:
            agents, self._agents = self._agents, []
        for agent in agents:
            agent.stop()

    def _prepare(
        self, slot: _AgentSlot, data: bytes, spec: TransformJobSpec, source: str
    ) -> tuple[list[bytes], list[Batch]]:
        """:func:`.agent.prepare`: here when the bytes suffice (a join's input records kept in
        :mod:`.csv_bytes`' form), else record by record in the instance's batch agent (here for
        a job without DataProcessing, which starts none)."""
        in_agent = None if self.processor is None else partial(slot.call, "prepare_records")
        return agent_work.prepare(
            data, spec, self.processor, source, keep_hidden=True, by_records=in_agent
        )

    def _finish(self, slot: _AgentSlot, *args: Any) -> list[bytes]:
        """:func:`.agent.finish`, here or in the agent as :meth:`_prepare` decides."""
        return agent_work.finish(*args, by_records=partial(slot.call, "finish_records"))

    def _stopped(self) -> JobOutcome:
        s3 = self.ctx.s3_client()
        with self._lock:
            written, self._uploaded = list(self._uploaded), []
        for bucket, key in written:
            with contextlib.suppress(Exception):
                s3.delete_object(Bucket=bucket, Key=key)
        return JobOutcome("Stopped")

    # -- per instance -------------------------------------------------------------------------

    def _settings(self, instance: Instance) -> _Settings:
        answer = instance.client.execution_parameters() if instance.client is not None else {}
        spec = self.spec
        concurrency = spec.max_concurrent_transforms or _positive_int(
            answer.get("MaxConcurrentTransforms")
        )
        strategy = spec.batch_strategy or _STRATEGY_API.get(str(answer.get("BatchStrategy")))
        payload = self.request.get("MaxPayloadInMB")
        if payload is None:
            payload = _non_negative_int(answer.get("MaxPayloadInMB"))
        return _Settings(
            concurrency or 1,
            strategy or "MultiRecord",
            DEFAULT_MAX_PAYLOAD_MB if payload is None else payload,
        )

    def _log(self, instance: Instance, message: str) -> None:
        """One of the job's own lines, in the instance's ``data-log`` stream, as AWS writes it.

        The form is ``2020-03-24T07:41:22.833:[sagemaker logs]: …`` (UTC, milliseconds), as
        quoted in transform-job logs stored in aws/amazon-sagemaker-examples notebooks.
        """
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        self.ctx.log_sink(
            LOG_GROUP, data_log_stream(instance), f"{now}:[sagemaker logs]: {message}"
        )

    def _run_instance(self, instance: Instance, objects: list[InputObject]) -> None:
        agent = _AgentSlot(self._start_agent)
        settings = self._settings(instance)
        with self.progress.lock:
            for entry in self.progress.instances:
                if entry["InstanceId"] == instance.instance_id:
                    entry["ObjectsAssigned"] = len(objects)
        self._log(
            instance,
            f"MaxConcurrentTransforms={settings.max_concurrent_transforms}, "
            f"MaxPayloadInMB={settings.max_payload_mb}, "
            f"BatchStrategy={_STRATEGY_ENV[settings.batch_strategy]}",
        )
        spec = dataclasses.replace(
            self.spec,
            batch_strategy=settings.batch_strategy,
            max_payload_mb=settings.max_payload_mb,
            max_concurrent_transforms=settings.max_concurrent_transforms,
        )
        work: queue.Queue[tuple[_ObjectWork, int] | None] = queue.Queue(
            maxsize=2 * settings.max_concurrent_transforms
        )
        senders = [
            threading.Thread(
                target=self._sender,
                args=(instance, spec, agent, work),
                daemon=True,
                name=f"send-{n}",
            )
            for n in range(settings.max_concurrent_transforms)
        ]
        for sender in senders:
            sender.start()
        try:
            for obj in objects:
                if self.stopping.is_set():
                    break
                item = self._read_object(instance, spec, agent, obj)
                if item is None:
                    continue
                if not item.batches:  # an empty object: an empty .out, no request
                    self._complete(instance, spec, item)
                    continue
                for index in range(len(item.batches)):
                    work.put((item, index))
        finally:
            for _ in senders:
                work.put(None)
            for sender in senders:
                sender.join()

    def _read_object(
        self, instance: Instance, spec: TransformJobSpec, agent: _AgentSlot, obj: InputObject
    ) -> _ObjectWork | None:
        source = f"{obj.bucket}/{obj.key}"
        try:
            ahead = self._read_ahead.take(obj)
            data = self._get_object(obj) if ahead is None else ahead.result()
        except Exception as exc:
            # FIDELITY transform.input-unreadable UNCONFIRMED: an input object that cannot be read
            #   local: the object fails ("<bucket>/<key>: Unable to read the object from S3" in
            #     the job log) and the job with "ClientError: Unable to read <uri> from S3. Check
            #     that the object exists and that the role passed to CreateModel can read it."
            #   why: AWS classes data problems as ClientError; its text for this case is not on
            #     record.
            #   notice: the FailureReason wording can differ on AWS.
            self._object_failed(
                instance,
                obj,
                [f"{source}: Unable to read the object from S3 ({type(exc).__name__})."],
                f"ClientError: Unable to read {obj.uri} from S3. Check that the object exists "
                "and that the role passed to CreateModel can read it.",
            )
            return None
        try:
            started = time.perf_counter()
            originals, batches = self._prepare(agent, data, spec, obj.uri)
            self.progress.timed("prepare", started)
        except TransformDataError as err:
            self._object_failed(
                instance, obj, [f"{source}: {err.message}"], f"{err.failure_kind}: {err.message}"
            )
            return None
        except AgentError as exc:  # the agent was stopped (the job is stopping) or crashed
            self._object_failed(
                instance,
                obj,
                [f"{source}: {type(exc).__name__}: {exc}"],
                f"InternalServerError: {type(exc).__name__}: {exc}",
            )
            return None
        return _ObjectWork(obj, originals, batches)

    def _get_object(self, obj: InputObject) -> bytes:
        """The object's bytes from S3 (on an instance's thread, or ahead: :mod:`.read_ahead`)."""
        started = time.perf_counter()
        data: bytes = self.ctx.s3_client().get_object(Bucket=obj.bucket, Key=obj.key)["Body"].read()
        self.progress.timed("read", started)
        return data

    def _sender(
        self,
        instance: Instance,
        spec: TransformJobSpec,
        agent: _AgentSlot,
        work: queue.Queue[tuple[_ObjectWork, int] | None],
    ) -> None:
        while True:
            item = work.get()
            if item is None:
                return
            obj_work, index = item
            try:
                if not obj_work.failed and not self.stopping.is_set():
                    self._process_batch(instance, spec, agent, obj_work, index)
            except _RequestFailed as failure:
                self._request_failed(instance, obj_work, failure)
            except TransformDataError as err:
                self._mark_failed(
                    instance,
                    obj_work,
                    [f"{obj_work.obj.bucket}/{obj_work.obj.key}: {err.message}"],
                    f"{err.failure_kind}: {err.message}",
                )
            except Exception as exc:  # our bug: fail this object, keep the job going
                self._mark_failed(
                    instance,
                    obj_work,
                    [f"{obj_work.obj.bucket}/{obj_work.obj.key}: {type(exc).__name__}: {exc}"],
                    f"InternalServerError: {type(exc).__name__}: {exc}",
                )
            if obj_work.batch_done() and not obj_work.failed and not self.stopping.is_set():
                try:
                    self._complete(instance, spec, obj_work)
                except Exception as exc:
                    self._mark_failed(
                        instance,
                        obj_work,
                        [f"{obj_work.obj.bucket}/{obj_work.obj.key}: upload failed: {exc}"],
                        f"InternalServerError: could not write the output of {obj_work.obj.uri}",
                    )

    def _process_batch(
        self,
        instance: Instance,
        spec: TransformJobSpec,
        agent: _AgentSlot,
        obj_work: _ObjectWork,
        index: int,
    ) -> None:
        batch = obj_work.batches[index]
        started = time.perf_counter()
        body = self._invoke(instance, spec, batch)
        self.progress.timed("invoke", started)
        started = time.perf_counter()
        joins = self.processor is not None and self.processor.transforms_output
        originals = (
            agent_work.records_part(obj_work.originals, batch.first, batch.count) if joins else []
        )
        obj_work.outputs[index] = self._finish(
            agent,
            body,
            batch.first,
            batch.count,
            originals,
            spec,
            self.processor,
            obj_work.obj.uri,
        )
        self.progress.timed("finish", started)
        self.progress.records_done(batch.count)

    def _invoke(self, instance: Instance, spec: TransformJobSpec, batch: Batch) -> bytes:
        """POST one mini-batch, retrying up to InvocationsMaxRetries times."""
        headers = {}
        if spec.content_type:
            headers["Content-Type"] = spec.content_type
        if spec.accept:
            headers["Accept"] = spec.accept
        timeout = float(spec.invocations_timeout_seconds)
        failure: _RequestFailed | None = None
        for _attempt in range(spec.invocations_max_retries + 1):
            if self.stopping.is_set():
                raise _RequestFailed(0, None, "the job is stopping")
            self.progress.request_sent()
            try:
                if instance.client is None:
                    raise InstanceUnreachable("the instance has no port", connected=False)
                reply = instance.client.invoke(batch.body, headers, timeout, chunked=batch.chunked)
            except (TimeoutError, InstanceUnreachable):
                failure = _RequestFailed(0, None, NO_RESPONSE)
                continue
            if 200 <= reply.status < 300:
                return reply.body
            detail = (
                f"ClientError: {reply.status}"
                if 400 <= reply.status < 500
                else f"Bad HTTP status received from algorithm: {reply.status}"
            )
            failure = _RequestFailed(reply.status, reply.body, detail)
        assert failure is not None
        raise failure

    def _complete(self, instance: Instance, spec: TransformJobSpec, obj_work: _ObjectWork) -> None:
        outputs: list[bytes] = []
        for part in obj_work.outputs:
            outputs.extend(part or ())
        body = assemble(outputs, spec.assemble_with)
        target = output_uri(obj_work.obj, spec.s3_output_path)
        bucket, key = parse_s3_uri(target)
        if self.stopping.is_set():
            return
        started = time.perf_counter()
        self.ctx.s3_client().put_object(Bucket=bucket, Key=key, Body=body)
        self.progress.timed("upload", started)
        with self._lock:
            self._uploaded.append((bucket, key))
        self.progress.object_completed()

    # -- failures -----------------------------------------------------------------------------

    def _request_failed(
        self, instance: Instance, obj_work: _ObjectWork, failure: _RequestFailed
    ) -> None:
        if self.stopping.is_set():
            obj_work.failed = True
            return
        source = f"{obj_work.obj.bucket}/{obj_work.obj.key}"
        lines = [f"{source}: {failure.detail}"]
        if failure.body is not None:
            lines += [f"{source}: ", f"{source}: Message:"]
            text = failure.body.decode("utf-8", "replace").strip().splitlines()
            lines += [f"{source}: {line}" for line in text[:MAX_MESSAGE_LINES]]
        reason = CLIENT_ERROR if 400 <= failure.status < 500 else ALGORITHM_ERROR
        self._mark_failed(instance, obj_work, lines, reason)

    def _mark_failed(
        self, instance: Instance, obj_work: _ObjectWork, lines: list[str], reason: str
    ) -> None:
        with obj_work.lock:
            already = obj_work.failed
            obj_work.failed = True
        if not already:
            self._object_failed(instance, obj_work.obj, lines, reason)

    def _object_failed(
        self, instance: Instance, obj: InputObject, lines: list[str], reason: str
    ) -> None:
        if self.stopping.is_set():
            return
        for line in lines:
            self._log(instance, line)
        with self._lock:
            self._failures.append(reason)
        self.progress.object_failed()


# -- helpers ----------------------------------------------------------------------------------


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _non_negative_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
