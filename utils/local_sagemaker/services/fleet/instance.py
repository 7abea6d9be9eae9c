"""One endpoint (or transform job) instance: a real worker process, its port, health and client.

An :class:`Instance` is one worker process serving the SageMaker container contract on its own
127.0.0.1 port (see :mod:`...container`). It is started by :func:`.launcher.start_worker`, becomes
usable once ``GET /ping`` answers 200 (:meth:`Instance.wait_healthy`), is reached through its
:class:`~...core.instance_client.InstanceClient`, and ships every line its process prints to the
instance's log stream. A worker answers only requests carrying its random secret
(:mod:`...core.worker_secret`), which only the gateway knows.

A thread blocked on the process's exit notices the moment a worker dies (killed, crashed, out of
memory) and tells ``on_exit``, so the fleet's healer (:mod:`.healing`) can take it out of routing
and replace it at once, without waiting for the next health check.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ...core import worker_secret
from ...core.instance_client import InstanceClient
from ...core.worker_contract import PORT_MARKER
from ..telemetry.logs import LogSink
from .launcher import Worker, start_worker

#: Every instance this process started, so shutdown can stop all of them.
_all_instances: set[Instance] = set()
_all_lock = threading.Lock()


def new_instance_id() -> str:
    """An EC2-like instance id (``i-`` and 17 hex digits), used in log stream names."""
    return "i-" + secrets.token_hex(9)[:17]


@dataclass(frozen=True)
class StartupTimes:
    """Where an instance's start went, in seconds (a serverless cold start reports them)."""

    #: From the start until the worker reported its port: the process start (a fork of the
    #: warm template, or a new Python importing its libraries) and the server listening.
    process: float
    #: The ping that passed: the container loads the user module and the model inside the
    #: first request it gets, so this is the model load (plus one ping's round trip).
    model_load: float
    #: From the port until that ping was sent: earlier pings and the waits between them.
    health_check: float

    @property
    def total(self) -> float:
        return self.process + self.model_load + self.health_check


class HealthCheckFailed(Exception):
    """The instance did not pass the ping health check."""


