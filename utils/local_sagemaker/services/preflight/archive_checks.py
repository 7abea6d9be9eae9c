"""The archive: readable, gzipped, safe, not too large, and laid out where the container looks.

SageMaker downloads ``ModelDataUrl``, unpacks it into ``/opt/ml/model`` and starts the container,
whose scikit-learn server imports ``SAGEMAKER_PROGRAM`` from ``SAGEMAKER_SUBMIT_DIRECTORY``
(``/opt/ml/model/code`` when the SDK packs the script into the archive). The archive is unpacked
with the local SageMaker's own :func:`~...core.archive.safe_extract`, as a deployment unpacks it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from tarfile import TarInfo

from ...core.archive import (
    ArchiveError,
    open_archive,
    safe_extract,
    unpacked_size,
    unsafe_members,
)
from ...core.messages import extract_failure_reason, ping_failure_reason
from .findings import Finding, Severity, error, ok, warning

#: Where SageMaker unpacks the model inside the container.
CONTAINER_MODEL_DIR = "/opt/ml/model"

#: A serverless endpoint's ephemeral disk (developer guide, serverless-endpoints): a bigger model
#: cannot be unpacked there.
SERVERLESS_DISK_BYTES = 5 * 1024**3

VARIANT = "AllTraffic"  # the SDK's default variant name, as FailureReason quotes it


@dataclass(frozen=True)
class Unpacked:
    """The archive unpacked: the model folder and the folder the handler script is read from."""

    model_dir: Path
    code_dir: Path


def _size(nbytes: int) -> str:
    """``986 bytes``, ``62.8 KB``, ``1.5 GB``."""
    if nbytes < 1024:
        return f"{nbytes:,} bytes"
    size = float(nbytes)
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{size:.1f} {unit}"


def code_dir_in(model_dir: Path, submit_directory: str) -> Path | None:
    """Where the container reads the script, in the unpacked model (None: not in the model)."""
    if submit_directory == CONTAINER_MODEL_DIR or submit_directory.startswith(
        CONTAINER_MODEL_DIR + "/"
    ):
        return model_dir / submit_directory[len(CONTAINER_MODEL_DIR) + 1 :]
    return None


def check_archive(
    archive: Path,
    work_dir: Path,
    model_data_url: str,
    program: str,
    submit_directory: str,
) -> tuple[list[Finding], Unpacked | None]:
    """Check and unpack ``archive``; the unpacked folders are None when it cannot deploy."""
    findings: list[Finding] = []
    cannot_extract = extract_failure_reason(model_data_url)
    try:
        with open_archive(archive) as tar:
            members = tar.getmembers()
    except ArchiveError as exc:
        findings.append(
            error(
                "archive", f"not a tar archive: {exc}", cannot_extract,
                "Build it with `tar -czf model.tar.gz -C <model folder> .` (or tarfile in "
                "Python, mode 'w:gz').",
            )
        )
        return findings, None
    with open(archive, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    model_dir = work_dir / "model"
    problems = unsafe_members(members, model_dir.resolve())
    if problems:
        listed = "; ".join(f"{name!r} {why}" for name, why in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        findings.append(
            error(
                "archive", f"unsafe members: {listed}{more}", cannot_extract,
                "Pack only regular files and folders, with paths relative to the model folder "
                "(`tar -czf model.tar.gz -C <model folder> .`); copy link targets in instead of "
                "linking.",
            )
        )
        return findings, None
    size = unpacked_size(members)
    files = sum(1 for m in members if m.isfile())
    free = shutil.disk_usage(work_dir).free
    if size > free:
        findings.append(
            error(
                "size", f"unpacks to {_size(size)}, more than the {_size(free)} free here",
                cannot_extract, "Leave out what the model does not need at serving time.",
            )
        )
        return findings, None
    compressed = archive.stat().st_size
    if not gzipped:
        findings.append(
            error(
                "archive", "a tar archive, but not gzip-compressed",
                cannot_extract,
                "SageMaker expects ModelDataUrl to be a .tar.gz: pack with `tar -czf` "
                "(tarfile mode 'w:gz').",
            )
        )
    elif size > SERVERLESS_DISK_BYTES:
        findings.append(
            warning(
                "size", f"{files} files, {_size(size)} unpacked: more than a serverless "
                "endpoint's 5 GB of disk", None,
                "Serve it from an instance-based endpoint, or make the model smaller.",
            )
        )
    else:
        findings.append(
            ok("archive", f"gzipped tar, {files} files, {_size(compressed)} -> {_size(size)} "
               "unpacked, all members safe")
        )
    try:
        safe_extract(archive, model_dir)
    except (ArchiveError, OSError) as exc:
        findings.append(error("archive", f"cannot be unpacked: {exc}", cannot_extract, None))
        return findings, None
    code_dir = code_dir_in(model_dir, submit_directory)
    if code_dir is None:  # the script comes from elsewhere (an S3 sourcedir.tar.gz)
        return findings, Unpacked(model_dir, model_dir)
    layout = check_layout(members, model_dir, code_dir, program, submit_directory)
    findings.append(layout)
    return findings, Unpacked(model_dir, code_dir) if layout.severity is not Severity.ERROR else None


def check_layout(
    members: list[TarInfo], model_dir: Path, code_dir: Path, program: str, submit_directory: str
) -> Finding:
    """The handler script is at ``SAGEMAKER_SUBMIT_DIRECTORY/SAGEMAKER_PROGRAM``."""
    script = code_dir / program
    where = f"{submit_directory}/{program}"
    relative = PurePosixPath(script.relative_to(model_dir).as_posix())
    if script.is_file():
        return ok("layout", f"{relative} is where the container looks ({where})")
    names = [PurePosixPath(m.name.lstrip("./")) for m in members if m.isfile()]
    fails = ping_failure_reason(VARIANT)
    nested = [n for n in names if len(n.parts) > len(relative.parts) and n.parts[-len(relative.parts):] == relative.parts]
    if nested:
        top = PurePosixPath(*nested[0].parts[: len(nested[0].parts) - len(relative.parts)])
        return error(
            "layout",
            f"the script is at {nested[0]}, not {relative}: everything is inside a folder "
            f"'{top}/'",
            fails,
            f"Pack the folder's contents, not the folder: `tar -czf model.tar.gz -C {top} .`",
        )
    at_root = [n for n in names if n.name == program]
    found = f"; found {at_root[0]}" if at_root else ""
    return error(
        "layout",
        f"no {relative} in the archive{found}",
        fails,
        f"Put the handler script at {relative} inside the archive (the container imports "
        f"{where}), or set SAGEMAKER_PROGRAM / SAGEMAKER_SUBMIT_DIRECTORY to where it is.",
    )



@dataclass(frozen=True)
class SourceCheck:
    finding: Finding
    code_dir: Path | None


def check_source_archive(archive: Path, work_dir: Path, url: str, program: str) -> SourceCheck:
    """The S3 ``sourcedir.tar.gz`` (SDK v2 ``entry_point``/``source_dir``): unpacks safely and
    holds ``SAGEMAKER_PROGRAM`` at its top level, where the container imports it from."""
    fails = ping_failure_reason(VARIANT)
    target = work_dir / "sourcedir"
    try:
        safe_extract(archive, target)
    except (ArchiveError, OSError) as exc:
        return SourceCheck(
            error("sourcedir", f"{url} cannot be unpacked: {exc}", fails,
                  "Upload the code as a gzipped tar of the source folder's contents."),
            None,
        )
    if (target / program).is_file():
        return SourceCheck(ok("sourcedir", f"{program} at the top of {url}"), target)
    found = sorted(p.relative_to(target).as_posix() for p in target.rglob(program))
    where = f"; found {found[0]}" if found else ""
    return SourceCheck(
        error("sourcedir", f"no {program} at the top of {url}{where}", fails,
              f"Pack the source folder's contents so that {program} is at the top "
              "(`tar -czf sourcedir.tar.gz -C <source folder> .`)."),
        None,
    )
