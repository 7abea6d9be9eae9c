"""Start, find and stop the local SageMaker: a background process that outlives notebook kernels.

Python API (what the notebooks' setup helper calls):

* :func:`ensure_running` -> URL: reuse the running server or start one, wait until it answers;
  a server started from other sources than the ones on disk now (the project was updated while
  it ran) is restarted, with a notice, so nobody talks to old code;
* :func:`stop`: stop the gateway and every worker it started; no process is left behind;
* :func:`status` / :func:`is_running` / :func:`url`: what is running, if anything;
* :func:`client_environment` -> dict: the AWS settings (endpoint URL, the local access key,
  region) that point boto3, the SageMaker SDK and the AWS CLI at it;
* :func:`sdk_environment` -> dict: what the SageMaker SDK v3 needs besides, offline (telemetry
  off);
* :func:`local_route` -> JSON: one of its own ``/_local`` routes (the meter, a transform job's
  progress, an endpoint's workers, the telemetry flush), read with a signed request.

The server writes ``state.json`` (pid, port, URL, the :func:`code_version` it runs) into the state
folder, by default ``build/local-sagemaker/`` under the project root (``LOCAL_SAGEMAKER_STATE_DIR``
overrides). Port: ``LOCAL_SAGEMAKER_PORT`` if set (0 = any free port), else 8765 when free, else
any free port, so a stray process on 8765 never blocks the tutorial. Only 127.0.0.1 is ever bound.

The local access key (``credentials.json``, owner-only) is made at the first start in the same
folder; every request must be signed with it (see ``SECURITY.md``).

Linux, macOS and Windows alike: nothing Unix-only is imported. Start and stop are serialised
with ``filelock`` (``flock`` where the platform has it, ``msvcrt`` locking on Windows, a lock
file elsewhere); processes are watched and stopped with ``psutil``, which knows a zombie from a
live process and does not, like ``os.kill(pid, 0)`` on Windows, terminate what it asks about.
The gateway is detached from whoever starts it (its own session on Unix, its own process group
without a console window on Windows) so it outlives the notebook kernel that started it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from ..core import settings
from ..core.credentials import client_environment_for, load_or_create

STATE_FILE = "state.json"
LOG_FILE = "gateway.log"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
#: The local SageMaker's own sources (this package), whose hash a running server records.
CODE_ROOT = Path(__file__).resolve().parent.parent
RESTARTED_NOTICE = (
    "The local SageMaker that was running had been started from older code (the project was "
    "updated since), so it was restarted with the current code. Resources it held (endpoints, "
    "jobs, S3 objects) are gone: run your notebook from the top to create them again."
)


# -- client settings ----------------------------------------------------------------------------


#: AWS settings that would pair the local key with another identity (a session token) or let a
#: profile choose the credentials: whoever points clients at the local SageMaker unsets them.
CONFLICTING_AWS_VARIABLES = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)


def client_environment(url: str | None = None) -> dict[str, str]:
    """Settings for the running (or given) local SageMaker; starts it if needed."""
    return client_environment_for(url or ensure_running())


#: The SageMaker SDK's user configuration written into the state folder by :func:`sdk_environment`.
SDK_CONFIG_FILE = "sagemaker-sdk-config.yaml"


def sdk_environment() -> dict[str, str]:
    """Settings the SageMaker SDK v3 needs, beside :func:`client_environment`, to work offline.

    The SDK sends telemetry to a fixed public AWS address (not through the endpoint settings);
    a user configuration file with ``TelemetryOptOut`` (``SAGEMAKER_USER_CONFIG_OVERRIDE``)
    turns that off. Nothing else is switched off: the SDK's role validation
    (``iam:SimulatePrincipalPolicy``) is answered by the local IAM.
    """
    directory = settings.state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / SDK_CONFIG_FILE
    config.write_text(
        "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"
    )
    return {"SAGEMAKER_USER_CONFIG_OVERRIDE": str(config)}


def local_route(url: str, path: str, timeout: float = 5.0) -> Any:
    """``GET <url><path>`` of a ``/_local`` route, signed with the local key; its JSON answer.

    Like every request but the health check, these must be signed (``SECURITY.md``). Raises
    ``urllib.error.HTTPError`` when the route answers an error.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    credentials = load_or_create(settings.state_dir())
    request = AWSRequest(method="GET", url=url.rstrip("/") + path)
    signer = Credentials(credentials.access_key_id, credentials.secret_access_key)
    # The routes are the local SageMaker's own: signed for its service, as its API is.
    SigV4Auth(signer, "sagemaker", settings.REGION).add_auth(request)
    prepared = urllib.request.Request(request.url, headers=dict(request.headers.items()))
    with urllib.request.urlopen(prepared, timeout=timeout) as response:
        return json.loads(response.read())


