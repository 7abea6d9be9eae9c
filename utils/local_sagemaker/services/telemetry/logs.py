"""Container output shipped to CloudWatch Logs: one stream per instance, in batches.

:class:`LogShipper` groups log lines by stream and calls ``put_log_events`` on moto through the
gateway's own port, as any AWS client would.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Protocol

from .flusher import BatchFlusher

#: Where a process's output goes: ``(log group, log stream, line)``.
LogSink = Callable[[str, str, str], None]


class LogStreamCreator(Protocol):
    """Creates a log group, and a stream in it when ``stream`` is given."""

    def __call__(self, group: str, stream: str | None = None) -> None: ...

#: ("create" | "event", group, stream, timestamp in ms, message)
LogItem = tuple[str, str, str | None, int, str]


class LogShipper:
    """Ships container log lines to CloudWatch Logs (one stream per instance)."""

    #: put_log_events limits: 10,000 events and 1 MiB (26 bytes overhead per event) per call.
    MAX_EVENTS = 10_000
    MAX_BYTES = 1_048_576

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        self._client_factory = client_factory
        self._client: Any = None
        self._known: set[tuple[str, str | None]] = set()
        self._queue: BatchFlusher[LogItem] = BatchFlusher("log-shipper", self._send)

    def ensure_stream(self, group: str, stream: str | None = None) -> None:
        """Queue creation of a log group (and stream) so they exist before the first line."""
        self._queue.put(("create", group, stream, 0, ""))

    def emit(self, group: str, stream: str, message: str, timestamp_ms: int | None = None) -> None:
        """Queue one log event."""
        ts = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
        self._queue.put(("event", group, stream, ts, message))

    def _create(self, client: Any, group: str, stream: str | None) -> None:
        if (group, None) not in self._known:
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_group(logGroupName=group)
            self._known.add((group, None))
        if stream and (group, stream) not in self._known:
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_stream(logGroupName=group, logStreamName=stream)
            self._known.add((group, stream))

    def _send(self, batch: list[LogItem]) -> None:
        if self._client is None:
            self._client = self._client_factory()
        client = self._client
        by_stream: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for kind, group, stream, ts, message in batch:
            if kind == "create":
                self._create(client, group, stream)
            elif stream is not None:
                self._create(client, group, stream)
                by_stream[(group, stream)].append({"timestamp": ts, "message": message or " "})
        for (group, stream), events in by_stream.items():
            events.sort(key=lambda e: e["timestamp"])
            chunk: list[dict[str, Any]] = []
            size = 0
            for event in events:
                event_size = len(event["message"].encode()) + 26
                if chunk and (len(chunk) >= self.MAX_EVENTS or size + event_size > self.MAX_BYTES):
                    client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=chunk)
                    chunk, size = [], 0
                chunk.append(event)
                size += event_size
            if chunk:
                client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=chunk)



    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every line queued so far has reached CloudWatch Logs (or failed)."""
        return self._queue.flush(timeout)
