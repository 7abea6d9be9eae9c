"""State that survives a restart: saved while the local SageMaker runs, restored when it starts.

What is saved (in ``saved/`` under the state folder, :func:`...core.settings.state_dir`):

* ``sagemaker.json``: models, endpoint configs, endpoints (with the capacity each variant had),
  tags, transform jobs, asynchronous requests not finished yet, real-time autoscaling's
  activities and cooldowns (:class:`Registry`, :class:`TransformJobs`, :class:`AsyncService`,
  :class:`RealtimeScaler` ``export_state``);
* ``meter.json``: the cost meter's segments and serverless usage (:class:`CostMeter`);
* one part per AWS service around SageMaker, and the S3 bodies (:mod:`.aws_services`).

**When.** A saver thread looks every :func:`~...core.settings.save_interval` seconds (1 s by
default): SageMaker's parts are exported each time (small, and written only when their bytes
changed), an AWS service's part only when a request that may change it reached moto since the
last look (the gateway says so through :meth:`Persistence.touched`); of S3, only the buckets
such requests named are read again, and a bucket's tags, policy and versioning only after a
request on the bucket itself (while a transform job writes its outputs, a save lists one bucket
and reads the new objects; it read every bucket's settings and listing before). The CloudWatch part is
saved every second while endpoints are invoked (new metric data): its alarms are read again only
after a call that may change them, and only the data points added since the last save are
converted. ``stop`` saves once more
before anything is stopped, after waiting for the history's restore (below), and the changed
AWS parts once more after everything stopped (the last log lines, metric points and transform
outputs). So a ``kill -9`` of the gateway loses the changes of the interval
plus the time a save takes: about a second when little changed, longer right after a bulk change
(benchmarks/bench_persistence.py: 200 new 64 KB objects, 20,000 log events and 2,000 metric
points took the saver about 11 s on a busy 2-core machine); a clean stop loses nothing.

**Restoring.** At start, before the server says it is up: IAM, S3, SQS, SNS; then SageMaker's
resources (endpoints start fresh instances in the background, ``SystemUpdating`` until they pass
their health checks), transform jobs, asynchronous requests and the meter; then scaling
registrations, CloudWatch alarms, and CloudWatch Logs' groups and streams (their names only,
so a listing right after the start sees them all). The history, metric data points and log
events, is read then too but put back in the background (thousands of points take seconds, and
nothing waits for them); until it is back, those two parts are not saved over, so a stop
meanwhile waits for it (up to 30 s) so that the new points and log lines are saved too. A part that cannot be read or restored is moved aside
(:class:`.store.StateStore`) and reported, never a reason not to start.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..async_inference.service import AsyncService
from ..endpoints.registry import Registry
from ..meter.cost_meter import CostMeter
from ..scaling.realtime import RealtimeScaler
from ..transform.jobs import TransformJobs
from .aws_services import ALARMS, LOGS_PREFIX, AwsServices, BucketChange, Change
from .store import StateStore

#: The folder under the state folder that holds the saved parts.
SAVED_DIR = "saved"

#: SigV4 signing names of the services moto serves -> the parts a request to it may change
#: (SNS delivers to SQS queues as it publishes).
SIGNING_PARTS = {
    "s3": ("s3",),
    "iam": ("iam",),
    "sqs": ("sqs",),
    "sns": ("sns", "sqs"),
    "logs": ("logs",),
    "monitoring": ("cloudwatch",),
    "application-autoscaling": ("application-autoscaling",),
}


#: CloudWatch operations that add metric data and change no alarm: while traffic flows the
#: metrics publisher sends one every second, and the save it causes need not read the alarms
#: again (a DescribeAlarms round trip through the gateway each second).
METRIC_DATA_ONLY = frozenset({"PutMetricData"})

#: Parts whose restore runs in the background after the start (metric data, log events).
HISTORY_PARTS = frozenset({"cloudwatch", "logs"})

#: What the saver's record of changes holds: the name of a part to save, or a change narrower
#: than a part (which bucket, whether the alarms), given to that part's save.
Entry = str | Change


class Persistence:
    """Saves the local account's state while the gateway runs and restores it at start."""

    def __init__(
        self,
        state_dir: Path,
        client: Callable[[str], Any],
        registry: Registry,
        transform_jobs: TransformJobs,
        async_service: AsyncService,
        meter: CostMeter,
        scaler: RealtimeScaler,
        interval: float,
        log: Callable[[str], None],
    ) -> None:
        self.store = StateStore(state_dir / SAVED_DIR)
        self.aws = AwsServices(client, self.store)
        self.registry = registry
        self.transform_jobs = transform_jobs
        self.async_service = async_service
        self.meter = meter
        self.scaler = scaler
        self.interval = interval
        self.log = log
        #: Parts whose service got a request that may have changed it since the last save
        #: (the restore's own requests mark what it restored, so the first save re-reads it),
        #: with the narrower changes within them (:data:`.aws_services.Change`): what the saver
        #: knows of changes, in one place. A save takes what it saves before reading, so a
        #: change that arrives during the read is saved by the next one.
        self._dirty: set[Entry] = set()
        self._dirty_lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._timings: list[str] = []
        #: The saved metric data and log groups, until :meth:`start` has put them back.
        self._history: tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]] = ({}, [])
        self._history_done = threading.Event()

    # -- what changed -------------------------------------------------------------------------

    def touched(
        self, signing_service: str | None, operation: str | None = None, path: str | None = None
    ) -> None:
        """A request that may change state reached moto for this service (its SigV4 name) and
        ``operation`` (None when the request named none); ``path``: its path (S3 requests are
        path-style, ``/<bucket>/<key>``: the server serves no other host names), which says
        which bucket, if given."""
        # a request signed in its query string or a browser's POST policy upload carries no
        # Authorization header: only S3 is reached that way
        parts = SIGNING_PARTS.get(signing_service or "s3", ())
        entries: list[Entry] = list(parts)
        if "cloudwatch" in parts and operation not in METRIC_DATA_ONLY:
            entries.append(ALARMS)
        if "s3" in parts:
            bucket, _, key = (path or "").lstrip("/").partition("/")
            entries.append(BucketChange(bucket or None, objects_only=bool(key)))
        with self._dirty_lock:
            self._dirty.update(entries)

    # -- restoring ----------------------------------------------------------------------------

    def restore(self) -> list[str]:
        """Bring back everything saved; returns the notes about parts that could not be."""
        notes: list[str] = []
        started = time.monotonic()
        for part in ("iam", "s3", "sqs", "sns"):
            self._restore_aws(part, notes)
        saved = self.store.read("sagemaker.json")
        if saved is not None:
            self._restore_part(
                "sagemaker.json", notes, lambda: self._restore_sagemaker(saved[0], notes)
            )
        meter = self.store.read("meter.json")
        if meter is not None:
            now = time.time()
            self._restore_part(
                "meter.json", notes, lambda: self.meter.restore_state(meter[0], meter[1], now)
            )
        self._restore_aws("application-autoscaling", notes)
        cloudwatch = self._restore_aws("cloudwatch", notes)  # its alarms
        # The history (metric data points, log events) is read now, so a bad file is known and
        # reported by start, and put back by :meth:`start` in the background: it can take
        # seconds and nothing waits for it.
        # Log groups and streams are created now, so their names are there from the first
        # request; their events come back with the metric data.
        logs_started = time.monotonic()
        groups = self.aws.restore_log_groups(self.aws.read_logs(), notes)
        self._timings.append(f"log groups {time.monotonic() - logs_started:.1f} s")
        self._history = (cloudwatch or {}, groups)
        notes = [*self.store.notes, *notes]
        if saved is not None or notes:
            self.log(
                f"state restored from {self.store.directory} in "
                f"{time.monotonic() - started:.1f} s ({', '.join(self._timings)}); "
                "metric data and log events follow in the background"
            )
        for note in notes:
            self.log(f"WARNING: {note}")
        return notes

    def _restore_history(self) -> None:
        """Put back the metric data points and log events :meth:`restore` read."""
        metrics, groups = self._history
        notes: list[str] = []
        started = time.monotonic()
        try:
            if metrics.get("metrics"):
                self.aws.restore_metrics(metrics, notes)
            self.aws.restore_log_events(groups, notes)
        except Exception as exc:  # nothing here may take the gateway down
            notes.append(f"metric data or log events could not be restored: {exc!r}")
        finally:
            self._history = ({}, [])
            self._history_done.set()
        if metrics.get("metrics") or groups:
            self.log(f"metric data and log events restored in {time.monotonic() - started:.1f} s")
        for note in notes:
            self.log(f"WARNING: {note}")

    def _restore_sagemaker(self, data: dict[str, Any], notes: list[str]) -> None:
        self.registry.restore_state(data["registry"], notes)
        self.transform_jobs.restore_state(data["transform_jobs"], notes)
        self.async_service.restore_state(data["async_requests"], notes)
        self.scaler.restore_state(data.get("autoscaling") or {})

    def _restore_aws(self, part: str, notes: list[str]) -> Any:
        """Restore one saved AWS part; returns its data (None if there was none to use)."""
        name = f"{part}.json"
        saved = self.store.read(name)
        if saved is None or not _holds_something(saved[0]):
            return None
        if self._restore_part(name, notes, lambda: self.aws.restore(part, saved[0], notes)):
            return saved[0]
        return None

    def _restore_part(self, name: str, notes: list[str], restore: Callable[[], None]) -> bool:
        """Run one part's restore; a failure moves the part aside. True if it went through."""
        started = time.monotonic()
        try:
            restore()
        except Exception as exc:  # a part we cannot use must never stop the start
            self.log(traceback.format_exc())
            self.store.set_aside(name, f"{type(exc).__name__}: {exc}")
            return False
        finally:
            self._timings.append(f"{name} {time.monotonic() - started:.1f} s")
        return True

    # -- saving -------------------------------------------------------------------------------

    def start(self) -> None:
        """After :meth:`restore`: put the history back and start saving, in the background."""
        threading.Thread(target=self._restore_history, name="state-history", daemon=True).start()
        self._thread = threading.Thread(target=self._loop, name="state-saver", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        # a periodic save, on an event so close() ends the wait at once (not a state wait)
        while not self._stop.wait(self.interval):
            self.save()

    def save(self) -> None:
        """Write every part that may have changed (each on its own: one failure skips one)."""
        with self._save_lock:
            self._save("sagemaker.json", self._export_sagemaker)
            self._save("meter.json", self.meter.export_state)
        self.save_changes()

    def save_changes(self) -> None:
        """Write the AWS parts the record of changes names. The gateway calls it once more
        after everything has stopped: the last log lines and metric points, and the objects a
        stopping transform job wrote, reach moto after :meth:`close`."""
        with self._save_lock:
            with self._dirty_lock:
                # taken before anything is read: a change during the read marks it again
                dirty, self._dirty = self._dirty, set()
                if not self._history_done.is_set():
                    # their files still hold the whole history being put back: keep them as
                    # they are until it is in moto (changes meanwhile are saved right after)
                    held = {entry for entry in dirty if _part(entry) in HISTORY_PARTS}
                    self._dirty |= held
                    dirty -= held
            for part in sorted({_part(entry) for entry in dirty}):
                changes = [e for e in dirty if not isinstance(e, str) and e.part == part]
                try:
                    self.aws.save(part, changes)
                except Exception as exc:  # moto busy or a bug: keep it all dirty, retry
                    with self._dirty_lock:
                        self._dirty.add(part)
                        self._dirty.update(changes)
                    self.log(f"saving {part} failed, will retry: {exc!r}")

    def _save(self, name: str, export: Callable[[], Any]) -> None:
        try:
            self.store.write(name, export())
        except Exception as exc:
            self.log(f"saving {name} failed, will retry: {exc!r}")

    def _export_sagemaker(self) -> dict[str, Any]:
        return {
            "registry": self.registry.export_state(),
            "transform_jobs": self.transform_jobs.export_state(),
            "async_requests": self.async_service.export_state(),
            "autoscaling": self.scaler.export_state(),
        }

    def close(self) -> None:
        """Stop the saver and save one last time (the gateway is stopping; nothing is lost).

        The history's restore is waited for first (up to 30 s): until it is done, the
        CloudWatch and Logs parts are held back and a save now would leave out their changes."""
        self._stop.set()
        if self._thread is not None:  # started: the history's restore runs beside the saver
            self._history_done.wait(timeout=30)
            self._thread.join(timeout=30)
        self.save()


def _part(entry: Entry) -> str:
    """The part an entry of the record of changes belongs to."""
    return entry if isinstance(entry, str) else entry.part


def _holds_something(data: Any) -> bool:
    """Whether a saved part has anything in it (an empty one is not restored: that spares moto
    setting up a service nobody used, which takes a while for some)."""
    if isinstance(data, dict):
        return any(bool(value) for value in data.values())
    return bool(data)


def summary(state_dir: Path) -> list[str]:
    """What the saved state holds, one line per kind (``reset`` says what it removes)."""
    store = StateStore(state_dir / SAVED_DIR)
    lines: list[str] = []

    def data(name: str) -> Any:
        path = store.path(name)
        if not path.exists():
            return None
        try:
            import json

            return json.loads(path.read_bytes())["data"]
        except (OSError, ValueError, KeyError, TypeError):
            lines.append(f"{name} (unreadable)")
            return None

    def count(label: str, items: Any) -> None:
        if items:
            lines.append(f"{len(items)} {label}")

    sagemaker = data("sagemaker.json") or {}
    registry = sagemaker.get("registry") or {}
    count("models", registry.get("models"))
    count("endpoint configs", registry.get("configs"))
    count("endpoints", registry.get("endpoints"))
    count("transform jobs", sagemaker.get("transform_jobs"))
    count("pending asynchronous requests", sagemaker.get("async_requests"))
    buckets = data("s3.json") or []
    if buckets:
        objects = sum(len(b.get("objects", [])) for b in buckets)
        lines.append(f"{len(buckets)} S3 buckets holding {objects} objects")
    count("IAM roles", (data("iam.json") or {}).get("roles"))
    count("SNS topics", (data("sns.json") or {}).get("topics"))
    count("SQS queues", data("sqs.json"))
    count("scalable targets", (data("application-autoscaling.json") or {}).get("targets"))
    cloudwatch = data("cloudwatch.json") or {}
    count("metric data points", cloudwatch.get("metrics"))
    count("CloudWatch alarms", cloudwatch.get("alarms"))
    count("log groups", store.names(LOGS_PREFIX))
    if data("meter.json") is not None:
        lines.append("the cost meter's record")
    return lines
