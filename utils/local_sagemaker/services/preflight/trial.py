"""A real instance of the model: the emulated container loads it, answers ``/ping`` and serves
the sample requests, exactly as an endpoint's instance does (``services/fleet/instance.py``)."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ...core.errors import AwsError
from ...core.messages import log_group_for, model_error, ping_failure_reason
from ...core.worker_contract import IMAGE_ENV
from ..fleet.instance import HealthCheckFailed, Instance
from ..fleet.invocation import forward
from .archive_checks import CONTAINER_MODEL_DIR, VARIANT
from .findings import Finding, error, ok
from .handler_checks import ENDPOINT

#: The last line of a Python traceback: ``SomeError: message``.
_EXCEPTION_LINE = re.compile(r"^(?:[\w.]+\.)?(?P<type>\w*(?:Error|Exception|Exit))(?::\s*(?P<message>.*))?$")


@dataclass(frozen=True)
class Sample:
    """One request to send: body, Content-Type, and Accept (None: the container's default)."""

    body: bytes
    content_type: str
    accept: str | None = None
    name: str = "sample"


@dataclass
class ContainerLog:
    """Collects the instance's log lines (the LogSink of the trial's instance)."""

    lines: list[str] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, group: str, stream: str, line: str) -> None:
        with self._changed:
            self.lines.append(line)
            self._changed.notify_all()

    def snapshot(self) -> list[str]:
        with self._changed:
            return list(self.lines)

    def wait_for_exception(self, since: int, model_dir: Path, timeout: float = 2.0) -> str | None:
        """The first exception line logged after line ``since``, waiting up to ``timeout`` s.

        The worker logs a traceback before it answers, but its output reaches this log through a
        pipe read on another thread, so the line can arrive just after the answer.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = last_exception(self.lines[since:], model_dir)
                remaining = deadline - time.monotonic()
                if found is not None or remaining <= 0:
                    return found
                self._changed.wait(remaining)


def last_exception(lines: list[str], model_dir: Path) -> str | None:
    """The last ``SomeError: message`` line in the log, if any, with the local model folder
    written as the container's ``/opt/ml/model``."""
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line.strip()):
            return line.strip().replace(str(model_dir), CONTAINER_MODEL_DIR)
    return None


def _files_in(model_dir: Path) -> str:
    names = sorted(
        p.relative_to(model_dir).as_posix()
        for p in model_dir.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    shown = ", ".join(names[:8]) + (f", ... ({len(names)} files)" if len(names) > 8 else "")
    return shown or "nothing"


def fix_for(exception: str | None, model_dir: Path) -> str:
    """A fix for the exception the container logged, in words."""
    if exception is None:
        return "Read the container log (--log) for the first error."
    if "InstallModuleError" in exception:
        return (
            "pip could not install code/requirements.txt (its ERROR lines are above): check "
            "each name and version on pypi.org, and that the endpoint can reach the package "
            "index (an endpoint in a VPC without internet access cannot)."
        )
    if "ModuleNotFoundError" in exception or "ImportError" in exception:
        return (
            "Add the missing package to code/requirements.txt (the container pip-installs it at "
            "start), or pick an image that has it."
        )
    if "FileNotFoundError" in exception or "No such file" in exception:
        return f"model_fn opens a file the archive does not hold; it holds: {_files_in(model_dir)}."
    if "NotImplementedError" in exception and "model_fn" in exception:
        return "Define model_fn(model_dir) in the handler script."
    return "Fix what the last log line says; --log prints the whole container log."


def run_trial(
    model_dir: Path,
    environment: dict[str, str],
    image: str,
    samples: list[Sample],
    startup_timeout: float,
    invocation_timeout: float,
    log: ContainerLog,
) -> list[Finding]:
    """Start one instance on ``model_dir``, ping it until healthy, send each sample, stop it."""
    env = {**environment, IMAGE_ENV: image}
    instance = Instance(
        variant=VARIANT,
        instance_type="ml.m5.large",
        model_dir=model_dir,
        environment=env,
        log_group=log_group_for(ENDPOINT),
        log_sink=log,
    )
    findings: list[Finding] = []
    try:
        started = time.monotonic()
        instance.start()
        try:
            instance.wait_healthy(started + startup_timeout)
        except HealthCheckFailed as exc:
            exception = log.wait_for_exception(0, model_dir)
            lines = log.snapshot()
            pip_errors = [line for line in lines if line.startswith("ERROR: ")]
            seen = " ".join(pip_errors[-2:] + ([exception] if exception else []))
            seen = f"The log shows: {seen}" if seen else f"({exc})"
            findings.append(
                error(
                    "ping", "the model does not load: /ping never answered 200",
                    f"{ping_failure_reason(VARIANT)} {seen}",
                    fix_for(exception, model_dir),
                )
            )
            return findings
        findings.append(
            ok("ping", f"model loaded, /ping answered 200 after {time.monotonic() - started:.1f} s")
        )
        for sample in samples:
            findings.append(_invoke(instance, sample, invocation_timeout, log, model_dir))
    finally:
        instance.stop(grace=2.0)
    return findings


def _invoke(
    instance: Instance, sample: Sample, timeout: float, log: ContainerLog, model_dir: Path
) -> Finding:
    headers = {"Content-Type": sample.content_type}
    if sample.accept:
        headers["Accept"] = sample.accept
    before = len(log.snapshot())
    what = f"{sample.name} ({sample.content_type}, {len(sample.body):,} bytes)"
    try:
        reply = forward(instance, headers, sample.body, timeout)
    except TimeoutError:
        return error(
            "invoke", f"{what}: no answer within {timeout:.0f} s",
            model_error(ENDPOINT, 0, None).message,
            "Make the prediction faster, or send a smaller request.",
        )
    except AwsError as exc:
        return error(
            "invoke", f"{what}: the container went away", f"{exc.code}: {exc.message}",
            fix_for(log.wait_for_exception(before, model_dir), model_dir),
        )
    if 200 <= reply.status < 300:
        answer = reply.body[:120].decode("utf-8", "replace").strip()
        more = " ..." if len(reply.body) > 120 else ""
        return ok(
            "invoke",
            f"{what} -> {reply.status} {reply.headers.get('Content-Type')}: {answer}{more}",
        )
    exception = log.wait_for_exception(before, model_dir)
    seen = f" The log shows: {exception}" if exception else ""
    return error(
        "invoke", f"{what} -> {reply.status}",
        model_error(ENDPOINT, reply.status, reply.body).message + seen,
        fix_for(exception, model_dir),
    )
