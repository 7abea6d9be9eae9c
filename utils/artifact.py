"""Package a trained pipeline as a SageMaker ``model.tar.gz``, and unpack archives safely.

SageMaker serves a model from a gzipped tar (the ``ModelDataUrl``) that it unpacks into
``/opt/ml/model`` before starting the container. For the scikit-learn container the layout is::

    model.joblib          the pickled pipeline (loaded by code/inference.py's model_fn)
    versions.json         library versions used to train, input columns, target container
    code/inference.py     the request handlers (model_fn, input_fn, predict_fn, output_fn)

Archives are built reproducibly (fixed timestamps and owners), so the same model always gives
byte-identical files and an unchanged model never looks changed.

:func:`safe_extract` is what the local SageMaker uses to unpack any ``ModelDataUrl``: a tar can
carry absolute paths, ``..`` components, links and device files that would write outside the
target folder, and such members are refused with a clear error.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

import joblib

from utils.data import FEATURE_COLUMNS, LABEL, NUMERIC_COLUMNS, POSITIVE_CLASS

#: The handler script shipped in every artifact as ``code/inference.py``.
HANDLER_SOURCE: Path = Path(__file__).resolve().parent / "model_code" / "inference.py"

ARTIFACT_NAME = "model.tar.gz"
MODEL_FILE = "model.joblib"
VERSIONS_FILE = "versions.json"
ENTRY_POINT = "inference.py"
CODE_DIR = "code"

#: The AWS serving container the artifact is built for: ``image_uris.retrieve("sklearn",
#: version="1.4-2-py312", py_version="py3", image_scope="inference")`` in the SDK gives
#: ``<registry>/sagemaker-scikit-learn:1.4-2-py312-cpu-py3``. Its Dockerfile
#: (aws/sagemaker-scikit-learn-container, docker/1.4-2-py312) installs exactly these versions;
#: requirements.txt pins the same ones for training.
TARGET_CONTAINER: dict[str, str] = {
    "image": "sagemaker-scikit-learn:1.4-2-py312-cpu-py3",
    "framework": "sklearn",
    "framework_version": "1.4-2-py312",
    "py_version": "py3",
    "python": "3.12",
    "scikit-learn": "1.4.2",
    "numpy": "2.1.0",
}

# Fixed metadata for reproducible archives: 2024-01-01T00:00:00Z, root-owned, no user names.
#: The CreateModel ``Environment`` that tells the scikit-learn container where the handlers are.
#: The container imports the module named by ``SAGEMAKER_PROGRAM`` and has no default for it
#: (aws/sagemaker-containers ``_env.py``: ``module_name = os.environ.get("SAGEMAKER_PROGRAM")``;
#: the 1.4-2 image's Dockerfile sets neither variable). The SageMaker Python SDK sets these two
#: values when it packs ``code/inference.py`` into the model archive, so a model created with
#: plain boto3 passes them itself.
SERVING_ENVIRONMENT: dict[str, str] = {
    "SAGEMAKER_PROGRAM": ENTRY_POINT,
    "SAGEMAKER_SUBMIT_DIRECTORY": f"/opt/ml/model/{CODE_DIR}",
}

_ARCHIVE_MTIME = 1_704_067_200
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


class ArchiveError(ValueError):
    """A model archive cannot be read."""


class UnsafeArchiveError(ArchiveError):
    """A model archive holds a member that would escape, or is not a plain file or folder."""


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def package_model(
    pipeline: Any,
    out_dir: str | Path,
    versions: dict[str, str] | None = None,
) -> Path:
    """Write ``out_dir/model.tar.gz`` for the fitted ``pipeline`` and return its path.

    ``versions`` records which libraries trained the model (default: the ones running now,
    from :func:`utils.model.training_versions`). Only pass it to build a deliberately
    mismatched artifact, for example to see how a version mismatch fails on an endpoint.
    """
    from utils.model import training_versions  # keeps `import utils.artifact` light

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_bytes = io.BytesIO()
    joblib.dump(pipeline, model_bytes)
    manifest = {
        **(versions if versions is not None else training_versions()),
        "feature_columns": list(FEATURE_COLUMNS),
        "numeric_columns": list(NUMERIC_COLUMNS),
        "label": LABEL,
        "positive_class": POSITIVE_CLASS,
        "model_file": MODEL_FILE,
        "entry_point": f"{CODE_DIR}/{ENTRY_POINT}",
        "target_container": dict(TARGET_CONTAINER),
    }
    files = {
        MODEL_FILE: model_bytes.getvalue(),
        VERSIONS_FILE: (json.dumps(manifest, indent=2) + "\n").encode("utf-8"),
        f"{CODE_DIR}/{ENTRY_POINT}": HANDLER_SOURCE.read_bytes(),
    }
    target = out_dir / ARTIFACT_NAME
    _write_reproducible_tar_gz(target, files)
    return target


def _write_reproducible_tar_gz(target: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (archive name -> content) to ``target`` atomically and reproducibly."""
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".model-", suffix=".tar.gz")
    try:
        with (
            os.fdopen(handle, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped,
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            written_dirs: set[str] = set()
            for name, content in files.items():
                for parent in reversed(PurePosixPath(name).parents[:-1]):
                    if str(parent) not in written_dirs:
                        tar.addfile(_tarinfo(str(parent), tarfile.DIRTYPE, 0o755))
                        written_dirs.add(str(parent))
                tar.addfile(
                    _tarinfo(name, tarfile.REGTYPE, 0o644, len(content)), io.BytesIO(content)
                )
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _tarinfo(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, _ARCHIVE_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArtifactEntry:
    """One member of a model archive, as :func:`list_artifact` reports it."""

    name: str
    kind: str  # "file", "folder", "symlink", "hardlink" or "other"
    size: int  # bytes (0 for anything but files)

    def __str__(self) -> str:
        if self.kind == "file":
            return f"{self.name:<22} {self.size / 1024:8.1f} KB"
        if self.kind == "folder":
            return f"{self.name + '/':<22} {'folder':>11}"
        return f"{self.name:<22} {self.kind:>11}"


def list_artifact(tar_path: str | Path) -> list[ArtifactEntry]:
    """Return the archive's members in stored order (for showing its layout in a notebook)."""
    entries = []
    with _open_tar(tar_path) as tar:
        for member in tar.getmembers():
            if member.isfile():
                kind = "file"
            elif member.isdir():
                kind = "folder"
            elif member.issym():
                kind = "symlink"
            elif member.islnk():
                kind = "hardlink"
            else:
                kind = "other"
            entries.append(ArtifactEntry(member.name, kind, member.size if kind == "file" else 0))
    return entries


def read_versions(tar_path: str | Path) -> dict[str, Any]:
    """Return the archive's ``versions.json`` without unpacking anything else."""
    with _open_tar(tar_path) as tar:
        try:
            member = tar.getmember(VERSIONS_FILE)
        except KeyError:
            raise ArchiveError(
                f"{Path(tar_path).name} has no {VERSIONS_FILE} at its root"
            ) from None
        extracted = tar.extractfile(member)
        if extracted is None:
            raise ArchiveError(f"{VERSIONS_FILE} in {Path(tar_path).name} is not a regular file")
        return json.loads(extracted.read().decode("utf-8"))


def _open_tar(tar_path: str | Path) -> tarfile.TarFile:
    try:
        return tarfile.open(tar_path, mode="r:*")
    except (tarfile.ReadError, EOFError, OSError) as error:
        raise ArchiveError(
            f"{Path(tar_path).name} is not a readable tar archive: {error}"
        ) from None


# --------------------------------------------------------------------------------------------
# Unpacking safely
# --------------------------------------------------------------------------------------------


def safe_extract(tar_path: str | Path, dest: str | Path) -> Path:
    """Unpack ``tar_path`` into ``dest`` (created if needed), refusing unsafe members.

    Refused, before anything is written: absolute names, names with ``..`` components, names
    that resolve outside ``dest``, symbolic or hard links whose target lies outside ``dest``,
    and device files, FIFOs and other special members. Where Python's ``tarfile`` offers the
    ``data`` extraction filter it is applied as well, as a second line of defence (it also
    drops set-uid bits and checks links again as they are created).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    archive = Path(tar_path).name
    with _open_tar(tar_path) as tar:
        members = tar.getmembers()
        for member in members:
            problem = _unsafe_reason(member, root)
            if problem:
                raise UnsafeArchiveError(
                    f"refusing to unpack {archive}: member {member.name!r} {problem}. A model "
                    "archive may only hold regular files and folders below its top level."
                )
        try:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(root, members=members, filter="data")
            else:  # Python without extraction filters: the explicit checks above still apply
                tar.extractall(root, members=members)
        except tarfile.FilterError as error:
            raise UnsafeArchiveError(f"refusing to unpack {archive}: {error}") from None
    return dest


def _unsafe_reason(member: tarfile.TarInfo, root: Path) -> str | None:
    """Why ``member`` must not be unpacked into ``root``, or None when it is safe."""
    name = member.name
    if name.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(name):
        return "has an absolute path"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "has a '..' path component"
    if not _is_within(root / name, root):
        return "would be written outside the destination folder"
    if member.issym():
        link = member.linkname
        if link.startswith(("/", "\\")) or PurePosixPath(link).is_absolute():
            return f"is a symbolic link to an absolute path ({link!r})"
        if not _is_within(root / PurePosixPath(name).parent / link, root):
            return f"is a symbolic link pointing outside the destination ({link!r})"
    elif member.islnk():
        link = member.linkname
        if link.startswith(("/", "\\")) or PurePosixPath(link).is_absolute():
            return f"is a hard link to an absolute path ({link!r})"
        if not _is_within(root / link, root):
            return f"is a hard link pointing outside the destination ({link!r})"
    elif member.ischr() or member.isblk():
        return "is a device file"
    elif member.isfifo():
        return "is a FIFO (named pipe)"
    elif not (member.isfile() or member.isdir()):
        return f"is a special member of tar type {member.type!r}"
    return None


def _is_within(path: Path, root: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(root)


# --------------------------------------------------------------------------------------------
# Running the handlers in-process, the way the container does
# --------------------------------------------------------------------------------------------


def import_handlers(model_dir: str | Path) -> ModuleType:
    """Import ``code/inference.py`` from an unpacked artifact as a fresh, standalone module.

    The container imports the script by file, as module ``inference``, not through this
    project; this does the same. Each call gives a new module object (not registered in
    ``sys.modules``), unaffected by earlier imports or edits.
    """
    script = Path(model_dir) / CODE_DIR / ENTRY_POINT
    if not script.is_file():
        raise ArchiveError(f"no {CODE_DIR}/{ENTRY_POINT} in the unpacked model folder")
    spec = importlib.util.spec_from_file_location(Path(ENTRY_POINT).stem, script)
    if spec is None or spec.loader is None:
        raise ArchiveError(f"cannot import {CODE_DIR}/{ENTRY_POINT}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def invoke_handlers(
    handlers: ModuleType, model: Any, body: str | bytes, content_type: str, accept: str
) -> tuple[str, str]:
    """Run ``input_fn`` -> ``predict_fn`` -> ``output_fn`` on one request; return (body, type)."""
    data = handlers.input_fn(body, content_type)
    prediction = handlers.predict_fn(data, model)
    return handlers.output_fn(prediction, accept)


def remove_tree(path: str | Path) -> None:
    """Delete a folder this project created (missing folders are fine)."""
    shutil.rmtree(path, ignore_errors=True)
