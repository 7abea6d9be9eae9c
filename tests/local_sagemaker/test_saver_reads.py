"""What the state saver and the real-time autoscaler read while traffic flows, without a server.

Both look once a second. While endpoints are invoked, CloudWatch gets new metric data every
second and the ``cloudwatch`` part is saved again: its alarms are read again (DescribeAlarms)
only after a call that may change them, and only the data points added since the last save are
converted. The autoscaler's scalable targets are read again only after a call that may change
Application Auto Scaling. Each test checks that the shortcut returns what a full read would.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest

from utils.local_sagemaker.core.settings import ACCOUNT_ID, REGION
from utils.local_sagemaker.services.scaling.registrations import ScalingRegistrations
from utils.local_sagemaker.services.state.aws_services import AwsServices
from utils.local_sagemaker.services.state.persistence import Persistence
from utils.local_sagemaker.services.state.store import StateStore


class Pages:
    """A boto3 paginator answering fixed pages, counting how often it was asked."""

    def __init__(self, key: str, items: list[dict[str, Any]]) -> None:
        self.key = key
        self.items = items
        self.reads = 0
        #: Called as a read is answered: a change that reaches moto meanwhile.
        self.during_read: Any = None

    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        self.reads += 1
        if self.during_read is not None:
            self.during_read()
            self.during_read = None
        return [{self.key: list(self.items)}]


class Client:
    def __init__(self, pages: dict[str, Pages]) -> None:
        self.pages = pages

    def get_paginator(self, operation: str) -> Pages:
        return self.pages[operation]


@pytest.fixture
def cloudwatch_backend(moto_aws: None) -> Any:
    """moto's in-process CloudWatch backend of the local account (fresh for each test)."""
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[ACCOUNT_ID][REGION]


def _put(backend: Any, value: float, count: int = 1) -> None:
    now = dt.datetime.now(dt.UTC)
    backend.put_metric_data(
        "AWS/SageMaker",
        [
            {
                "MetricName": "Invocations",
                "Value": value + i,
                "Unit": "None",
                "Timestamp": now,
                "Dimensions": [{"Name": "EndpointName", "Value": "e"}],
            }
            for i in range(count)
        ],
    )


def _alarm(name: str) -> dict[str, Any]:
    return {"AlarmName": name, "Namespace": "AWS/SageMaker", "StateValue": "OK"}


class Empty:
    """Stands for each SageMaker service the saver exports: nothing to save."""

    def export_state(self) -> dict[str, Any]:
        return {}


def _persistence(tmp_path: Path, client: Client) -> Persistence:
    """A saver whose own loop waits an hour (the test saves), started so that nothing is held
    back for a restore."""
    empty: Any = Empty()
    persistence = Persistence(
        tmp_path, lambda _: client, empty, empty, empty, empty, empty, 3600.0, print
    )
    persistence.start()
    return persistence


def test_the_cloudwatch_part_reads_the_alarms_only_after_a_call_that_may_change_them(
    tmp_path: Path, cloudwatch_backend: Any
) -> None:
    alarms = Pages("MetricAlarms", [_alarm("a")])
    persistence = _persistence(tmp_path, Client({"describe_alarms": alarms}))
    saved = tmp_path / "saved" / "cloudwatch.json"

    def save() -> dict[str, Any]:
        persistence.save()
        data: dict[str, Any] = json.loads(saved.read_bytes())["data"]
        return data

    persistence.touched("monitoring", "PutMetricAlarm")  # the first save reads them
    assert save()["alarms"] == [{"AlarmName": "a", "Namespace": "AWS/SageMaker", "StateValue": "OK"}]
    assert alarms.reads == 1
    for value in (1.0, 2.0):  # traffic: the metrics publisher's PutMetricData
        _put(cloudwatch_backend, value)
        persistence.touched("monitoring", "PutMetricData")
        assert len(save()["metrics"]) == int(value)
    assert alarms.reads == 1  # new data points only: the alarms were not read again

    alarms.items.append(_alarm("b"))  # PutMetricAlarm reached moto
    persistence.touched("monitoring", "PutMetricAlarm")
    assert [a["AlarmName"] for a in save()["alarms"]] == ["a", "b"]
    assert alarms.reads == 2

    alarms.items.pop()  # a request that named no operation may have changed them too
    persistence.touched("monitoring", None)
    assert [a["AlarmName"] for a in save()["alarms"]] == ["a"]
    assert alarms.reads == 3
    # a change while they are being read: the next save reads them again
    alarms.during_read = lambda: persistence.touched("monitoring", "DeleteAlarms")
    persistence.touched("monitoring", "PutMetricAlarm")
    save()
    assert alarms.reads == 4
    save()
    assert alarms.reads == 5
    persistence.close()
    assert alarms.reads == 5  # the last save had nothing new to read