@dataclass(eq=False)
class Instance:
    """One worker process serving the container contract on 127.0.0.1."""

    variant: str
    instance_type: str
    model_dir: Path
    environment: dict[str, str]
    log_group: str
    log_sink: LogSink
    #: A serverless variant's memory, in MB: the worker bounds its address space to it (Linux).
    memory_limit_mb: int | None = None
    #: Start the worker as a new process even where workers are forked from a warm template.
    fresh_process: bool = False
    #: How the instance's log stream is named; ``{variant}`` and ``{instance_id}`` are filled in.
    stream_template: str = "{variant}/{instance_id}"
    instance_id: str = field(default_factory=new_instance_id)
    #: Sent with every request; the worker refuses requests without it.
    secret: str = field(default_factory=worker_secret.new_secret, repr=False)
    process: Worker | None = None
    port: int | None = None
    #: The instance's HTTP client, once its port is known.
    client: InstanceClient | None = None
    #: Requests sent and not yet answered (guarded by the owning fleet's lock).
    in_flight: int = 0
    #: Called (on a watcher thread) when the process exits without :meth:`stop` being asked.
    on_exit: Callable[[Instance], None] | None = field(default=None, repr=False)
    #: How long its start took, by part, once it is healthy.
    startup: StartupTimes | None = None
    _started_at: float = 0.0
    _port_at: float = 0.0
    _port_ready: threading.Event = field(default_factory=threading.Event)
    _exited: threading.Event = field(default_factory=threading.Event)
    _out_of_service: threading.Event = field(default_factory=threading.Event)
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def log_stream(self) -> str:
        """The container's log stream: ``<variant>/<instance id>`` for an endpoint (AWS's form)."""
        return self.stream_template.format(variant=self.variant, instance_id=self.instance_id)

    def start(self) -> None:
        """Start the worker process; returns once it has been forked (not yet healthy)."""
        environment = {**self.environment, worker_secret.ENVIRONMENT_VARIABLE: self.secret}
        self._started_at = time.perf_counter()
        self.process = start_worker(
            self.model_dir, environment, self.memory_limit_mb, fresh=self.fresh_process
        )
        with _all_lock:
            _all_instances.add(self)
        threading.Thread(
            target=self._pump_output, name=f"out-{self.instance_id}", daemon=True
        ).start()
        threading.Thread(
            target=self._watch_exit, name=f"exit-{self.instance_id}", daemon=True
        ).start()

    def _pump_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not self._port_ready.is_set() and line.startswith(PORT_MARKER):
                self._port_at = time.perf_counter()
                self.port = int(line[len(PORT_MARKER) :])
                self.client = InstanceClient(self.port, self.secret)
                self._port_ready.set()
                continue
            self.log_sink(self.log_group, self.log_stream, line)

    def _watch_exit(self) -> None:
        """Block on the process's exit (not on its output, which a child it started may keep
        open), then mark the instance gone and tell ``on_exit`` unless it was asked to stop."""
        assert self.process is not None
        self.process.wait()
        self._exited.set()
        if self.client is not None:
            self.client.close()  # no connection to a gone process is kept for reuse
        self._port_ready.set()  # wake anyone waiting for a port that will never come
        if self.on_exit is not None and not self._stopping.is_set():
            self.on_exit(self)

    @property
    def alive(self) -> bool:
        """Running and in service: false once the process exited or the instance was taken out
        of service (:meth:`take_out_of_service`), so no new request is routed to it."""
        return (
            self.process is not None
            and not self._exited.is_set()
            and not self._out_of_service.is_set()
        )

    @property
    def pid(self) -> int | None:
        """The worker's process id (None before :meth:`start`)."""
        return self.process.pid if self.process is not None else None

    def exit_description(self) -> str:
        """How the process ended, in words: "exited with code 1", "was killed by SIGKILL"."""
        code = self.process.returncode if self.process is not None else None
        if code is None:
            return "is still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"was killed by {name}"
        return f"exited with code {code}"

    def take_out_of_service(self) -> bool:
        """Route no more requests here; True the first time (the caller then acts on it)."""
        with _all_lock:
            if self._out_of_service.is_set():
                return False
            self._out_of_service.set()
            return True

    def wait_healthy(self, deadline: float, failures_allowed: int = 3) -> None:
        """Poll ``GET /ping`` until it answers 200; raise HealthCheckFailed otherwise.

        AWS keeps pinging until the startup timeout. Locally, a container that *answers* with a
        non-200 status several times in a row (a broken ``model_fn`` reloads and fails on every
        ping) is failed at once instead of after minutes: the outcome (``Failed`` with AWS's
        FailureReason) is the same, only sooner. A process that exits fails immediately.
        """
        self._port_ready.wait(max(0.0, deadline - time.monotonic()))
        non_200 = 0
        delay = 0.01
        while True:
            if not self.alive:
                raise HealthCheckFailed(f"instance {self.instance_id} exited")
            if time.monotonic() > deadline:
                raise HealthCheckFailed(f"instance {self.instance_id} did not answer /ping in time")
            if self.client is not None:
                sent = time.perf_counter()
                try:
                    status: int | None = self.client.ping()
                except OSError:
                    status = None
                if status == 200:
                    healthy = time.perf_counter()
                    self.startup = StartupTimes(
                        process=self._port_at - self._started_at,
                        model_load=healthy - sent,
                        health_check=sent - self._port_at,
                    )
                    return
                if status is not None:
                    non_200 += 1
                    if non_200 >= failures_allowed:
                        raise HealthCheckFailed(f"/ping answered {status}")
            # Not up yet: wait a little (or until the process exits), then ask again.
            self._exited.wait(delay)
            delay = min(delay * 2, 0.2)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds (AWS waits 30 s)."""
        self._stopping.set()
        if self.client is not None:
            self.client.close()
        proc = self.process
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()
        self._exited.wait(grace)
        with _all_lock:
            _all_instances.discard(self)


def stop_all() -> None:
    """Stop every instance this process started (gateway shutdown)."""
    with _all_lock:
        instances = list(_all_instances)
    threads = [threading.Thread(target=i.stop, kwargs={"grace": 3.0}) for i in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
