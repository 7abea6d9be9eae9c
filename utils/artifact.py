"""Package a trained pipeline as a SageMaker ``model.tar.gz``, and unpack archives safely.

SageMaker serves a model from a gzipped tar (the ``ModelDataUrl``) that it unpacks into
``/opt/ml/model`` before starting the container. For the scikit-learn container the layout is::

    model.joblib          the pickled pipeline (loaded by code/inference.py's model_fn)
    versions.json         library versions used to train, input columns, target container
    code/inference.py     the request handlers (model_fn, input_fn, predict_fn, output_fn)

Archives are built reproducibly (fixed timestamps and owners), so the same model always gives
byte-identical files and an unchanged model never looks changed.

:func:`safe_extract` is the local SageMaker's own (from its public face): it unpacks any
``ModelDataUrl`` and refuses members that would write outside the target folder.
:func:`write_archive` is the one tar writer of the project: lessons and tests build their
deliberately different archives with it.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

import joblib

from utils.data import FEATURE_COLUMNS, LABEL, NUMERIC_COLUMNS, POSITIVE_CLASS
from utils.local_sagemaker import ArchiveError, UnsafeArchiveError, open_archive, safe_extract

__all__ = [
    "ArchiveError",
    "UnsafeArchiveError",
    "archive_bytes",
    "import_handlers",
    "invoke_handlers",
    "list_artifact",
    "package_model",
    "read_versions",
    "remove_tree",
    "safe_extract",
    "write_archive",
]

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
    return write_archive(out_dir / ARTIFACT_NAME, files)


def write_archive(target: str | Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` (archive name -> content) as a ``.tar.gz`` at ``target``; return its path.

    Atomic (a reader never sees half a file) and reproducible (fixed times and owners), with a
    folder entry before the files in it, as ``tar czf`` writes them.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".model-", suffix=".tar.gz")
    try:
        with os.fdopen(handle, "wb") as raw:
            _write_tar_gz(raw, files)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return target


def archive_bytes(files: dict[str, bytes]) -> bytes:
    """The bytes :func:`write_archive` would write, for uploading without a file."""
    buffer = io.BytesIO()
    _write_tar_gz(buffer, files)
    return buffer.getvalue()


def _write_tar_gz(raw: Any, files: dict[str, bytes]) -> None:
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        written_dirs: set[str] = set()
        for name, content in files.items():
            for parent in reversed(PurePosixPath(name).parents[:-1]):
                if str(parent) not in written_dirs:
                    tar.addfile(_tarinfo(str(parent), tarfile.DIRTYPE, 0o755))
                    written_dirs.add(str(parent))
            tar.addfile(_tarinfo(name, tarfile.REGTYPE, 0o644, len(content)), io.BytesIO(content))


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
    with open_archive(tar_path) as tar:
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
    with open_archive(tar_path) as tar:
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
