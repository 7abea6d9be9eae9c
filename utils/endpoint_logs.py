"""An endpoint's CloudWatch Logs: every instance's container output, merged in time order.

SageMaker writes an endpoint's container output to the log group
``/aws/sagemaker/Endpoints/<endpoint>``, one stream per instance (``<variant>/<instance id>``).
:func:`read_endpoint_logs` reads every stream and merges them, polling until the lines a lesson
expects have arrived (on AWS a few seconds after the container writes them);
:func:`requests_per_instance` counts the ``POST /invocations`` lines per stream: how a load
balancer spread the requests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from utils.polling import max_poll_seconds, poll_intervals

__all__ = ["LogEvent", "log_group_for", "read_endpoint_logs", "requests_per_instance"]


@dataclass(frozen=True)
class LogEvent:
    """One line of an endpoint's log: its stream (``<variant>/<instance id>``) and message."""

    timestamp_ms: int
    stream: str
    message: str


def log_group_for(endpoint: str) -> str:
    """Where SageMaker writes an endpoint's container output."""
    return f"/aws/sagemaker/Endpoints/{endpoint}"


def read_endpoint_logs(
    logs: Any,
    endpoint: str,
    limit: int = 1000,
    contains: str | None = None,
    since_ms: int | None = None,
    min_events: int = 1,
    timeout: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[LogEvent]:
    """The endpoint's log lines from every instance's stream, oldest first (the last ``limit``).

    ``contains`` keeps only lines with that text; ``since_ms`` only lines logged at or after that
    time (milliseconds since the epoch, as ``int(time.time() * 1000)`` gives). Logs arrive a
    little after the container writes them (seconds on AWS), so this polls until at least
    ``min_events`` matching lines are there or ``timeout`` passes, then returns what there is.
    ``sleep`` and ``clock`` are the waiting and the time it goes by (a test passes its own).
    """
    group = log_group_for(endpoint)
    deadline = clock() + timeout
    intervals = poll_intervals(most=max_poll_seconds(logs))  # AWS's pace, or the local one
    while True:
        events = _all_events(logs, group)
        if contains is not None:
            events = [e for e in events if contains in e.message]
        if since_ms is not None:
            events = [e for e in events if e.timestamp_ms >= since_ms]
        if len(events) >= min_events or clock() >= deadline:
            return events[-limit:] if limit else events
        sleep(min(next(intervals), max(0.0, deadline - clock())))


def _all_events(logs: Any, group: str) -> list[LogEvent]:
    events: list[LogEvent] = []
    try:
        streams: list[str] = []
        for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group):
            streams.extend(s["logStreamName"] for s in page["logStreams"])
    except logs.exceptions.ResourceNotFoundException:
        return []
    for stream in streams:
        token = None
        while True:
            kwargs: dict[str, Any] = {
                "logGroupName": group,
                "logStreamName": stream,
                "startFromHead": True,
            }
            if token:
                kwargs["nextToken"] = token
            page = logs.get_log_events(**kwargs)
            events.extend(LogEvent(e["timestamp"], stream, e["message"]) for e in page["events"])
            if not page["events"] or page.get("nextForwardToken") in (None, token):
                break
            token = page["nextForwardToken"]
    events.sort(key=lambda e: e.timestamp_ms)
    return events


_INVOCATION_LINE = re.compile(r'"POST /invocations\b')


def requests_per_instance(events: Iterable[LogEvent]) -> dict[str, int]:
    """How many ``POST /invocations`` each instance's stream logged (streams with none count 0)."""
    counts: dict[str, int] = {}
    for event in events:
        counts.setdefault(event.stream, 0)
        if _INVOCATION_LINE.search(event.message):
            counts[event.stream] += 1
    return dict(sorted(counts.items()))

