"""Unpack a model archive (``model.tar.gz``) safely, as SageMaker unpacks it into /opt/ml/model.

A tar can carry absolute paths, ``..`` components, links and device files that would write
outside the target folder; such members are refused with a clear error before anything is
written. The local SageMaker unpacks every ``ModelDataUrl`` this way, and the lessons show the
same function (through the package's public face).
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
from pathlib import Path, PurePosixPath

_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


class ArchiveError(ValueError):
    """A model archive cannot be read."""


class UnsafeArchiveError(ArchiveError):
    """A model archive holds a member that would escape, or is not a plain file or folder."""


class ArchiveTooLargeError(UnsafeArchiveError):
    """A model archive would unpack to more bytes than the destination may take."""


def open_archive(tar_path: str | Path) -> tarfile.TarFile:
    """Open a (possibly compressed) tar for reading; :class:`ArchiveError` if it is not one."""
    try:
        return tarfile.open(tar_path, mode="r:*")
    except (tarfile.ReadError, EOFError, OSError) as error:
        raise ArchiveError(
            f"{Path(tar_path).name} is not a readable tar archive: {error}"
        ) from None


def safe_extract(tar_path: str | Path, dest: str | Path, max_bytes: int | None = None) -> Path:
    """Unpack ``tar_path`` into ``dest`` (created if needed), refusing unsafe members.

    Refused, before anything is written: absolute names, names with ``..`` components, names
    that resolve outside ``dest``, symbolic or hard links whose target lies outside ``dest``,
    and device files, FIFOs and other special members; and an archive whose members add up to
    more than ``max_bytes`` (default: the free space at ``dest``), so a small archive that
    unpacks to a huge one (a "tar bomb") never fills the disk. Where Python's ``tarfile``
    offers the ``data`` extraction filter it is applied as well, as a second line of defence
    (it also drops set-uid bits and checks links again as they are created).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    archive = Path(tar_path).name
    with open_archive(tar_path) as tar:
        members = tar.getmembers()
        problems = unsafe_members(members, root)
        if problems:
            name, problem = problems[0]
            raise UnsafeArchiveError(
                f"refusing to unpack {archive}: member {name!r} {problem}. A model "
                "archive may only hold regular files and folders below its top level."
            )
        size = unpacked_size(members)
        limit = shutil.disk_usage(root).free if max_bytes is None else max_bytes
        if size > limit:
            raise ArchiveTooLargeError(
                f"refusing to unpack {archive}: its members add up to {size:,} bytes, more "
                f"than the {limit:,} bytes available for it."
            )
        try:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(root, members=members, filter="data")
            else:  # Python without extraction filters: the explicit checks above still apply
                tar.extractall(root, members=members)
        except tarfile.FilterError as error:
            raise UnsafeArchiveError(f"refusing to unpack {archive}: {error}") from None
    return dest


def unsafe_members(members: list[tarfile.TarInfo], root: Path) -> list[tuple[str, str]]:
    """Every member that must not be unpacked into ``root``, with the reason (empty: all safe)."""
    found = []
    for member in members:
        problem = _unsafe_reason(member, root)
        if problem:
            found.append((member.name, problem))
    return found


def unpacked_size(members: list[tarfile.TarInfo]) -> int:
    """The bytes the regular files among ``members`` take once unpacked (their declared sizes;
    ``tarfile`` writes exactly that many bytes per member)."""
    return sum(member.size for member in members if member.isfile())


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
