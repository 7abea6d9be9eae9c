"""The local SageMaker's log shipper (services/telemetry/logs.py) against moto's CloudWatch Logs
in-process: a log group deleted under a running instance, and an endpoint created again."""

from __future__ import annotations

from typing import Any

import boto3

from utils.local_sagemaker.services.telemetry.logs import LogShipper

GROUP = "/aws/sagemaker/Endpoints/ep"


def _messages(logs: Any, stream: str) -> list[str]:
    events = logs.get_log_events(logGroupName=GROUP, logStreamName=stream)["events"]
    return [e["message"] for e in events]


def test_a_deleted_group_comes_back_with_the_next_lines(moto_aws: None) -> None:
    logs = boto3.client("logs")
    shipper = LogShipper(lambda: boto3.client("logs"))  # its thread is a daemon, idle after
    shipper.ensure_stream(GROUP)
    shipper.emit(GROUP, "AllTraffic/i-1", "first")
    assert shipper.flush()
    assert _messages(logs, "AllTraffic/i-1") == ["first"]

    logs.delete_log_group(logGroupName=GROUP)
    shipper.emit(GROUP, "AllTraffic/i-1", "after the delete")
    shipper.emit(GROUP, "AllTraffic/i-2", "another instance")
    assert shipper.flush()
    assert _messages(logs, "AllTraffic/i-1") == ["after the delete"]
    assert _messages(logs, "AllTraffic/i-2") == ["another instance"]

    # an endpoint created again under the same name gets its group at once
    logs.delete_log_group(logGroupName=GROUP)
    shipper.ensure_stream(GROUP)
    assert shipper.flush()
    names = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    assert names == [GROUP]