# -- state --------------------------------------------------------------------------------------


def code_version(root: Path = CODE_ROOT) -> str:
    """A hash of the local SageMaker's source files as they are on disk now.

    The server records it when it starts; :func:`ensure_running` compares it with the files of
    the moment, so a server still running code from before an update (``git pull``) is found.
    """
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _state_path() -> Path:
    return settings.state_dir() / STATE_FILE


def _read_state() -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(_state_path().read_text())
        return state
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    import psutil  # imported where used: the gateway process, which imports this module, never is

    if pid <= 0:
        return False
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # someone else's process: it exists
        return True


def _health(url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{url}/_local/health", timeout=timeout) as response:
            health: dict[str, Any] = json.loads(response.read())
            return health
    except (OSError, ValueError):
        return None


def status() -> dict[str, Any] | None:
    """``{"pid", "port", "url", ...}`` of the running server, or None."""
    state = _read_state()
    if not state or not _alive(int(state.get("pid", 0))):
        return None
    health = _health(state["url"])
    if not health or health.get("pid") != state["pid"]:
        return None
    return state


def is_running() -> bool:
    return status() is not None


def url() -> str | None:
    """URL of the running server, or None."""
    state = status()
    return state["url"] if state else None


@contextlib.contextmanager
def _lock() -> Any:
    """Serialise start/stop between processes (two kernels starting at once get one server)."""
    directory = settings.state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(directory / "lock"):
        yield


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _choose_port() -> int:
    forced = settings.requested_port()
    if forced is not None:
        return forced
    return settings.DEFAULT_PORT if _port_free(settings.DEFAULT_PORT) else 0


def print_notice(text: str) -> None:
    """Tell the learner on stderr: ``python -m utils.local_sagemaker env`` prints shell code on
    stdout, which must stay clean."""
    print(text, file=sys.stderr, flush=True)


def ensure_running(
    timeout: float = START_TIMEOUT, notify: Callable[[str], None] = print_notice
) -> str:
    """Return the URL of the local SageMaker, starting it in the background if needed.

    A server whose recorded :func:`code_version` differs from the sources on disk is stopped and
    started again, and ``notify`` gets :data:`RESTARTED_NOTICE` (by default, on stderr).
    """
    current = code_version()
    state = status()
    if state and state.get("code") == current:
        return str(state["url"])
    with _lock():
        state = status()
        if state and state.get("code") == current:
            return str(state["url"])
        if state:
            _terminate_group(int(state["pid"]))
            notify(RESTARTED_NOTICE)
        directory = settings.state_dir()
        load_or_create(directory)  # the key exists before the first client asks for it
        _state_path().unlink(missing_ok=True)
        log = open(directory / LOG_FILE, "ab")  # noqa: SIM115 (handed to the child)
        env = dict(os.environ)
        root = str(settings.PROJECT_ROOT)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        env["LOCAL_SAGEMAKER_STATE_DIR"] = str(directory)
        cmd = [
            sys.executable,
            "-m",
            "utils.local_sagemaker",
            "serve",
            "--port",
            str(_choose_port()),
        ]
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=root,
            **_detached(),
        )
        log.close()
        deadline = time.monotonic() + timeout
        delay = 0.01
        while time.monotonic() < deadline:
            state = _read_state()
            if state and state.get("pid") == proc.pid:
                health = _health(state["url"])
                if health and health.get("pid") == proc.pid:
                    for note in state.get("notes") or []:
                        notify(f"local SageMaker: {note}")
                    return str(state["url"])
            if proc.poll() is not None:
                break
            time.sleep(delay)  # polling the child's readiness, with a growing interval
            delay = min(delay * 2, 0.1)
        tail = (directory / LOG_FILE).read_text(errors="replace")[-2000:]
        if proc.poll() is None:
            _terminate_group(proc.pid)
        raise RuntimeError(f"The local SageMaker did not start. Its log ends with:\n{tail}")


def _running(proc: Any) -> bool:
    """Whether a ``psutil.Process`` still runs (the same process: its pid may have been reused)."""
    import psutil

    try:
        return bool(proc.is_running()) and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _detached() -> dict[str, Any]:
    """``Popen`` arguments that let the gateway outlive the process (a kernel) that starts it.

    Unix: a session of its own, so the kernel's end, or Ctrl+C in its terminal, does not reach it.
    Windows: a process group of its own (Ctrl+C and Ctrl+Break of the console do not reach it)
    and no console window.
    """
    if sys.platform == "win32":
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW
        return {"creationflags": flags}
    return {"start_new_session": True}