def test_metric_points_are_converted_once_and_all_are_saved(
    tmp_path: Path, cloudwatch_backend: Any
) -> None:
    aws = AwsServices(
        lambda _: Client({"describe_alarms": Pages("MetricAlarms", [])}), StateStore(tmp_path)
    )

    def saved_values() -> list[float]:
        aws.save("cloudwatch")
        data = json.loads((tmp_path / "cloudwatch.json").read_bytes())["data"]
        return [point["Value"] for point in data["metrics"]]

    _put(cloudwatch_backend, 1.0, count=3)
    assert saved_values() == [1.0, 2.0, 3.0]
    converted = list(cloudwatch_backend.metric_data)
    _put(cloudwatch_backend, 10.0, count=2)
    assert saved_values() == [1.0, 2.0, 3.0, 10.0, 11.0]
    for datum in converted:  # the points saved before were not converted again
        datum.value = -1.0
    assert saved_values() == [1.0, 2.0, 3.0, 10.0, 11.0]

    # moto's list replaced (a reset): everything is converted again from the new list
    cloudwatch_backend.metric_data = []
    _put(cloudwatch_backend, 5.0)
    assert saved_values() == [5.0]


def test_scalable_targets_are_read_again_only_after_a_change() -> None:
    targets = Pages("ScalableTargets", [{"ResourceId": "endpoint/e/variant/v", "MinCapacity": 1}])
    registrations = ScalingRegistrations(lambda _: Client({"describe_scalable_targets": targets}))
    assert list(registrations.targets()) == ["endpoint/e/variant/v"]
    assert list(registrations.targets()) == ["endpoint/e/variant/v"]
    assert targets.reads == 1

    targets.items.append({"ResourceId": "endpoint/f/variant/v", "MinCapacity": 1})
    registrations.changed()  # RegisterScalableTarget reached moto (the gateway says so)
    assert sorted(registrations.targets()) == ["endpoint/e/variant/v", "endpoint/f/variant/v"]
    assert targets.reads == 2
    # what a caller does with the answer does not change the next one
    registrations.targets().clear()
    assert len(registrations.targets()) == 2 and targets.reads == 2


class ReadBeganEarlier:
    """DescribeScalableTargets answering the targets as they were when the read began, after
    ``meanwhile`` ran: a change that reached moto while the read was under way."""

    def __init__(self, *resources: str) -> None:
        self.resources = list(resources)
        self.meanwhile: Any = None

    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        answer = [{"ScalableTargets": [{"ResourceId": r} for r in self.resources]}]
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        return answer


def test_a_read_of_the_scalable_targets_that_began_before_a_change_is_not_kept_as_current() -> None:
    """The autoscaler's rounds and DeleteEndpoint's requests read the targets on their own
    threads: a read that began before a change is used once, then read again, even when a newer
    read ended first (why ScalingRegistrations compares a count of changes, not a flag cleared
    as a read begins: the older read would clear the mark the newer one left)."""
    targets = ReadBeganEarlier("e")
    registrations = ScalingRegistrations(lambda _: Client({"describe_scalable_targets": targets}))  # type: ignore[dict-item]

    def register(resource: str) -> None:  # RegisterScalableTarget reached moto
        targets.resources.append(resource)
        registrations.changed()

    targets.meanwhile = lambda: register("f")
    assert list(registrations.targets()) == ["e"]
    assert sorted(registrations.targets()) == ["e", "f"]

    def newer_read() -> None:  # another thread registers "g" and reads, done first
        register("g")
        assert sorted(registrations.targets()) == ["e", "f", "g"]

    registrations.changed()  # a change that moved no target: the next call reads
    targets.meanwhile = newer_read
    assert sorted(registrations.targets()) == ["e", "f"]  # the older read, ending last
    assert sorted(registrations.targets()) == ["e", "f", "g"]


