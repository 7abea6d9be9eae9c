"""A queue shipped in batches by one background thread: what every telemetry sender builds on.

The request path only appends to a list; shipping (boto3 calls to moto through the gateway's own
port) happens on the flusher's thread. It uses no timer: the thread sleeps on a condition until
there is something to send, sends everything queued so far in one batch, and repeats; under load
batches grow by themselves. :meth:`BatchFlusher.flush` lets callers (tests, the
``/_local/flush`` route) wait until everything queued has been shipped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class BatchFlusher(Generic[T]):
    """A queue drained in batches by one daemon thread; ``flush`` waits for the drain.

    ``send`` ships one batch (a list of the items queued since the last one); an exception it
    raises is reported and the batch dropped, never the thread.

    After each send the thread waits up to ``min_interval`` for more items (or for a ``flush``)
    before sending again: shipping costs CPU in the gateway process, and doing it once per
    request would slow the very invocations being measured. CloudWatch aggregates per minute
    anyway, so a one-second batching window changes nothing a learner can see.
    """

    def __init__(
        self, name: str, send: Callable[[list[T]], None], min_interval: float = 1.0
    ) -> None:
        self._send = send
        self._items: list[T] = []
        #: ``put`` takes the lock itself (a C call; the Condition's ``with`` runs Python code).
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._queued = 0
        self._done = 0
        self._urgent = False
        self._stopped = False
        self._min_interval = min_interval
        self._name = name
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: T) -> None:
        """Queue one item (cheap: the request path calls this)."""
        with self._lock:
            self._items.append(item)
            self._queued += 1
            if len(self._items) == 1:
                # Only the first item wakes the flusher: it waits for "something to send", then
                # for its batching window, which further items do not shorten. Waking it on every
                # item would cost the request path a thread switch each time.
                self._cond.notify_all()

    def _run(self) -> None:
        last_send = float("-inf")
        while True:
            with self._cond:
                while not self._items and not self._stopped:
                    self._cond.wait()
                while not self._stopped and not self._urgent:
                    remaining = last_send + self._min_interval - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)  # batching window; a flush() cuts it short
                if self._stopped and not self._items:
                    return
                batch, self._items = self._items, []
                self._urgent = False
            try:
                if batch:
                    self._send(batch)
            except Exception as exc:  # moto down or a bad batch: report, never kill the thread
                print(f"local SageMaker: could not ship a {self._name} batch: {exc!r}")
            last_send = time.monotonic()
            with self._cond:
                self._done += len(batch)
                self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued before this call has been sent (or failed)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._queued
            self._urgent = True
            self._cond.notify_all()
            while self._done < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