def _terminate_group(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """Ask the gateway to stop, wait for it, then kill whatever it started that is still there.

    On Unix the request is SIGTERM and the gateway stops its workers itself; Windows has no
    SIGTERM to send to another process (``terminate`` is TerminateProcess there), so the
    workers, listed before the gateway goes, are killed here; they also exit on their own when
    their stdin pipe from the gateway closes.
    """
    import psutil

    try:
        gateway = psutil.Process(pid)
        started = gateway.children(recursive=True)
    except psutil.NoSuchProcess:
        return
    with contextlib.suppress(psutil.NoSuchProcess):
        gateway.terminate()
    psutil.wait_procs([gateway], timeout=timeout)
    left = [proc for proc in [gateway, *started] if _running(proc)]
    for proc in left:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            proc.kill()
    psutil.wait_procs(left, timeout=timeout)


def stop() -> bool:
    """Stop the local SageMaker and all its workers. Returns False if nothing was running."""
    with _lock():
        state = _read_state()
        if not state:
            return False
        pid = int(state.get("pid", 0))
        running = pid > 0 and _alive(pid)
        if running:
            _terminate_group(pid)
        _state_path().unlink(missing_ok=True)
        return running


#: What ``reset`` removes from the state folder: the saved state of the local account and the
#: working folders of its endpoints and jobs (leftovers of a killed server), and the server log.
RESET_ENTRIES = ("saved", "endpoints", "transform-jobs", LOG_FILE)

#: What ``reset`` keeps, and why (said in its output).
RESET_KEEPS = {
    "credentials.json": "the local access key, which running notebooks and shells still sign with",
    "model-environments": "the packages installed for models' requirements.txt (a cache)",
}


def reset() -> tuple[bool, list[str]]:
    """Stop the local SageMaker if it runs and delete everything it saved for the account.

    Returns whether a server was stopped and the entries of the state folder removed. The
    next ``start`` begins with an empty account, as a new AWS account would.
    """
    import shutil

    stopped = stop()
    removed: list[str] = []
    with _lock():
        directory = settings.state_dir()
        for name in RESET_ENTRIES:
            path = directory / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
            else:
                continue
            removed.append(name)
        for path in directory.glob(f"{STATE_FILE}*"):
            path.unlink(missing_ok=True)
    return stopped, removed


# -- the server process ---------------------------------------------------------------------------


def serve(port: int) -> None:
    """Run the gateway in this process until SIGTERM/SIGINT (``python -m ... serve``)."""
    from ..core.httpserver import LocalWSGIServer
    from ..core.sigv4 import Verifier
    from .gateway import Gateway, is_runtime_path
    from .http_errors import GatewayRequestHandler
    from .request_guard import RequestGuard
    from .signed_requests import SignatureCheck

    directory = settings.state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    credentials = load_or_create(directory)
    holder: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    try:
        server = LocalWSGIServer(port, app, GatewayRequestHandler)
    except OSError:
        if port == 0:
            raise
        # the preferred port was taken meanwhile
        server = LocalWSGIServer(0, app, GatewayRequestHandler)
    bound = server.server_address[1]
    base_url = f"http://127.0.0.1:{bound}"
    os.environ.update(client_environment_for(base_url))
    gateway = Gateway(base_url, directory)
    # Every request meets the guard (Host, browser origins), then the signature check.
    holder["app"] = RequestGuard(
        SignatureCheck(gateway, Verifier([credentials]), is_runtime_path),
        bound,
        settings.allowed_origins(),
        is_runtime_path,
    )

    stopping = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # serve_forever looks for shutdown() every poll_interval: 0.5 s by default, a pause every
    # stop waits for; checking 20 times a second costs an idle gateway about 2 ms of CPU a second.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="http", daemon=True
    )
    thread.start()
    # The saved state comes back before anyone is told the server is up (state.json).
    notes = gateway.restore()
    state = {
        "pid": os.getpid(),
        "port": bound,
        "url": base_url,
        "started": time.time(),
        "code": code_version(),
        "notes": notes,
    }
    tmp = directory / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(directory / STATE_FILE)
    print(f"local SageMaker listening on {base_url} (pid {os.getpid()})", flush=True)
    stopping.wait()
    print("local SageMaker stopping", flush=True)
    gateway.shutdown()
    server.shutdown()
    server.server_close()
    print("local SageMaker stopped", flush=True)
    _end_process()


def _end_process() -> None:
    """End the stopped gateway without tearing down its interpreter.

    By now the state is saved, every worker stopped and the logs shipped; what is left is the
    interpreter's own teardown (moto, botocore and the rest: thousands of modules and objects),
    which nothing needs: measured at about 0.9 CPU-seconds, and 1 to 3 s before ``stop``
    returns on a busy 2-core machine. The instance workers end the same way.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
