"""How an instance's worker process is started: the one replaceable piece of the fleet.

:func:`start_worker` returns a running worker serving the model in ``model_dir``; everything
else about an instance (its port, health, requests, logs, stopping) works on that process
whatever started it, through the few ``subprocess.Popen`` members of :class:`Worker`.

Two ways to start one, the same worker program either way (``container/server.py``):

* **forked from a template** (Linux, the default): a template process per distinct
  interpreter-level environment (``container/template.py``, driven by :mod:`.templates`) has
  already imported numpy, pandas, scikit-learn and the worker's modules; each worker is a fork of
  it that takes the instance's environment, pipes and folder, so an instance starts in tens of
  milliseconds instead of the seconds those imports take. :func:`prewarm` starts the usual
  template before the first instance asks for one: when the account gets its first model
  (CreateModel, or a restart that restores models), so a server that never starts an instance
  does not pay for the imports.
* **a fresh process** (``python -m utils.local_sagemaker.container.server``): on Windows (no
  fork) and macOS (see the choice below), for a model whose code brings a ``requirements.txt``
  (its environment must come first on ``sys.path`` before numpy or pandas is imported; a code
  folder downloaded from S3 by the worker may bring one too), with
  ``LOCAL_SAGEMAKER_WORKER_START=fresh``, and whenever a template cannot fork.

Every process start runs on one long-lived launcher thread: Linux ``PR_SET_PDEATHSIG`` (set by
the worker and the template) fires when the *thread* that forked the child exits, so forking from
short-lived request threads would kill workers at random. Workers also exit when their stdin pipe
from the gateway closes, which is how they follow the gateway on macOS and Windows; a forked
worker's stdin is such a pipe from the gateway too, and it also follows its template.

A fresh start is plain ``subprocess.Popen`` on every platform: no ``preexec_fn`` (Windows has no
fork, and running Python between fork and exec in a threaded server is unsafe anyway). A
serverless memory size travels in the environment and the worker bounds itself
(``container/memory_bound.py``), forked or not.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Protocol

from ...core.settings import PROJECT_ROOT, worker_start
from ...core.worker_contract import (
    DEFAULT_SUBMIT_DIRECTORY,
    MEMORY_LIMIT_ENV,
    REQUIREMENTS,
    WORKER_MODULE,
    WORKER_PORT_ENV,
    local_code_directory,
)
from .templates import TemplateUnavailable, WorkerTemplate

log = logging.getLogger("local_sagemaker.launcher")


class Worker(Protocol):
    """What the fleet uses of a worker process: ``subprocess.Popen``'s members, which a worker
    forked by a template (:class:`.templates.ForkedWorker`) offers too."""

    @property
    def pid(self) -> int: ...

    @property
    def stdin(self) -> IO[bytes] | None: ...

    @property
    def stdout(self) -> IO[bytes] | None: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


Popen = subprocess.Popen[bytes]


class ProcessLauncher:
    """Runs process starts on a single thread that lives as long as the gateway."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Popen], Future[Popen]]] = (
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

    def call(self, job: Callable[[], Popen]) -> Popen:
        """Run ``job`` on the launcher thread and return its process."""
        future: Future[Popen] = Future()
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
#   local: `ml.m5.large` and `ml.c5.2xlarge` both run on your computer's CPU: every instance is a
#     process of its own, and all of them share your cores with the gateway and your notebook.
#     The instance type changes the price the meter uses and the quota that applies (how many
#     instances of that type your account may run), not the speed or the memory.
#   why: the tutorial runs on one computer; the instance type still decides quotas and prices.
#   notice: On AWS each instance is a machine of its own type (`ml.m5.large`: 2 vCPUs and 8 GiB;
#     `ml.c5.2xlarge`: 8 vCPUs and 16 GiB). A second instance adds a whole machine: up to twice
#     the traffic served, and a transform job whose input is split into at least as many files
#     as instances done in about half the time (each file goes to one instance). Locally a second
#     instance is faster only as far as your free cores allow, and not at all when they are busy;
#     compare modes and settings by what they do, not by local speed-ups.
# FIDELITY platform.speed DIFFERS: faster, not slower
#   local: An [endpoint](docs/glossary.md#endpoint) is [`InService`](docs/glossary.md#inservice)
#     in seconds; a [cold start](docs/glossary.md#cold-start) is a real process start plus model
#     load on your machine.
#   why: nothing is provisioned: no instance to boot, no image to pull, no model to download
#     over a network.
#   notice: On AWS an endpoint takes minutes and a cold start longer. Comparisons on one machine
#     (cold vs warm, one record vs a hundred) carry over; absolute times are your machine's.
def start_worker(
    model_dir: Path,
    environment: dict[str, str],
    memory_limit_mb: int | None = None,
    *,
    fresh: bool = False,
) -> Worker:
    """Start one worker serving the model in ``model_dir``; returns once it has been forked.

    stdin is a pipe the worker watches (it exits when the gateway goes); stdout and stderr are
    one pipe carrying the port line, then the container log. ``memory_limit_mb`` (a serverless
    memory size) is passed on for the worker to bound its own address space where the platform
    can. The worker is forked from a warm template where :func:`fresh_start_reason` allows,
    unless ``fresh`` asks for a new process (a serverless cold start: see the FIDELITY note in
    ``services/serverless/fleet.py``).
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
    cwd = str(model_dir.parent)
    if not fresh and fresh_start_reason(model_dir, env) is None:
        template = _template_for(env)
        try:
            return template.fork(env, cwd, TEMPLATE_READY_TIMEOUT)
        except TemplateUnavailable as error:
            log.warning("starting a fresh worker instead: %s", error)
            _forget_template(template)
    cmd = [sys.executable, "-m", WORKER_MODULE]
    return _shared_launcher().call(
        lambda: subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            # Its own session, as a forked worker takes one (ARCHITECTURE.md, "Instances are
            # sessions"); ignored on Windows.
            start_new_session=True,
        )
    )


# FIDELITY platform.worker-start DIFFERS: instance workers are forked from a warm template
#   local: On Linux an endpoint, async or transform instance is a fork of a process that has
#     already imported numpy, pandas and scikit-learn, so it is InService in well under a second;
#     a model with its own requirements.txt, a serverless cold start, macOS and Windows start a
#     new Python process instead (LOCAL_SAGEMAKER_WORKER_START=fresh does so everywhere).
#   why: a notebook creates and deletes many endpoints; the imports, not the model, took most
#     of each start.
#   notice: Libraries your code imports are already loaded when it runs (an import-time side
#     effect happened once, in the template), and Python's string hashing is the same in every
#     forked worker; on AWS each container is a new process.
# Forking after macOS's system frameworks (Accelerate, which numpy may use, and anything that
# touches Objective-C) are loaded can crash or deadlock the child, which is why Python's
# multiprocessing stopped forking there (3.8); Windows cannot fork at all. Both start fresh
# workers: slower to start, the same in every other way.
def fresh_start_reason(model_dir: Path, environment: dict[str, str]) -> str | None:
    """Why this worker must start as a fresh process rather than a template's fork; None if not.

    ``environment`` is the worker's full environment (``SAGEMAKER_SUBMIT_DIRECTORY`` says where
    its code is).
    """
    if worker_start() == "fresh":
        return "LOCAL_SAGEMAKER_WORKER_START=fresh"
    if not sys.platform.startswith("linux"):
        return f"workers are forked only on Linux (this is {sys.platform})"
    if not hasattr(socket, "send_fds"):
        return "this Python cannot pass file descriptors to the template"
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY") or DEFAULT_SUBMIT_DIRECTORY
    code = local_code_directory(submit, str(model_dir))
    if code is None:
        return "the worker downloads its code, which may bring a requirements.txt"
    if (model_dir.parent / code / REQUIREMENTS).is_file():
        return f"the model's {REQUIREMENTS} gets an environment of its own"
    return None


#: How long a start waits for a template still importing its libraries (they take seconds; a
#: template that takes longer is broken, and a fresh worker is started instead).
TEMPLATE_READY_TIMEOUT = 60.0

#: Prefixes of the environment variables the template's imports (the interpreter, numpy and its
#: BLAS and OpenMP runtimes, scipy, pandas, scikit-learn, joblib, the C library) may read: a
#: worker whose environment sets one of them needs a template started with the same values. The
#: others (``SAGEMAKER_*``, ``SM_*``, ``AWS_*``, the model's own settings) are read after the fork,
#: when the worker has its whole environment.
IMPORT_TIME_PREFIXES = (
    "PYTHON", "OMP_", "GOMP_", "KMP_", "OPENBLAS_", "GOTO", "MKL_", "BLIS_", "VECLIB_",
    "NUMEXPR_", "NPY_", "NUMPY_", "SCIPY_", "SKLEARN_", "PANDAS_", "JOBLIB_", "LOKY_",
    "MALLOC_", "LD_", "LC_", "LANG", "TZ",
)  # fmt: skip


def template_environment(environment: dict[str, str]) -> dict[str, str]:
    """The part of a worker's environment its template is started with (and known by)."""
    return {k: v for k, v in environment.items() if k.startswith(IMPORT_TIME_PREFIXES)}