def test_log_events_are_encoded_once_and_the_part_is_the_whole_groups_json(
    tmp_path: Path, moto_aws: None
) -> None:
    import boto3
    from moto.logs.models import logs_backends

    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="/aws/sagemaker/Endpoints/e")
    logs.put_retention_policy(logGroupName="/aws/sagemaker/Endpoints/e", retentionInDays=7)
    for stream in ("AllTraffic/i-1", "AllTraffic/i-2"):
        logs.create_log_stream(logGroupName="/aws/sagemaker/Endpoints/e", logStreamName=stream)
    aws = AwsServices(lambda _: Client({}), StateStore(tmp_path))
    clock = [int(time.time() * 1000) - 60_000]  # within the retention

    def put(stream: str, *messages: str) -> None:
        events = []
        for message in messages:
            clock[0] += 1
            events.append({"timestamp": clock[0], "message": message})
        logs.put_log_events(
            logGroupName="/aws/sagemaker/Endpoints/e", logStreamName=stream, logEvents=events
        )

    def saved() -> tuple[dict[str, Any], bytes]:
        aws.save("logs")
        [part] = tmp_path.glob("logs/group-*.json")
        raw = part.read_bytes()
        data = json.loads(raw)["data"]
        return data, raw

    def expected() -> dict[str, Any]:
        group = logs_backends[ACCOUNT_ID][REGION].groups["/aws/sagemaker/Endpoints/e"]
        return {
            "name": group.name,
            "retention": group.retention_in_days,
            "streams": [
                {"name": name, "events": [[e.timestamp, e.message] for e in stream.events]}
                for name, stream in group.streams.items()
            ],
        }

    put("AllTraffic/i-1", "started", 'say "é"\n')
    data, raw = saved()
    assert data == expected() and data["retention"] == 7
    assert json.dumps(expected(), separators=(",", ":")).encode() in raw  # byte for byte

    first = logs_backends[ACCOUNT_ID][REGION].groups["/aws/sagemaker/Endpoints/e"]
    events_before = list(first.streams["AllTraffic/i-1"].events)
    put("AllTraffic/i-1", "one more")
    put("AllTraffic/i-2", "other instance")
    data, raw = saved()
    assert data == expected()
    assert json.dumps(expected(), separators=(",", ":")).encode() in raw
    for event in events_before:  # the events saved before were not encoded again
        event.message = "changed"
    put("AllTraffic/i-1", "last")
    data, _ = saved()
    assert [m for _, m in data["streams"][0]["events"]] == [
        "started", 'say "é"\n', "one more", "last"
    ]

    logs.delete_log_stream(logGroupName="/aws/sagemaker/Endpoints/e", logStreamName="AllTraffic/i-2")
    put("AllTraffic/i-1", "after the delete")
    data, _ = saved()
    assert [s["name"] for s in data["streams"]] == ["AllTraffic/i-1"]
    logs.delete_log_group(logGroupName="/aws/sagemaker/Endpoints/e")
    aws.save("logs")
    assert list(tmp_path.glob("logs/group-*.json")) == []


