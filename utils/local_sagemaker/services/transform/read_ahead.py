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

The read's trace moves with it: the read runs inside ``hold`` (the gateway's call log holds the
GetObject of that thread), and the call appears when an instance takes the object. A job whose
instances never start read nothing, as far as anyone can see, as on AWS where the instances
read the input.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from contextlib import AbstractContextManager

from .assembly import InputObject

__all__ = ["CallHolder", "ReadAhead", "hold_nothing"]

#: Runs a block with the AWS calls its thread makes held back; yields the function that lets
#: them show (see :meth:`..wire.call_log.CallLog.hold`, which the gateway passes).
CallHolder = Callable[[], AbstractContextManager[Callable[[], None]]]


def hold_nothing() -> AbstractContextManager[Callable[[], None]]:
    """The :data:`CallHolder` of a gateway that records no calls."""
    return contextlib.nullcontext(lambda: None)


class _Read:
    """One object read ahead: its result, and its held calls until it is taken."""

    def __init__(self) -> None:
        self.future: Future[bytes] = Future()
        self._lock = threading.Lock()
        self._taken = False
        self._release: Callable[[], None] | None = None

    def holding(self, release: Callable[[], None]) -> None:
        """On the reading thread, inside the hold: the calls show at once if already taken."""
        with self._lock:
            self._release = release
            taken = self._taken
        if taken:
            release()

    def taken(self) -> Future[bytes]:
        with self._lock:
            self._taken = True
            release = self._release
        if release is not None:
            release()
        return self.future


class ReadAhead:
    """Reads ``objects`` on threads of their own; :meth:`take` hands each over once."""

    def __init__(
        self,
        read: Callable[[InputObject], bytes],
        objects: Iterable[InputObject],
        hold: CallHolder = hold_nothing,
    ) -> None:
        self._pending: dict[InputObject, _Read] = {}
        self._lock = threading.Lock()
        for obj in objects:
            if obj in self._pending:  # a manifest may name an object twice: read it once here
                continue
            ahead = _Read()
            self._pending[obj] = ahead
            threading.Thread(
                target=_read_into, args=(read, obj, ahead, hold), name="read-ahead", daemon=True
            ).start()

    def take(self, obj: InputObject) -> Future[bytes] | None:
        """The read of ``obj`` started ahead (its bytes or its error), or None if there is none
        (any more): the caller reads it then. From now on the read's calls show."""
        with self._lock:
            ahead = self._pending.pop(obj, None)
        return None if ahead is None else ahead.taken()

    def drop(self) -> None:
        """Forget what was not taken (the job ended without it), so its bytes can be freed and
        its calls never show."""
        with self._lock:
            self._pending.clear()


def _read_into(
    read: Callable[[InputObject], bytes], obj: InputObject, ahead: _Read, hold: CallHolder
) -> None:
    with hold() as release:
        ahead.holding(release)
        try:
            data = read(obj)
        except BaseException as exc:  # handed to the taker, who reports it as its own read's
            ahead.future.set_exception(exc)
        else:
            ahead.future.set_result(data)
