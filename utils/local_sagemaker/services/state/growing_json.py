"""The JSON text of a list that only grows, encoded an item at a time as it grows.

The state saver writes the ``logs`` and ``cloudwatch`` parts every second while endpoints are
invoked: every log line and every metric data point so far, one JSON array each. moto only ever
appends to the lists it keeps them in (a stream's events, the metric data), so the items saved
last time are unchanged; encoding them all again made each save cost more the longer the server
ran (tens of ms of CPU a second after some thousands of requests, holding the interpreter lock
all the while). :class:`GrowingJsonArray` keeps the encoded items and encodes only the new ones;
the text is the same as ``json.dumps(items, separators=(",", ":"))`` of the whole list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

#: How the saved parts are encoded (``StateStore.write`` uses it too).
SEPARATORS = (",", ":")


def encode(value: Any) -> bytes:
    """``value`` as the saved parts encode it."""
    return json.dumps(value, separators=SEPARATORS).encode()


class GrowingJsonArray:
    """The encoded form of one growing list (the same list object, call after call).

    ``convert`` turns an item into what is saved for it. Should the list be another object, be
    shorter, or its last encoded item not be where it was, everything is encoded again.
    Not thread-safe: one caller at a time (the state saver calls it under its save lock).
    """

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        self._convert = convert
        self._source: Sequence[Any] | None = None
        self._count = 0
        self._last: Any = None
        self._body = bytearray()

    def encode(self, items: Sequence[Any]) -> bytes:
        """``json.dumps`` of ``[convert(item) for item in items]``, in bytes. ``items`` may grow
        meanwhile (another thread appends): what it holds when the call begins is encoded."""
        snapshot = list(items)
        done = self._count
        if not (
            items is self._source
            and len(snapshot) >= done
            and (done == 0 or snapshot[done - 1] is self._last)
        ):
            self._body, done = bytearray(), 0
        new = snapshot[done:]
        if new:
            text = json.dumps([self._convert(item) for item in new], separators=SEPARATORS)[1:-1]
            if done:
                self._body += b","
            self._body += text.encode()
        self._source = items
        self._count = len(snapshot)
        self._last = snapshot[-1] if snapshot else None
        return b"[" + bytes(self._body) + b"]"