def test_the_s3_part_reads_again_only_the_buckets_requests_changed(
    tmp_path: Path, moto_aws: None
) -> None:
    """While a transform job writes its outputs, each save lists the one bucket it writes to,
    not the others, and reads no bucket's tags, policy or versioning: a request on a key
    changes none of them. Each save writes what a full read writes."""
    import boto3

    s3 = boto3.client("s3", region_name=REGION)
    calls: list[tuple[str, str]] = []
    s3.meta.events.register(
        "before-parameter-build.s3.*",
        lambda model, params, **_: calls.append((model.name, params.get("Bucket", ""))),
    )
    for name in ("data", "other"):
        s3.create_bucket(Bucket=name)
        s3.put_object(Bucket=name, Key="in/a.csv", Body=b"1,2\n")
    s3.put_bucket_tagging(Bucket="other", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    persistence = _persistence(tmp_path, s3)  # type: ignore[arg-type]
    for name in ("data", "other"):  # the requests above, as the gateway reports them
        persistence.touched("s3", "CreateBucket", f"/{name}")
        persistence.touched("s3", "PutObject", f"/{name}/in/a.csv")
    persistence.touched("s3", "PutBucketTagging", "/other")

    def save() -> list[dict[str, Any]]:
        calls.clear()
        persistence.save()
        made = list(calls)
        data = _saved_s3(tmp_path)
        assert _full_s3_read(s3, tmp_path) == data
        calls[:] = made
        return data

    first = save()  # the first save reads everything
    assert {b for op, b in calls if op == "ListObjectsV2"} == {"data", "other"}
    assert first[1]["tags"] == [{"Key": "k", "Value": "v"}]

    s3.put_object(Bucket="data", Key="out/a.csv.out", Body=b"0.5\n")
    persistence.touched("s3", "PutObject", "/data/out/a.csv.out")
    saved = save()
    assert [op for op, b in calls if b == "other"] == []
    assert {op for op, b in calls if b == "data"} == {"ListObjectsV2", "GetObject", "GetObjectTagging"}
    assert [o["Key"] for o in saved[0]["objects"]] == ["in/a.csv", "out/a.csv.out"]

    s3.delete_bucket_tagging(Bucket="other")  # a request on the bucket itself
    persistence.touched("s3", "DeleteBucketTagging", "/other")
    assert "tags" not in save()[1]
    assert {op for op, b in calls if b == "other"} >= {"GetBucketTagging", "ListObjectsV2"}

    s3.delete_object(Bucket="data", Key="in/a.csv")
    persistence.touched("s3", None, None)  # which bucket is not known: all are read again
    assert [o["Key"] for o in save()[0]["objects"]] == ["out/a.csv.out"]
    assert {b for op, b in calls if op == "ListObjectsV2"} == {"data", "other"}


def _saved_s3(tmp_path: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((tmp_path / "saved" / "s3.json").read_bytes())["data"]
    return data


def _full_s3_read(s3: Any, tmp_path: Path) -> list[dict[str, Any]]:
    """What a saver that knows nothing yet writes: every bucket read."""
    full = AwsServices(lambda _: s3, StateStore(tmp_path / "full"))
    full.save("s3")
    data: list[dict[str, Any]] = json.loads((tmp_path / "full" / "s3.json").read_bytes())["data"]
    return data


def test_a_bucket_changed_during_a_save_or_in_a_failed_one_is_read_by_the_next(
    tmp_path: Path, moto_aws: None
) -> None:
    """A save reads again only the buckets named since the last one, so a change it drops is
    never saved: neither a change that arrives while it reads nor one whose save fails may be
    lost. After each, the next save writes what a full read writes."""
    import boto3

    s3 = boto3.client("s3", region_name=REGION)
    persistence = _persistence(tmp_path, s3)  # type: ignore[arg-type]
    for name in ("data", "other"):
        s3.create_bucket(Bucket=name)
        s3.put_object(Bucket=name, Key="in/a.csv", Body=b"1,2\n")
        persistence.touched("s3", "CreateBucket", f"/{name}")
        persistence.touched("s3", "PutObject", f"/{name}/in/a.csv")
    persistence.save()
    assert _saved_s3(tmp_path) == _full_s3_read(s3, tmp_path)

    # "data" is read, then, while "other" is listed, an object reaches "data"
    arrived: list[str] = []

    def meanwhile(params: dict[str, Any], **_: Any) -> None:
        if params.get("Bucket") == "other" and not arrived:
            arrived.append("data/out/late.csv.out")
            s3.put_object(Bucket="data", Key="out/late.csv.out", Body=b"0.5\n")
            persistence.touched("s3", "PutObject", "/data/out/late.csv.out")

    s3.meta.events.register("before-parameter-build.s3.ListObjectsV2", meanwhile)
    for name in ("data", "other"):
        s3.put_object(Bucket=name, Key="in/b.csv", Body=b"3,4\n")
        persistence.touched("s3", "PutObject", f"/{name}/in/b.csv")
    persistence.save()
    s3.meta.events.unregister("before-parameter-build.s3.ListObjectsV2", meanwhile)
    assert arrived and "out/late.csv.out" not in {o["Key"] for o in _saved_s3(tmp_path)[0]["objects"]}
    persistence.save()
    assert _saved_s3(tmp_path) == _full_s3_read(s3, tmp_path)

    # a save that fails while reading "other" (moto busy): the next one reads it
    def busy(**_: Any) -> None:
        raise RuntimeError("moto is busy")

    s3.put_object(Bucket="other", Key="in/c.csv", Body=b"5,6\n")
    persistence.touched("s3", "PutObject", "/other/in/c.csv")
    s3.meta.events.register("before-call.s3.GetObject", busy)
    persistence.save()
    s3.meta.events.unregister("before-call.s3.GetObject", busy)
    assert "in/c.csv" not in {o["Key"] for o in _saved_s3(tmp_path)[1]["objects"]}
    persistence.save()
    assert _saved_s3(tmp_path) == _full_s3_read(s3, tmp_path)
    persistence.close()


def test_an_alarms_state_is_saved_and_put_back(tmp_path: Path, moto_aws: None) -> None:
    """PutMetricAlarm starts an alarm afresh: its state (an autoscaling alarm in ALARM, say)
    comes back as it was saved, as the rest of the account does."""
    import boto3

    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    aws = AwsServices(lambda service: boto3.client(service, region_name=REGION), StateStore(tmp_path))
    for name in ("high", "low"):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SageMaker",
            MetricName="InvocationsPerInstance",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=3,
            Threshold=70.0,
            ComparisonOperator="GreaterThanThreshold",
        )
    reason = "Threshold Crossed: 3 datapoints [90.0, 88.0, 95.0] were greater than the threshold"
    cloudwatch.set_alarm_state(
        AlarmName="high", StateValue="ALARM", StateReason=reason, StateReasonData='{"a": 1}'
    )
    cloudwatch.set_alarm_state(AlarmName="low", StateValue="INSUFFICIENT_DATA", StateReason="r")

    def states() -> list[tuple[str, str, str]]:
        return [
            (a["AlarmName"], a["StateValue"], a["StateReason"])
            for a in cloudwatch.describe_alarms()["MetricAlarms"]
        ]

    before = states()
    aws.save("cloudwatch")
    data = json.loads((tmp_path / "cloudwatch.json").read_bytes())["data"]
    cloudwatch.delete_alarms(AlarmNames=["high", "low"])  # the account after a restart
    notes: list[str] = []
    aws.restore("cloudwatch", data, notes)
    assert notes == []
    assert states() == before == [("high", "ALARM", reason), ("low", "INSUFFICIENT_DATA", "r")]
    [high] = cloudwatch.describe_alarms(AlarmNames=["high"])["MetricAlarms"]
    assert json.loads(high["StateReasonData"]) == {"a": 1}


def test_a_change_recorded_after_close_is_saved_by_save_changes(
    tmp_path: Path, moto_aws: None
) -> None:
    """The gateway closes the saver before it stops the workers, then ships their last log
    lines: the save of the changed parts it makes after that keeps them."""
    import boto3

    logs = boto3.client("logs", region_name=REGION)
    persistence = Persistence(
        tmp_path,
        lambda service: boto3.client(service, region_name=REGION),
        *([Empty()] * 5),  # type: ignore[arg-type]
        3600.0,
        print,
    )
    persistence.start()
    logs.create_log_group(logGroupName="/aws/sagemaker/Endpoints/e")
    logs.create_log_stream(logGroupName="/aws/sagemaker/Endpoints/e", logStreamName="AllTraffic/i")
    persistence.touched("logs", "CreateLogStream")
    persistence.close()
    logs.put_log_events(
        logGroupName="/aws/sagemaker/Endpoints/e",
        logStreamName="AllTraffic/i",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "worker stopped"}],
    )
    persistence.touched("logs", "PutLogEvents")
    persistence.save_changes()

    [part] = (tmp_path / "saved").glob("logs/group-*.json")
    [stream] = json.loads(part.read_bytes())["data"]["streams"]
    assert [message for _, message in stream["events"]] == ["worker stopped"]
