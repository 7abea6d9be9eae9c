"""An endpoint's CloudWatch Logs (utils/endpoint_logs.py), against moto's CloudWatch Logs in-process
(real API shapes, the same calls the helper makes on AWS)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import boto3
import pytest
from endpoint_fakes import FakeClock

from utils.endpoint_logs import (
    TRANSFORM_JOBS_LOG_GROUP,
    delete_endpoint_log_groups,
    delete_log_streams,
    delete_transform_job_logs,
    log_group_for,
    read_endpoint_logs,
    requests_per_instance,
    transform_job_log_streams,
)


def _put_lines(logs: Any, endpoint: str, stream: str, lines: list[tuple[int, str]]) -> None:
    group = f"/aws/sagemaker/Endpoints/{endpoint}"
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": ts, "message": message} for ts, message in lines],
    )


ACCESS = '127.0.0.1 - - [29/Nov/2026 20:15:41] "POST /invocations HTTP/1.1" 200 -'
PING = '127.0.0.1 - - [29/Nov/2026 20:15:41] "GET /ping HTTP/1.1" 200 -'


def test_read_endpoint_logs_merges_streams_in_time_order_and_filters(moto_aws: None) -> None:
    logs = boto3.client("logs")
    base = int(time.time() * 1000) - 60_000  # AWS (and moto) refuse events from the future
    _put_lines(logs, "ep", "AllTraffic/i-aaa", [(base + 1, "Loaded"), (base + 30, ACCESS)])
    _put_lines(logs, "ep", "AllTraffic/i-bbb", [(base + 2, "Loaded"), (base + 20, ACCESS),
                                                (base + 25, PING), (base + 40, ACCESS)])
    events = read_endpoint_logs(logs, "ep")
    assert [e.timestamp_ms - base for e in events] == [1, 2, 20, 25, 30, 40]
    assert events[0].stream == "AllTraffic/i-aaa" and events[0].message == "Loaded"

    assert len(read_endpoint_logs(logs, "ep", contains="POST /invocations")) == 3
    assert len(read_endpoint_logs(logs, "ep", since_ms=base + 25)) == 3
    assert [e.timestamp_ms - base for e in read_endpoint_logs(logs, "ep", limit=2)] == [30, 40]
    assert requests_per_instance(events) == {"AllTraffic/i-aaa": 1, "AllTraffic/i-bbb": 2}


def test_read_endpoint_logs_polls_until_enough_lines_or_timeout(moto_aws: None) -> None:
    logs = boto3.client("logs")
    clock = FakeClock()  # the timeout counts the waits, not how fast this machine answers
    # No log group yet: keeps polling until the timeout, then returns nothing.
    assert read_endpoint_logs(logs, "missing", timeout=5, sleep=clock.sleep, clock=clock) == []
    assert len(clock.sleeps) > 1 and sum(clock.sleeps) == pytest.approx(5)

    # Lines arrive while waiting: the second poll finds them.
    def arrive(seconds: float) -> None:
        if not arrivals:
            _put_lines(logs, "late", "AllTraffic/i-ccc", [(int(time.time() * 1000), ACCESS)] * 2)
        arrivals.append(seconds)

    arrivals: list[float] = []

    events = read_endpoint_logs(logs, "late", min_events=2, timeout=30, sleep=arrive)
    assert len(events) == 2


def test_deleting_endpoint_log_groups_skips_those_never_created(moto_aws: None) -> None:
    logs = boto3.client("logs")
    _put_lines(logs, "gone", "AllTraffic/i-aaa", [(int(time.time() * 1000) - 1000, ACCESS)])
    _put_lines(logs, "other", "AllTraffic/i-bbb", [(int(time.time() * 1000) - 1000, ACCESS)])
    assert delete_endpoint_log_groups(logs, ["gone", "never-logged"]) == [log_group_for("gone")]
    left = {g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]}
    assert left == {log_group_for("other")}


def test_a_transform_jobs_streams_are_deleted_never_the_shared_group(moto_aws: None) -> None:
    logs = boto3.client("logs")
    assert transform_job_log_streams(logs, "job-a") == []  # no group yet: nothing to delete
    logs.create_log_group(logGroupName=TRANSFORM_JOBS_LOG_GROUP)
    streams = [
        "job-a/i-0abc-1796233720",
        "job-a/i-0abc-1796233720/data-log",
        "job-ab/i-0def-1796233721",  # another job whose name starts the same
        "someone-else/i-0aaa-1796233722",
    ]
    for stream in streams:
        logs.create_log_stream(logGroupName=TRANSFORM_JOBS_LOG_GROUP, logStreamName=stream)
    assert delete_transform_job_logs(logs, ["job-a", "job-missing"]) == streams[:2]
    left = logs.describe_log_streams(logGroupName=TRANSFORM_JOBS_LOG_GROUP)["logStreams"]
    assert sorted(s["logStreamName"] for s in left) == streams[2:]
    assert delete_log_streams(logs, TRANSFORM_JOBS_LOG_GROUP, [streams[0]]) == []
