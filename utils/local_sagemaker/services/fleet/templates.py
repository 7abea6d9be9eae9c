"""The gateway's side of the worker templates (``container/template.py``): start one, ask it to
fork a worker, and follow that worker as if it were a child of the gateway.

A :class:`WorkerTemplate` is one template process and its control socket (``SOCK_SEQPACKET``, so
each message arrives whole with the file descriptors it carries). :meth:`WorkerTemplate.fork`
hands the template the worker's two pipes and environment and returns a :class:`ForkedWorker`,
which offers what the fleet uses of a ``subprocess.Popen`` (``pid``, ``stdin``, ``stdout``,
``returncode``, ``poll``, ``wait``, ``terminate``, ``kill``): the worker is the template's child,
so its exit status comes from the template, which reaps it and reports it on the socket.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import IO, Any

from ...core.settings import PROJECT_ROOT
from ...core.worker_contract import TEMPLATE_MODULE

log = logging.getLogger("local_sagemaker.worker_template")

#: Runs a process start on the launcher's long-lived thread (see ``launcher.py``).
Spawner = Callable[[Callable[[], "subprocess.Popen[bytes]"]], "subprocess.Popen[bytes]"]


class TemplateUnavailable(Exception):
    """The template cannot fork a worker now (it is gone, or not ready in time)."""


class ForkedWorker:
    """A worker forked by a template, followed through the template's reports."""

    def __init__(self, pid: int, stdin: IO[bytes], stdout: IO[bytes]) -> None:
        self.pid = pid
        self.stdin: IO[bytes] | None = stdin
        self.stdout: IO[bytes] | None = stdout
        self.returncode: int | None = None
        self._exited = threading.Event()

    def exited(self, code: int) -> None:
        """The template reaped this worker (called by the template's reader thread)."""
        if self.returncode is None:
            self.returncode = code
        self._exited.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0.0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # gone: its report is on its way
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class WorkerTemplate:
    """One template process, started for one interpreter-level environment."""

    def __init__(self, environment: dict[str, str], spawn: Spawner) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._control = ours
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[Future[ForkedWorker], int, int]] = {}
        self._workers: dict[int, ForkedWorker] = {}
        self._state_lock = threading.Lock()
        self._ready = threading.Event()
        self._gone = False
        cmd = [sys.executable, "-m", TEMPLATE_MODULE, str(theirs.fileno())]
        try:
            self.process = spawn(
                lambda: subprocess.Popen(
                    cmd,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    env=environment,
                    cwd=str(PROJECT_ROOT),
                    pass_fds=(theirs.fileno(),),
                )
            )
        finally:
            theirs.close()
        threading.Thread(target=self._read, name="template-control", daemon=True).start()
        threading.Thread(target=self._drain_stderr, name="template-stderr", daemon=True).start()

    @property
    def alive(self) -> bool:
        return not self._gone and self.process.poll() is None

    def wait_ready(self, timeout: float) -> bool:
        """Whether the template finished its imports within ``timeout`` seconds."""
        return self._ready.wait(timeout) and not self._gone

    def fork(self, environment: dict[str, str], cwd: str, timeout: float) -> ForkedWorker:
        """A new worker with ``environment`` in ``cwd``; raises :class:`TemplateUnavailable`."""
        if not self.wait_ready(timeout):
            raise TemplateUnavailable("the worker template is not ready")
        stdin_read, stdin_write = os.pipe()
        output_read, output_write = os.pipe()
        request_id = next(self._ids)
        future: Future[ForkedWorker] = Future()
        with self._state_lock:
            self._pending[request_id] = (future, stdin_write, output_read)
        message = json.dumps({"id": request_id, "env": environment, "cwd": cwd}).encode()
        try:
            with self._send_lock:
                socket.send_fds(self._control, [message], [stdin_read, output_write])
        except OSError as error:
            self._fail_pending(request_id, TemplateUnavailable(str(error)))
        finally:
            os.close(stdin_read)
            os.close(output_write)
        try:
            return future.result(timeout)
        except FutureTimeout:
            self._fail_pending(request_id, TemplateUnavailable("the worker template did not answer"))
            return future.result(0)

    def _fail_pending(self, request_id: int, error: Exception) -> None:
        with self._state_lock:
            entry = self._pending.pop(request_id, None)
        if entry is not None:
            future, stdin_write, output_read = entry
            os.close(stdin_write)
            os.close(output_read)
            future.set_exception(error)

    def _read(self) -> None:
        while True:
            try:
                data = self._control.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            self._handle(json.loads(data))
        self._control.close()
        self._gone = True
        self._ready.set()  # wake anyone waiting for a template that will never be ready
        with self._state_lock:
            pending = list(self._pending)
            workers = list(self._workers.values())
            self._workers.clear()
        for request_id in pending:
            self._fail_pending(request_id, TemplateUnavailable("the worker template exited"))
        # Its workers follow it (PR_SET_PDEATHSIG, SIGTERM); who reaps them no longer reports.
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            worker.exited(-signal.SIGTERM)

    def _handle(self, message: dict[str, Any]) -> None:
        if "ready" in message:
            self._ready.set()
        elif "exited" in message:
            with self._state_lock:
                worker = self._workers.pop(message["exited"], None)
            if worker is not None:
                worker.exited(int(message["code"]))
        elif "id" in message:
            if "pid" not in message:
                self._fail_pending(message["id"], TemplateUnavailable(message.get("error", "")))
                return
            with self._state_lock:
                entry = self._pending.pop(message["id"], None)
                if entry is None:
                    return
                future, stdin_write, output_read = entry
                worker = ForkedWorker(
                    message["pid"], os.fdopen(stdin_write, "wb"), os.fdopen(output_read, "rb")
                )
                # Registered before the next message is read, so its exit report finds it.
                self._workers[worker.pid] = worker
            future.set_result(worker)

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            log.warning("worker template: %s", raw.decode("utf-8", "replace").rstrip())

    def close(self) -> None:
        """Stop the template (its idle state ends; running workers follow it)."""
        importing = not self._ready.is_set()
        self._gone = True
        if self.process.stdin is not None:
            self.process.stdin.close()
        with contextlib.suppress(OSError):
            self._control.shutdown(socket.SHUT_RDWR)  # wakes the reader thread
        if importing:  # it reads its stdin only once its imports are done: nothing to lose
            with contextlib.suppress(OSError):
                self.process.kill()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
