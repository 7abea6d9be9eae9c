"""Endpoint instances as real processes: launch, health-check, route to, and stop them.

One :class:`Instance` is one worker process running :mod:`.container.server` (the SageMaker
container contract) on its own 127.0.0.1 port. A :class:`VariantFleet` is a production variant's
instances with request routing (least in-flight requests, round-robin among equals). A
:class:`Deployment` is the set of fleets built from one endpoint config; UpdateEndpoint builds a
new deployment next to the old one and swaps them once the new one is healthy (blue/green, as AWS
does), so the endpoint never stops serving.

Workers answer only the gateway: each gets a random secret at start and every connection opened
with :meth:`Instance.connection` sends it (``worker_secret``).

Every worker is started from one long-lived launcher thread: Linux ``PR_SET_PDEATHSIG`` fires
when the *thread* that forked the child exits, so forking from short-lived request threads would
kill workers at random. Workers also exit when their stdin pipe from the gateway closes.
"""

from __future__ import annotations

import http.client
import itertools
import os
import queue
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config, worker_secret
from .container.server import PORT_MARKER

LogSink = Callable[[str, str, str], None]  # (group, stream, line)


class _Launcher:
    """Runs ``subprocess.Popen`` on a single thread that lives as long as the gateway."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="process-launcher", daemon=True).start()

    def _run(self) -> None:
        while True:
            job, future = self._jobs.get()
            try:
                future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)

    def call(self, job: Callable[[], Any]) -> Any:
        future: Future[Any] = Future()
        self._jobs.put((job, future))
        return future.result()


_launcher: _Launcher | None = None
_launcher_lock = threading.Lock()


def _launch(job: Callable[[], Any]) -> Any:
    global _launcher
    with _launcher_lock:
        if _launcher is None:
            _launcher = _Launcher()
    return _launcher.call(job)


#: Every instance this process started, so shutdown can stop all of them.
_all_instances: set[Instance] = set()
_all_lock = threading.Lock()


def new_instance_id() -> str:
    """An EC2-like instance id (``i-`` and 17 hex digits), used in log stream names."""
    return "i-" + secrets.token_hex(9)[:17]


def _address_space_limit(megabytes: int) -> Callable[[], None]:
    """A ``preexec_fn`` that caps the child's address space (a serverless memory size)."""

    def apply() -> None:
        import resource

        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


#: A request body up to this size is sent in one write with the request headers.
COALESCE_LIMIT = 64 * 1024