_templates: dict[tuple[tuple[str, str], ...], WorkerTemplate] = {}
_templates_lock = threading.Lock()


def _template_for(environment: dict[str, str]) -> WorkerTemplate:
    """The running template for this worker environment, started if there is none."""
    template_env = template_environment(environment)
    key = tuple(sorted(template_env.items()))
    with _templates_lock:
        template = _templates.get(key)
        if template is None or not template.alive:
            template = WorkerTemplate(template_env, _shared_launcher().call)
            _templates[key] = template
    return template


def _forget_template(template: WorkerTemplate) -> None:
    with _templates_lock:
        for key, known in list(_templates.items()):
            if known is template:
                del _templates[key]
    template.close()


def prewarm(environment: dict[str, str] | None = None) -> None:
    """Start the template for workers of ``environment`` (default: a model without import-time
    settings) now, so the first instance does not wait for its imports. Does nothing where
    workers start fresh."""
    env = dict(environment or {})
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = _module_path(env)
    if worker_start() == "fresh" or not sys.platform.startswith("linux"):
        return
    _template_for(env)


def stop_templates() -> None:
    """Stop every template (gateway shutdown; stop the instances first)."""
    with _templates_lock:
        templates = list(_templates.values())
        _templates.clear()
    for template in templates:
        template.close()
