"""Run every preflight check on one model artifact, in the order a deployment meets them."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ...core.images import DEFAULT_SKLEARN_IMAGE, sklearn_image_libraries
from ...core.messages import ping_failure_reason
from ...core.settings import startup_health_timeout
from .archive_checks import VARIANT, Unpacked, check_archive, check_source_archive
from .findings import Report, Severity, error, ok
from .handler_checks import check_script
from .trial import ContainerLog, Sample, run_trial
from .versions import check_unpickling, check_versions

#: The Environment the SageMaker Python SDK gives a model whose script is packed into the
#: archive as code/inference.py (sagemaker-python-sdk ``Model._script_mode_env_vars``).
SDK_ENVIRONMENT = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
}

#: Checks whose failure makes a trial run meaningless (the worker has this project's Python, so
#: it could import what the image lacks).
_BLOCKING = {"archive", "size", "layout", "sourcedir", "imports", "handlers", "settings"}


@dataclass
class PreflightRequest:
    """What to check: the archive, the model's image and Environment, and sample requests."""

    artifact: Path
    image: str = DEFAULT_SKLEARN_IMAGE
    #: The model's ``Environment`` (CreateModel); the SDK's script-mode settings by default.
    environment: dict[str, str] = field(default_factory=lambda: dict(SDK_ENVIRONMENT))
    samples: list[Sample] = field(default_factory=list)
    #: ``ModelDataUrl`` as the failure texts quote it.
    model_data_url: str = "s3://your-bucket/model.tar.gz"
    #: Seconds the model has to pass ``/ping`` (AWS's default is 4 minutes).
    startup_timeout: float = field(default_factory=startup_health_timeout)
    #: Seconds each sample has to answer (AWS gives 60).
    invocation_timeout: float = 60.0
    #: The ``sourcedir.tar.gz`` that an ``s3://`` SAGEMAKER_SUBMIT_DIRECTORY names, downloaded,
    #: so the script is checked before the instance loads it (None: not checked statically).
    source_archive: Path | None = None
    #: Extra variables the worker gets but the model's Environment does not show (AWS settings).
    instance_environment: dict[str, str] = field(default_factory=dict)


def preflight(request: PreflightRequest) -> Report:
    """Check ``request.artifact``; :attr:`Report.passed` says whether it would deploy and answer."""
    started = time.perf_counter()
    report = Report(str(request.artifact), request.image)
    with tempfile.TemporaryDirectory(prefix="preflight-") as work:
        _run(request, Path(work), report)
    report.seconds = time.perf_counter() - started
    return report


def _run(request: PreflightRequest, work_dir: Path, report: Report) -> None:
    environment = request.environment
    program = environment.get("SAGEMAKER_PROGRAM") or ""
    if not program:
        report.findings.append(
            error(
                "settings", "the model's Environment has no SAGEMAKER_PROGRAM; the scikit-learn "
                "container has no default script",
                ping_failure_reason(VARIANT),
                "Set SAGEMAKER_PROGRAM=inference.py (and SAGEMAKER_SUBMIT_DIRECTORY) in "
                "CreateModel's Environment. The SDK sets both when it gets the script with its "
                "folder: ModelBuilder(source_code=SourceCode(source_dir=..., entry_script=...)) "
                "(an entry_script without source_dir is dropped).",
            )
        )
        return
    if not program.endswith(".py"):
        program += ".py"
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY") or "/opt/ml/code"
    findings, unpacked = check_archive(
        request.artifact, work_dir, request.model_data_url, program, submit
    )
    report.findings.extend(findings)
    if unpacked is None:
        return
    if submit.startswith("s3://") and request.source_archive is None:
        report.findings.append(
            ok("sourcedir", f"the script comes from {submit}: checked when the instance loads it")
        )
    elif submit.startswith("s3://") and request.source_archive is not None:
        source = check_source_archive(request.source_archive, work_dir, submit, program)
        report.findings.append(source.finding)
        if source.code_dir is None:
            return
        unpacked = Unpacked(unpacked.model_dir, source.code_dir)
    libraries = sklearn_image_libraries(request.image)
    if (unpacked.code_dir / program).is_file():
        report.findings.extend(check_script(unpacked.code_dir, program, libraries is not None))
    report.findings.extend(check_versions(unpacked.model_dir, libraries, request.image))
    if any(f.severity is Severity.ERROR and f.check in _BLOCKING for f in report.findings):
        return
    log = ContainerLog()
    worker_env = {**request.instance_environment, **environment}
    report.findings.extend(
        run_trial(
            unpacked.model_dir, worker_env, request.image, request.samples,
            request.startup_timeout, request.invocation_timeout, log,
        )
    )
    report.log = log.snapshot()
    report.findings.extend(check_unpickling(report.log))
