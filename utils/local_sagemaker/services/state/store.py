"""The saved state on disk: one JSON file per part, written atomically, read defensively.

Each part (``sagemaker.json``, ``s3.json``, ...) is written to a temporary file in the same
folder, flushed and renamed over the old one, so a reader only ever finds a whole old file or a
whole new one, never a half-written one, even when the process is killed mid-write. A part that
cannot be read (not JSON, not the expected shape, or a restore that fails on it) is moved aside to
``<file>.corrupt-<UTC timestamp>`` and reported: it never prevents a start, and it is kept for
a look rather than deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from .growing_json import SEPARATORS, encode

#: The format of the saved parts; a part written by another format is moved aside.
FORMAT = 1


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is always either the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class CorruptPart(Exception):
    """A saved part that cannot be used."""


class StateStore:
    """The folder of saved parts, and the notes of what went wrong reading it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        #: Messages about parts moved aside (the server log and ``start`` print them).
        self.notes: list[str] = []
        self._written: dict[str, bytes] = {}

    def path(self, name: str) -> Path:
        return self.directory / name

    def write(self, name: str, data: Any) -> bool:
        """Save a part (JSON-serialisable ``data``); skipped when the bytes did not change.

        Returns whether the file was written.
        """
        # The data is serialised once: its bytes decide whether anything changed and are the
        # file's "data" member as they are (a part can hold thousands of metric data points).
        return self.write_encoded(name, encode(data))

    def write_encoded(self, name: str, body: bytes) -> bool:
        """:meth:`write` for data already encoded as it encodes it (:func:`.growing_json.encode`)."""
        if self._written.get(name) == body and self.path(name).exists():
            return False
        head = json.dumps({"format": FORMAT, "saved_at": time.time()}, separators=SEPARATORS)
        atomic_write(self.path(name), b"".join((head[:-1].encode(), b',"data":', body, b"}")))
        self._written[name] = body
        return True

    def remove(self, name: str) -> None:
        self._written.pop(name, None)
        self.path(name).unlink(missing_ok=True)

    def read(self, name: str) -> tuple[Any, float] | None:
        """A part's data and when it was saved; None when it was never saved (or was moved aside)."""
        path = self.path(name)
        if not path.exists():
            return None
        try:
            document = json.loads(path.read_bytes())
            if not isinstance(document, dict) or document.get("format") != FORMAT:
                raise CorruptPart("not a saved part of this format")
            saved_at = float(document["saved_at"])
            return document["data"], saved_at
        except (OSError, ValueError, KeyError, TypeError, CorruptPart) as exc:
            self.set_aside(name, f"{type(exc).__name__}: {exc}")
            return None

    def set_aside(self, name: str, why: str) -> None:
        """Move a bad part out of the way (``<file>.corrupt-<timestamp>``) and note why."""
        path = self.path(name)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        with contextlib.suppress(OSError):
            os.replace(path, target)
        self._written.pop(name, None)
        self.notes.append(
            f"saved state {path.name} could not be restored ({why}); it was moved to "
            f"{target.name} and the local SageMaker started without it"
        )

    def names(self, prefix: str) -> list[str]:
        """The saved parts whose file name starts with ``prefix`` (``logs/`` for a subfolder)."""
        folder = self.directory / Path(prefix).parent
        stem = Path(prefix).name
        if not folder.is_dir():
            return []
        base = folder.relative_to(self.directory)
        return sorted(
            str(base / p.name) if str(base) != "." else p.name
            for p in folder.iterdir()
            if p.is_file() and p.name.startswith(stem) and p.name.endswith(".json")
        )