class _WorkerConnection(http.client.HTTPConnection):
    """``HTTPConnection`` to a worker: sends the worker's secret with every request, and a small
    request's headers and body in one write.

    The stock ``_send_output`` sends them separately, so the worker wakes up for the headers and
    again for the body; one segment saves that round (TCP_NODELAY is set on the socket).
    """

    def __init__(self, port: int | None, secret: str, timeout: float) -> None:
        super().__init__("127.0.0.1", port, timeout=timeout)
        self._secret = secret

    def putrequest(self, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        super().putrequest(method, url, *args, **kwargs)
        self.putheader(worker_secret.HEADER, self._secret)

    def _send_output(self, message_body: Any = None, encode_chunked: bool = False) -> None:
        if (
            isinstance(message_body, bytes)
            and message_body
            and len(message_body) <= COALESCE_LIMIT
            and not encode_chunked
        ):
            self._buffer.extend((b"", message_body))  # type: ignore[attr-defined]
            msg = b"\r\n".join(self._buffer)  # type: ignore[attr-defined]
            del self._buffer[:]  # type: ignore[attr-defined]
            self.send(msg)
            return
        super()._send_output(message_body, encode_chunked)  # type: ignore[misc]


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
    #: Address-space limit (RLIMIT_AS) for the worker, in MB: a serverless variant's memory.
    memory_limit_mb: int | None = None
    #: How the instance's log stream is named; ``{variant}`` and ``{instance_id}`` are filled in.
    stream_template: str = "{variant}/{instance_id}"
    instance_id: str = field(default_factory=new_instance_id)
    #: Sent with every request; the worker refuses requests without it.
    secret: str = field(default_factory=worker_secret.new_secret, repr=False)
    process: subprocess.Popen[bytes] | None = None
    port: int | None = None
    in_flight: int = 0
    _idle: deque[http.client.HTTPConnection] = field(default_factory=deque)
    _port_ready: threading.Event = field(default_factory=threading.Event)
    _exited: threading.Event = field(default_factory=threading.Event)

    @property
    def log_stream(self) -> str:
        """The container's log stream: ``<variant>/<instance id>`` for an endpoint (AWS's form)."""
        return self.stream_template.format(variant=self.variant, instance_id=self.instance_id)

    def start(self) -> None:
        """Start the worker process; returns once it has been forked (not yet healthy)."""
        env = dict(self.environment)
        env["SM_MODEL_DIR"] = str(self.model_dir)
        env["PYTHONUNBUFFERED"] = "1"
        env["LOCAL_SAGEMAKER_WORKER_PORT"] = "0"
        env[worker_secret.ENVIRONMENT_VARIABLE] = self.secret
        root = str(config.PROJECT_ROOT)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        cmd = [sys.executable, "-m", "utils.local_sagemaker.container.server"]
        preexec = _address_space_limit(self.memory_limit_mb) if self.memory_limit_mb else None
        self.process = _launch(
            lambda: subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(self.model_dir.parent),
                preexec_fn=preexec,
            )
        )
        with _all_lock:
            _all_instances.add(self)
        threading.Thread(
            target=self._pump_output, name=f"out-{self.instance_id}", daemon=True
        ).start()

    def _pump_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not self._port_ready.is_set() and line.startswith(PORT_MARKER):
                self.port = int(line[len(PORT_MARKER) :])
                self._port_ready.set()
                continue
            self.log_sink(self.log_group, self.log_stream, line)
        self.process.wait()
        self._exited.set()
        self._port_ready.set()  # wake anyone waiting for a port that will never come

    @property
    def alive(self) -> bool:
        return self.process is not None and not self._exited.is_set()

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
            if self.port is not None:
                try:
                    status = self.ping()
                except OSError:
                    status = None
                if status == 200:
                    return
                if status is not None:
                    non_200 += 1
                    if non_200 >= failures_allowed:
                        raise HealthCheckFailed(f"/ping answered {status}")
            # Not up yet: wait a little (or until the process exits), then ask again.
            self._exited.wait(delay)
            delay = min(delay * 2, 0.2)

    def ping(self) -> int:
        """One health check with AWS's 2 s timeout; returns the HTTP status."""
        conn = self.connection(config.PING_TIMEOUT)
        try:
            conn.request("GET", "/ping")
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    # -- request forwarding ---------------------------------------------------------------

    def connection(self, timeout: float) -> http.client.HTTPConnection:
        """A new connection to this instance that authenticates as the gateway."""
        return _WorkerConnection(self.port, self.secret, timeout)

    def acquire(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        """A keep-alive connection to this instance, and whether it was reused from the pool."""
        try:
            conn = self._idle.pop()
        except IndexError:
            conn = self.connection(timeout)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return conn, False
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn, True

    def release(self, conn: http.client.HTTPConnection, reusable: bool) -> None:
        if reusable and self.alive:
            self._idle.append(conn)
        else:
            conn.close()

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds (AWS waits 30 s)."""
        while self._idle:
            self._idle.pop().close()
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


class VariantFleet:
    """A production variant's instances and its request routing."""

    def __init__(self, variant: dict[str, Any], model_dir: Path, environment: dict[str, str]):
        self.name: str = variant["VariantName"]
        self.instance_type: str = variant.get("InstanceType", "")
        self.model_dir = model_dir
        self.environment = environment
        self.weight: float = float(variant.get("InitialVariantWeight", 1.0))
        self.desired_weight: float = self.weight
        self.instances: list[Instance] = []
        self._rr = itertools.count()
        self._lock = threading.Lock()

    def pick(self) -> Instance | None:
        """The live instance with the fewest requests in flight (round-robin among equals)."""
        instances = [i for i in self.instances if i.alive]
        if not instances:
            return None
        start = next(self._rr) % len(instances)
        ordered = instances[start:] + instances[:start]
        return min(ordered, key=lambda i: i.in_flight)


def start_instances(
    fleet: VariantFleet,
    count: int,
    log_group: str,
    log_sink: LogSink,
    startup_timeout: float,
    stream_template: str = "{variant}/{instance_id}",
) -> list[Instance]:
    """Start ``count`` instances in parallel and wait until all pass the ping health check.

    ``stream_template`` names each instance's log stream (see :attr:`Instance.log_stream`).
    On failure every instance started here is stopped again and HealthCheckFailed is raised.
    """
    new = [
        Instance(
            fleet.name,
            fleet.instance_type,
            fleet.model_dir,
            fleet.environment,
            log_group,
            log_sink,
            memory_limit_mb=getattr(fleet, "memory_limit_mb", None),
            stream_template=stream_template,
        )
        for _ in range(count)
    ]
    deadline = time.monotonic() + startup_timeout
    try:
        for instance in new:
            instance.start()
        for instance in new:
            instance.wait_healthy(deadline)
    except BaseException:
        for instance in new:
            instance.stop(grace=2.0)
        raise
    return new


def stop_all() -> None:
    """Stop every instance this process started (gateway shutdown)."""
    with _all_lock:
        instances = list(_all_instances)
    threads = [threading.Thread(target=i.stop, kwargs={"grace": 3.0}) for i in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
