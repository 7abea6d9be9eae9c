"""Where the user's code comes from, and the packages it asks for: what the scikit-learn
container does before it imports ``SAGEMAKER_PROGRAM``.

aws/sagemaker-containers 2.8.6 ``_modules.import_module`` (which the scikit-learn image's
``serving.py`` calls on a worker's first request) does two things first:

* **the code** (``_files.download_and_extract``): ``SAGEMAKER_SUBMIT_DIRECTORY`` is either a
  folder (``/opt/ml/model/code`` when the script travels inside ``model.tar.gz``) or an
  ``s3://.../sourcedir.tar.gz``, the SageMaker Python SDK v2 ``entry_point``/``source_dir`` style,
  which it downloads and unpacks (into ``/opt/ml/code``). Here it is downloaded with the
  instance's AWS settings (the local S3, as a container on AWS uses its execution role) and
  unpacked with the local SageMaker's safe extraction, into a folder of this worker's own.
* **the packages** (``_modules.install``): with a ``requirements.txt`` in the code, it runs
  ``python -m pip install . -r requirements.txt``, logging "Installing module with the following
  command:" first; a failing pip raises ``InstallModuleError`` and the worker answers 500, so the
  ping health check fails. Here they go into an environment of the model's own instead of the
  project's Python: a virtual environment layered on this one (it sees the packages already
  installed, and pip never changes them), kept under the model's content hash
  (``requirements.txt``, Python version, ``PIP_*`` settings), so the next instance of the same
  model finds it ready instead of installing again. The worker puts it first on ``sys.path``.

Where this differs from AWS (the cache, libraries already imported, a failed install not retried)
is written in the FIDELITY markers below.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from ..core.archive import safe_extract
from ..core.s3_uri import split_s3_uri
from ..core.settings import model_environments_dir
from ..core.worker_contract import MODEL_ENVIRONMENTS_ENV, REQUIREMENTS, local_code_directory

log = logging.getLogger("sagemaker-containers")

_COMPLETE = ".complete"

# FIDELITY container.install-retry DIFFERS: a failed requirements.txt install is not retried
#   local: Once pip has failed in an instance, every later request to it gets the same
#     InstallModuleError at once, so the endpoint fails in seconds.
#   why: the container on AWS runs pip again on every request until the health check gives up;
#     each run outlasts the 2-second ping timeout, so the endpoint would fail only at the startup
#     timeout, minutes later, with the same FailureReason.
#   notice: An install that fails once and then succeeds (a network blip) can still bring an
#     endpoint InService on AWS; locally that endpoint fails.
_failed: dict[str, InstallModuleError] = {}


class InstallModuleError(Exception):
    """pip could not install ``requirements.txt`` (sagemaker_containers._errors.InstallModuleError)."""

    def __init__(self, cmd: list[str], return_code: int) -> None:
        super().__init__()
        self.cmd = " ".join(cmd)
        self.return_code = return_code

    def __str__(self) -> str:
        # sagemaker-containers' _CalledProcessError.__str__ (no captured output: pip's own lines
        # are already in the log above it).
        return f'InstallModuleError:\nCommand "{self.cmd}"'


# The container's log names the class by its module on AWS; so does ours.
InstallModuleError.__module__ = "sagemaker_containers._errors"


def code_directory(submit_directory: str, model_dir: str, scratch: Path) -> str:
    """The local folder holding the user's code for ``SAGEMAKER_SUBMIT_DIRECTORY``.

    ``/opt/ml/model[/...]`` maps onto the local model folder; ``s3://...`` is downloaded and
    unpacked into ``scratch`` (once per worker); ``file://`` (SDK local mode) and other paths are
    used as they are.
    """
    local = local_code_directory(submit_directory, model_dir)
    if local is not None:
        return local
    target = scratch / "code"
    if not target.is_dir():
        _download_and_extract(submit_directory, scratch, target)
    return str(target)


def _download_and_extract(url: str, scratch: Path, target: Path) -> None:
    import boto3  # only workers whose code lives in S3 pay for importing it

    bucket, key = split_s3_uri(url)
    scratch.mkdir(parents=True, exist_ok=True)
    archive = scratch / "sourcedir.tar.gz"
    boto3.client("s3").download_file(bucket, key, str(archive))
    partial = Path(tempfile.mkdtemp(prefix=".code-", dir=scratch))
    try:
        safe_extract(archive, partial)
        partial.rename(target)
    finally:
        archive.unlink(missing_ok=True)
        shutil.rmtree(partial, ignore_errors=True)


def environment_key(requirements: bytes, environ: dict[str, str]) -> str:
    """The cache key of a model environment: what decides what pip installs."""
    digest = hashlib.sha256(requirements)
    digest.update(f"\0python{sys.version_info[0]}.{sys.version_info[1]}\0{sys.platform}".encode())
    for key in sorted(k for k in environ if k.startswith("PIP_")):
        digest.update(f"\0{key}={environ[key]}".encode())
    return digest.hexdigest()[:32]


def environments_root() -> Path:
    """Where model environments are kept: ``LOCAL_SAGEMAKER_MODEL_ENVIRONMENTS`` (set by the
    gateway and the preflight check), else the default folder of the state folder."""
    override = os.environ.get(MODEL_ENVIRONMENTS_ENV)
    return Path(override) if override else model_environments_dir()


def _site_packages(venv: Path) -> Path:
    purelib = sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)})
    return Path(purelib)


def _python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


# FIDELITY container.requirements-environment DIFFERS: requirements.txt gets a cached environment
#   local: pip installs code/requirements.txt into a virtual environment of the model's own,
#     layered on this project's Python and kept under the file's content hash; the next instance
#     of a model with the same requirements.txt (preflight included) reuses it without running pip.
#   why: pip must never change the Python the local SageMaker and the notebooks run on, and
#     installing the same packages again for every instance would only cost time.
#   notice: On AWS every new instance runs pip again (start-up takes the install's time each
#     time), and pip may replace a library of the image; locally a library the worker has already
#     imported (numpy, and scikit-learn when the image's version is emulated) keeps its version.
def install_requirements(code_dir: str, root: Path | None = None) -> Path | None:
    """Install ``code_dir/requirements.txt`` into the model's environment; its site-packages
    folder (None when there is nothing to install). Raises :class:`InstallModuleError`."""
    requirements = Path(code_dir) / REQUIREMENTS
    if not requirements.is_file():
        return None
    root = root or environments_root()
    venv = root / environment_key(requirements.read_bytes(), dict(os.environ))
    if venv.name in _failed:
        raise _failed[venv.name]
    if (venv / _COMPLETE).is_file():
        log.info("Using the environment installed before for %s (%s)", REQUIREMENTS, venv.name)
        return _site_packages(venv)
    root.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{venv.name}-", dir=root))
    try:
        _create_layered_venv(partial)
        cmd = [
            str(_python(partial)), "-m", "pip", "install", "--disable-pip-version-check",
            "-r", str(requirements),
        ]
        log.info("Installing module with the following command:\n%s", " ".join(cmd))
        sys.stdout.flush()
        returncode = subprocess.call(cmd, cwd=code_dir, stdin=subprocess.DEVNULL)
        if returncode:
            _failed[venv.name] = InstallModuleError(cmd, returncode)
            raise _failed[venv.name]
        (partial / _COMPLETE).write_text("")
        # Another instance may have finished first: then its environment is used.
        with contextlib.suppress(OSError):
            partial.rename(venv)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return _site_packages(venv)


def _create_layered_venv(venv: Path) -> None:
    """A virtual environment without pip that sees this Python's packages (and its pip)."""
    subprocess.check_call(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], stdin=subprocess.DEVNULL
    )
    layered = _site_packages(venv)
    layered.mkdir(parents=True, exist_ok=True)
    below = [p for p in (*site.getsitepackages(), site.getusersitepackages()) if os.path.isdir(p)]
    (layered / "_local_sagemaker_base.pth").write_text("\n".join(below) + "\n")


def activate(site_packages: Path) -> None:
    """Put the model environment's packages first on ``sys.path`` (its ``.pth`` files too)."""
    before = list(sys.path)
    site.addsitedir(str(site_packages))
    added = [p for p in sys.path if p not in before]
    sys.path[:] = added + [p for p in sys.path if p not in added]
