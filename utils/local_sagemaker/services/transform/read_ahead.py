"""Input objects read from S3 ahead of time, while a transform job's instances start.

A job's instances take a moment to start (a worker forked, the model loaded, the first
``/ping``), and each instance's first input object used to be read from S3 only after that, while
the instance waited. Nothing about that first read depends on the instances (the objects are
listed and assigned to instances by key before any starts), so the runner starts it at the same
time as the instances (:class:`ReadAhead`) and an instance's first request goes out as soon as
the instance is up.

Only the read itself moves: what becomes of the bytes, or of the read's error, is decided where
it was before, when the instance's turn comes (the same log lines in the same stream, the same
outcome). The objects read ahead are each instance's first one, which its thread reads first
anyway; a job that stops or fails meanwhile just drops what was read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future

from .assembly import InputObject

__all__ = ["ReadAhead"]


class ReadAhead:
    """Reads ``objects`` on threads of their own; :meth:`take` hands each over once."""

    def __init__(
        self, read: Callable[[InputObject], bytes], objects: Iterable[InputObject]
    ) -> None:
        self._pending: dict[InputObject, Future[bytes]] = {}
        self._lock = threading.Lock()
        for obj in objects:
            if obj in self._pending:  # a manifest may name an object twice: read it once here
                continue
            future: Future[bytes] = Future()
            self._pending[obj] = future
            threading.Thread(
                target=_read_into, args=(read, obj, future), name="read-ahead", daemon=True
            ).start()

    def take(self, obj: InputObject) -> Future[bytes] | None:
        """The read of ``obj`` started ahead (its bytes or its error), or None if there is none
        (any more): the caller reads it then."""
        with self._lock:
            return self._pending.pop(obj, None)

    def drop(self) -> None:
        """Forget what was not taken (the job ended without it), so its bytes can be freed."""
        with self._lock:
            self._pending.clear()


def _read_into(
    read: Callable[[InputObject], bytes], obj: InputObject, future: Future[bytes]
) -> None:
    try:
        data = read(obj)
    except BaseException as exc:  # handed to the taker, who reports it as its own read's
        future.set_exception(exc)
    else:
        future.set_result(data)
