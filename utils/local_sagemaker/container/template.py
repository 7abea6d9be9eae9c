"""A pre-warmed template of the instance worker: it imports the container's libraries once, then
forks a worker for each instance the gateway starts.

A fresh worker spends most of its start importing numpy, pandas and scikit-learn; a child forked
from a process that has already imported them starts serving in milliseconds. Run as
``python -m utils.local_sagemaker.container.template <fd>`` by the gateway's launcher
(``services/fleet/templates.py``), which keeps one template per distinct interpreter-level
environment, ``<fd>`` being this process's end of a ``SOCK_SEQPACKET`` control socket:

* the template sends ``{"ready": <pid>}`` once its imports are done;
* each request is one JSON message ``{"id", "env", "cwd"}`` carrying two file descriptors, the
  worker's stdin (a pipe from the gateway) and its stdout/stderr (a pipe to the gateway, the
  instance's log). The template forks; the child starts a session of its own (as a fresh
  worker does), takes those pipes as fds 0, 1 and 2, the instance's environment and folder, and
  then runs exactly what a fresh worker runs
  (:func:`.server.main`: the secret, the memory bound, following the gateway, the image's
  libraries, the user's code, serving on its port). The template answers ``{"id", "pid"}``;
* when a child exits the template reaps it and sends ``{"exited": <pid>, "code": <code>}``
  (``Popen.returncode``'s convention: minus the signal number when killed).

The template follows the gateway as a worker does: it exits when its stdin or its control socket
closes, and on Linux at once through ``PR_SET_PDEATHSIG``; its children in turn follow it and the
gateway (``PR_SET_PDEATHSIG`` towards the template, and their own stdin pipe from the gateway).

It stays single-threaded (a ``select`` loop; child exits arrive as ``SIGCHLD`` through a wakeup
pipe), because forking a process that runs other Python threads can deadlock the child. Only
Linux uses it: see the launcher for why macOS and Windows start fresh workers.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import select
import signal
import socket
import sys
import traceback
import warnings
from typing import Any

#: What the template imports before it forks: the worker program (which imports numpy and the
#: HTTP server), and the libraries of the AWS scikit-learn image a handler script uses without a
#: requirements.txt, with the estimators a typical pipeline unpickles. A missing one is skipped.
PRELOADED = (
    "utils.local_sagemaker.container.server",
    "numpy",
    "pandas",
    "joblib",
    "scipy",
    "sklearn",
    "sklearn.base",
    "sklearn.pipeline",
    "sklearn.compose",
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.linear_model",
    "sklearn.tree",
    "sklearn.ensemble",
    "sklearn.metrics",
)

#: Largest control message (an instance's environment as JSON).
MAX_MESSAGE = 1 << 20


def _follow_parent() -> None:
    """Die with the gateway on Linux at once (the stdin EOF covers the rest)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def preload() -> list[str]:
    """Import :data:`PRELOADED`; the modules that could not be imported."""
    missing = []
    for name in PRELOADED:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    control.send(json.dumps(message).encode())


def _become_worker(request: dict[str, Any], fds: list[int], inherited: list[int]) -> None:
    """In the forked child: take the instance's pipes, environment and folder, then serve."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # A session of its own, as a fresh worker gets (launcher): Linux schedules each session as
    # one group (autogroup), so every instance gets its own share of a busy machine instead of
    # all instances sharing the gateway's (ARCHITECTURE.md, "Instances are sessions").
    os.setsid()
    stdin_fd, output_fd = fds
    os.dup2(stdin_fd, 0)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    for fd in (stdin_fd, output_fd, *inherited):
        with contextlib.suppress(OSError):
            os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    # `python -m` puts the current folder first on sys.path; the rest (PYTHONPATH, the
    # interpreter's own folders) is the template's, which has the same PYTHONPATH.
    sys.path[0] = os.getcwd()
    from . import server

    sys.argv = [server.__file__ or ""]
    # Every fresh worker has its own random state: so does every forked one (`random` reseeds
    # itself after a fork; numpy's global generator does not).
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()
    server.main()


def _fork_worker(request: dict[str, Any], fds: list[int], inherited: list[int]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            _become_worker(request, fds, inherited)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    for fd in fds:
        os.close(fd)
    return pid


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(control, {"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def serve(control: socket.socket) -> None:
    """Fork a worker per request until the gateway goes."""
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    inherited = [control.fileno(), wake_read, wake_write]
    _send(control, {"ready": os.getpid()})
    while True:
        readable, _, _ = select.select([control, sys.stdin.fileno(), wake_read], [], [])
        if sys.stdin.fileno() in readable and not os.read(sys.stdin.fileno(), 4096):
            return  # the gateway is gone
        if wake_read in readable:
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_read, 4096):
                    pass
        if control in readable:
            data, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 2)
            if not data:
                return  # the gateway closed the control socket
            request = json.loads(data)
            if len(fds) != 2:
                for fd in fds:
                    os.close(fd)
                _send(control, {"id": request.get("id"), "error": "expected 2 file descriptors"})
            else:
                try:
                    pid = _fork_worker(request, fds, inherited)
                except OSError as error:
                    _send(control, {"id": request["id"], "error": str(error)})
                else:
                    _send(control, {"id": request["id"], "pid": pid})
        _reap(control)


def main() -> None:
    """Import the libraries, then serve fork requests on the control socket in ``argv[1]``."""
    _follow_parent()
    # The only other threads are native ones of the BLAS library numpy loads (OpenBLAS), which
    # stops and restarts them around fork() itself (pthread_atfork); no Python thread runs here.
    warnings.filterwarnings(
        "ignore", message=r".*multi-threaded, use of fork\(\)", category=DeprecationWarning
    )
    control = socket.socket(fileno=int(sys.argv[1]))
    missing = preload()
    if missing:
        print(f"not preloaded (not installed): {', '.join(missing)}", file=sys.stderr, flush=True)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        serve(control)  # ends when the gateway goes (or went while we were answering)
    # Nothing is left to clean up, and tearing down the interpreter with numpy, pandas and
    # scikit-learn loaded takes seconds on a busy machine (the gateway's stop waits for it).
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
