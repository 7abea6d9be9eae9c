"""An endpoint's CloudWatch Logs: every instance's container output, merged in time order.

SageMaker writes an endpoint's container output to the log group
``/aws/sagemaker/Endpoints/<endpoint>``, one stream per instance (``<variant>/<instance id>``).
:func:`read_endpoint_logs` reads every stream and merges them, polling until the lines a lesson
expects have arrived (on AWS a few seconds after the container writes them);
:func:`requests_per_instance` counts the ``POST /invocations`` lines per stream: how a load
balancer spread the requests.

Deleting: SageMaker does not delete an endpoint's log group when the endpoint is deleted, and a
log group keeps its events (billed per GB-month stored) until they expire under the group's
retention setting, by default never ("By default, log data is stored in CloudWatch Logs
indefinitely": CloudWatch Logs user guide, "Change log data retention in CloudWatch Logs"). :func:`delete_endpoint_log_groups` deletes the groups of
endpoints that are gone. Transform jobs share one group, ``/aws/sagemaker/TransformJobs``, with
every other job in the account and region, so for a job only its own streams
(``<job>/<instance id>-<epoch>`` and ``.../data-log``) are deleted
(:func:`transform_job_log_streams`, :func:`delete_log_streams`); the group itself, empty, stores
nothing and costs nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from utils.polling import max_poll_seconds, poll_intervals

__all__ = [
    "TRANSFORM_JOBS_LOG_GROUP",
    "LogEvent",
    "delete_endpoint_log_groups",
    "delete_log_streams",
    "delete_transform_job_logs",
    "log_group_for",
    "read_endpoint_logs",
    "requests_per_instance",
    "transform_job_log_streams",
]

#: The one log group every transform job of the account and region writes to.
TRANSFORM_JOBS_LOG_GROUP = "/aws/sagemaker/TransformJobs"


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



def delete_endpoint_log_groups(logs: Any, endpoints: Iterable[str]) -> list[str]:
    """Delete the log groups of ``endpoints``; return the groups deleted (absent ones skipped).

    Call it once the endpoints are gone: a running instance would go on writing to its group.
    """
    deleted = []
    for endpoint in endpoints:
        group = log_group_for(endpoint)
        try:
            logs.delete_log_group(logGroupName=group)
        except logs.exceptions.ResourceNotFoundException:
            continue  # never written to, or deleted already
        deleted.append(group)
    return deleted


def transform_job_log_streams(logs: Any, job: str) -> list[str]:
    """The streams ``job`` wrote in ``/aws/sagemaker/TransformJobs``: ``<job>/...`` (none if the
    group does not exist)."""
    streams: list[str] = []
    try:
        pages = logs.get_paginator("describe_log_streams").paginate(
            logGroupName=TRANSFORM_JOBS_LOG_GROUP, logStreamNamePrefix=f"{job}/"
        )
        for page in pages:
            streams.extend(s["logStreamName"] for s in page["logStreams"])
    except logs.exceptions.ResourceNotFoundException:
        return []
    return streams


def delete_log_streams(logs: Any, group: str, streams: Iterable[str]) -> list[str]:
    """Delete ``streams`` of ``group``; return those deleted (absent ones skipped)."""
    deleted = []
    for stream in streams:
        try:
            logs.delete_log_stream(logGroupName=group, logStreamName=stream)
        except logs.exceptions.ResourceNotFoundException:
            continue
        deleted.append(stream)
    return deleted


def delete_transform_job_logs(logs: Any, jobs: Iterable[str]) -> list[str]:
    """Delete the log streams ``jobs`` wrote in ``/aws/sagemaker/TransformJobs``; return them.

    Call it once the jobs have ended: a running job's instances still write.
    """
    streams = [stream for job in jobs for stream in transform_job_log_streams(logs, job)]
    return delete_log_streams(logs, TRANSFORM_JOBS_LOG_GROUP, streams)
