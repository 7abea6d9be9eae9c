"""How an instance's worker process is started: the one replaceable piece of the fleet.

:func:`start_worker` runs ``python -m utils.local_sagemaker.container.server`` with the
instance's environment and returns the process; everything else about an instance (its port,
health, requests, logs, stopping) works on that process whatever started it.

Every worker is started from one long-lived launcher thread: Linux ``PR_SET_PDEATHSIG`` (set by
the worker) fires when the *thread* that forked the child exits, so forking from short-lived
request threads would kill workers at random. Workers also exit when their stdin pipe from the
gateway closes, which is how they follow the gateway on macOS and Windows.

The start itself is plain ``subprocess.Popen`` on every platform: no ``preexec_fn`` (Windows has
no fork, and running Python between fork and exec in a threaded server is unsafe anyway). A
serverless memory size travels in the environment and the worker bounds itself
(``container/memory_bound.py``).
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from ...core.settings import PROJECT_ROOT
from ...core.worker_contract import MEMORY_LIMIT_ENV, WORKER_MODULE, WORKER_PORT_ENV

Worker = subprocess.Popen[bytes]


class ProcessLauncher:
    """Runs process starts on a single thread that lives as long as the gateway."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Worker], Future[Worker]]] = (
            queue.SimpleQueue()
        )
        threading.Thread(target=self._run, name="process-launcher", daemon=True).start()

    def _run(self) -> None:
        while True:
            job, future = self._jobs.get()
            try:
                future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)

    def call(self, job: Callable[[], Worker]) -> Worker:
        """Run ``job`` on the launcher thread and return its process."""
        future: Future[Worker] = Future()
        self._jobs.put((job, future))
        return future.result()


_launcher: ProcessLauncher | None = None
_launcher_lock = threading.Lock()


def _shared_launcher() -> ProcessLauncher:
    global _launcher
    with _launcher_lock:
        if _launcher is None:
            _launcher = ProcessLauncher()
    return _launcher


#: Windows variables Python itself needs in a child, which a container's environment lacks:
#: SYSTEMROOT (without it a Windows Python cannot seed its random numbers or open sockets), PATH
#: (the DLLs of numpy and scipy in a conda environment), TEMP and TMP.
WINDOWS_ESSENTIALS = ("SYSTEMROOT", "PATH", "TEMP", "TMP")


def _module_path(environment: dict[str, str]) -> str:
    """The worker's PYTHONPATH: the project, the model's own setting, then the gateway's.

    The worker runs on the gateway's interpreter, so it finds modules as the gateway does.
    """
    parts = (str(PROJECT_ROOT), environment.get("PYTHONPATH", ""), os.environ.get("PYTHONPATH", ""))
    return os.pathsep.join(p for p in parts if p)


# FIDELITY platform.instance-hardware DIFFERS: one machine plays every instance
#   local: `ml.m5.large` and `ml.c5.2xlarge` both run on your CPU, and two instances are two
#     processes sharing your cores. The type changes the price the meter uses, not the speed.
#   why: one laptop has one CPU; the instance type still decides quotas and prices.
#   notice: On AWS each instance is its own machine of its type: what depends on separate
#     machines (two instances serving twice the traffic, a batch job finishing in half the time)
#     is explained in the notebooks but cannot be measured here.
# FIDELITY platform.speed DIFFERS: faster, not slower
#   local: An [endpoint](docs/glossary.md#endpoint) is [`InService`](docs/glossary.md#inservice)
#     in seconds; a [cold start](docs/glossary.md#cold-start) is a real process start plus model
#     load on your machine.
#   why: nothing is provisioned: no instance to boot, no image to pull, no model to download
#     over a network.
#   notice: On AWS an endpoint takes minutes and a cold start longer. Comparisons on one machine
#     (cold vs warm, one record vs a hundred) carry over; absolute times are your machine's.
def start_worker(
    model_dir: Path, environment: dict[str, str], memory_limit_mb: int | None = None
) -> Worker:
    """Start one worker serving the model in ``model_dir``; returns once it has been forked.

    stdin is a pipe the worker watches (it exits when the gateway goes); stdout and stderr are
    one pipe carrying the port line, then the container log. ``memory_limit_mb`` (a serverless
    memory size) is passed on for the worker to bound its own address space where the platform
    can.
    """
    env = dict(environment)
    if sys.platform == "win32":
        env.update({k: os.environ[k] for k in WINDOWS_ESSENTIALS if k in os.environ})
    env["SM_MODEL_DIR"] = str(model_dir)
    env["PYTHONUNBUFFERED"] = "1"
    env[WORKER_PORT_ENV] = "0"
    env.pop(MEMORY_LIMIT_ENV, None)
    if memory_limit_mb:
        env[MEMORY_LIMIT_ENV] = str(memory_limit_mb)
    env["PYTHONPATH"] = _module_path(environment)
    cmd = [sys.executable, "-m", WORKER_MODULE]
    return _shared_launcher().call(
        lambda: subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(model_dir.parent),
        )
    )
