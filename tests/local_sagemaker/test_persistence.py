"""State survives a restart: ``stop`` then ``start`` (or a killed gateway) loses nothing.

These tests run a local SageMaker of their own, in a state folder of their own, because they
stop and start it (the session's shared server is not touched). Every wait polls.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from local_server import SETTINGS, local_route, make_client

from utils.local_sagemaker.core.worker_contract import TEMPLATE_MODULE
from utils.local_sagemaker.services.state.store import StateStore, atomic_write
from utils.local_sagemaker.wire import cli, daemon

from .conftest import build_archive, wait_status

BUCKET = "persisted-bucket"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"

HELD_WHEN_NINE = """
import os, time, joblib
def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
def predict_fn(data, model):
    if data[0][0] == 9:
        # keeps the only instance busy (the next request waits in the queue) until the test
        # creates RELEASE_FILE, after the restart
        while not os.path.exists(os.environ["RELEASE_FILE"]):
            time.sleep(0.02)
    return model.predict(data)
"""


@contextlib.contextmanager
def own_server(state_dir: Path) -> Iterator[Callable[[], str]]:
    """Settings for a local SageMaker in ``state_dir``; yields ``start`` (returns its URL).

    Whatever runs there at the end is stopped, and the environment is put back.
    """
    overrides = {**SETTINGS, "LOCAL_SAGEMAKER_STATE_DIR": str(state_dir)}
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield daemon.ensure_running
    finally:
        daemon.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def poll(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Call ``check`` until it returns something truthy (short interval, bounded)."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        with contextlib.suppress(Exception):
            result = check()
            if result:
                return result
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def invoke(url: str, name: str) -> bytes:
    runtime = make_client("sagemaker-runtime", url)
    answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1,1\n3,3")
    return bytes(answer["Body"].read())


def read(s3: Any, uri: str) -> bytes:
    bucket, key = uri[len("s3://") :].split("/", 1)
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def create_model(sm: Any, name: str, url: str, environment: dict[str, str] | None = None) -> None:
    sm.create_model(
        ModelName=name,
        PrimaryContainer={
            "Image": "sklearn-inference:1.4-2",
            "ModelDataUrl": url,
            # the container has no default script (as on AWS): name the archive's code/inference.py
            "Environment": {
                "SAGEMAKER_PROGRAM": "inference.py",
                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                **(environment or {}),
            },
        },
        ExecutionRoleArn=ROLE,
        Tags=[{"Key": "course", "Value": "persist"}],
    )


def variant(model: str, count: int = 1) -> dict[str, Any]:
    return {
        "VariantName": "AllTraffic",
        "ModelName": model,
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": count,
    }


def _worker_templates() -> list[psutil.Process]:
    """The worker templates the running gateway started."""
    state = daemon.status()
    assert state is not None
    children = psutil.Process(state["pid"]).children()
    return [child for child in children if TEMPLATE_MODULE in " ".join(child.cmdline())]


def test_stop_and_start_keep_everything(tmp_path: Path) -> None:
    with own_server(tmp_path / "state") as start:
        url = start()
        s3 = make_client("s3", url)
        sm = make_client("sagemaker", url)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
        s3.put_object(
            Bucket=BUCKET,
            Key="data/train.csv",
            Body=b"1,2\n3,4\n",
            ContentType="text/csv",
            Metadata={"origin": "test"},
        )
        s3.put_object(Bucket=BUCKET, Key="models/m.tar.gz", Body=build_archive("default"))
        s3.put_object(Bucket=BUCKET, Key="models/held.tar.gz", Body=_held_archive())
        s3.put_object(Bucket=BUCKET, Key="models/t.tar.gz", Body=build_archive("transform"))
        s3.put_object(Bucket=BUCKET, Key="batch/in.txt", Body=b"world")

        iam = make_client("iam", url)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sagemaker.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        iam.create_role(RoleName="SageMakerRole", AssumeRolePolicyDocument=json.dumps(trust))
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
        iam.put_role_policy(
            RoleName="SageMakerRole", PolicyName="read", PolicyDocument=json.dumps(policy)
        )

        sns = make_client("sns", url)
        sqs = make_client("sqs", url)
        topic = sns.create_topic(Name="results")["TopicArn"]
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        sns.publish(TopicArn=topic, Message="before the restart")

        logs = make_client("logs", url)
        logs.create_log_group(logGroupName="/course/notes")
        logs.create_log_stream(logGroupName="/course/notes", logStreamName="one")
        logs.put_log_events(
            logGroupName="/course/notes",
            logStreamName="one",
            logEvents=[{"timestamp": int(time.time() * 1000), "message": "remember me"}],
        )
        cloudwatch = make_client("cloudwatch", url)
        cloudwatch.put_metric_data(
            Namespace="Course", MetricData=[{"MetricName": "Lessons", "Value": 7.0}]
        )

        # The worker template starts with the account's first model, not with the server.
        assert _worker_templates() == []
        # a real-time endpoint, scaled to 2 instances after it was created
        create_model(sm, "rt-model", f"s3://{BUCKET}/models/m.tar.gz")
        assert len(_worker_templates()) == 1
        sm.create_endpoint_config(
            EndpointConfigName="rt-config", ProductionVariants=[variant("rt-model")]
        )
        sm.create_endpoint(EndpointName="rt", EndpointConfigName="rt-config")
        wait_status(sm, "rt", {"InService"})
        sm.update_endpoint_weights_and_capacities(
            EndpointName="rt",
            DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}],
        )
        wait_status(sm, "rt", {"InService"})
        answer = invoke(url, "rt")
        scaling = make_client("application-autoscaling", url)
        scaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId="endpoint/rt/variant/AllTraffic",
            ScalableDimension="sagemaker:variant:DesiredInstanceCount",
            # the 2 instances are the floor: at the tests' 120x autoscaling clock the scale-in
            # alarm (15 one-minute periods) can go off about 8 s after the policy exists, so with
            # a floor of 1 a slow run could lose an instance before the count after the restart
            # is read
            MinCapacity=2,
            MaxCapacity=3,
        )
        scaling.put_scaling_policy(
            PolicyName="per-instance",
            ServiceNamespace="sagemaker",
            ResourceId="endpoint/rt/variant/AllTraffic",
            ScalableDimension="sagemaker:variant:DesiredInstanceCount",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 70.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
            },
        )

        # a transform job that completed, its output in S3
        create_model(sm, "t-model", f"s3://{BUCKET}/models/t.tar.gz")
        sm.create_transform_job(
            TransformJobName="batch-one",
            ModelName="t-model",
            TransformInput={
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/"}
                }
            },
            TransformOutput={"S3OutputPath": f"s3://{BUCKET}/batch-out/"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        )
        job = poll(
            lambda: (
                sm.describe_transform_job(TransformJobName="batch-one")
                if sm.describe_transform_job(TransformJobName="batch-one")["TransformJobStatus"]
                == "Completed"
                else None
            ),
            "transform job completed",
        )

        # an asynchronous endpoint with one request running and one waiting behind it
        release = tmp_path / "release"
        create_model(
            sm, "async-model", f"s3://{BUCKET}/models/held.tar.gz", {"RELEASE_FILE": str(release)}
        )
        sm.create_endpoint_config(
            EndpointConfigName="async-config",
            ProductionVariants=[variant("async-model")],
            AsyncInferenceConfig={
                "OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/async-out/"},
                "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1},
            },
        )
        sm.create_endpoint(EndpointName="queued", EndpointConfigName="async-config")
        wait_status(sm, "queued", {"InService"})
        runtime = make_client("sagemaker-runtime", url)
        s3.put_object(Bucket=BUCKET, Key="async-in/held.csv", Body=b"9,9\n9,9")
        s3.put_object(Bucket=BUCKET, Key="async-in/next.csv", Body=b"1,1\n1,1")
        held = runtime.invoke_endpoint_async(
            EndpointName="queued",
            ContentType="text/csv",
            InputLocation=f"s3://{BUCKET}/async-in/held.csv",
            RequestTTLSeconds=21600,
        )
        waiting = runtime.invoke_endpoint_async(
            EndpointName="queued",
            ContentType="text/csv",
            InputLocation=f"s3://{BUCKET}/async-in/next.csv",
            RequestTTLSeconds=21600,
        )
        poll(
            lambda: local_route(url, "/_local/async/queued")["ApproximateBacklogSize"] == 2,
            "both requests accepted",
        )
        # target tracking's two alarms, which name the policy in their actions
        alarms_before = sorted(
            a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]
        )
        assert len(alarms_before) == 2
        local_route(url, "/_local/flush")
        logs = make_client("logs", url)
        endpoint_streams = {
            stream["logStreamName"]: [
                e["message"]
                for e in logs.get_log_events(
                    logGroupName="/aws/sagemaker/Endpoints/rt",
                    logStreamName=stream["logStreamName"],
                )["events"]
            ]
            for stream in logs.describe_log_streams(logGroupName="/aws/sagemaker/Endpoints/rt")[
                "logStreams"
            ]
        }
        assert any(endpoint_streams.values())
        invocations_before = cloudwatch.get_metric_statistics(
            Namespace="AWS/SageMaker",
            MetricName="Invocations",
            Dimensions=[
                {"Name": "EndpointName", "Value": "rt"},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ],
            StartTime=time.time() - 3600,
            EndTime=time.time() + 1,
            Period=3600,
            Statistics=["SampleCount"],
        )["Datapoints"]
        assert invocations_before[0]["SampleCount"] >= 1
        costs_before = local_route(url, "/_local/costs")
        before = {
            "rt": sm.describe_endpoint(EndpointName="rt"),
            "model": sm.describe_model(ModelName="rt-model"),
            "config": sm.describe_endpoint_config(EndpointConfigName="rt-config"),
            "tags": sm.list_tags(ResourceArn=sm.describe_model(ModelName="rt-model")["ModelArn"]),
            "job": job,
        }
        # the first request is still held: the restart cuts it off
        with pytest.raises(s3.exceptions.NoSuchKey):
            read(s3, held["OutputLocation"])
        assert daemon.stop() is True
        stopped_at = time.time()

        url = start()
        release.touch()
        # log groups and streams are back before the server says it is up (their events may
        # still be on their way): a clean-up listing them at once finds them all
        logs = make_client("logs", url)
        groups = {g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]}
        assert {"/course/notes", "/aws/sagemaker/Endpoints/rt"} <= groups
        assert [
            s["logStreamName"]
            for s in logs.describe_log_streams(logGroupName="/course/notes")["logStreams"]
        ] == ["one"]
        assert set(endpoint_streams) <= {  # with the fresh instances' own streams
            s["logStreamName"]
            for s in logs.describe_log_streams(logGroupName="/aws/sagemaker/Endpoints/rt")[
                "logStreams"
            ]
        }
        s3 = make_client("s3", url)
        sm = make_client("sagemaker", url)
        # S3: buckets, objects with their content type and metadata, bucket tags
        assert read(s3, f"s3://{BUCKET}/data/train.csv") == b"1,2\n3,4\n"
        head = s3.head_object(Bucket=BUCKET, Key="data/train.csv")
        assert head["ContentType"] == "text/csv"
        assert head["Metadata"] == {"origin": "test"}
        assert s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == [{"Key": "k", "Value": "v"}]
        # SageMaker resources, as described before
        described = sm.describe_model(ModelName="rt-model")
        assert described["ModelArn"] == before["model"]["ModelArn"]
        assert described["CreationTime"] == before["model"]["CreationTime"]
        assert (
            sm.describe_endpoint_config(EndpointConfigName="rt-config")["ProductionVariants"]
            == before["config"]["ProductionVariants"]
        )
        assert sm.list_tags(ResourceArn=described["ModelArn"])["Tags"] == before["tags"]["Tags"]
        # the endpoint comes back with fresh instances, as many as it had, and answers
        first = sm.describe_endpoint(EndpointName="rt")["EndpointStatus"]
        assert first in ("SystemUpdating", "InService")
        back = wait_status(sm, "rt", {"InService"})
        assert back["CreationTime"] == before["rt"]["CreationTime"]
        assert back["ProductionVariants"][0]["CurrentInstanceCount"] == 2
        assert invoke(url, "rt") == answer
        # the transform job, and its output
        job = sm.describe_transform_job(TransformJobName="batch-one")
        assert job["TransformJobStatus"] == "Completed"
        assert job["CreationTime"] == before["job"]["CreationTime"]
        assert job["TransformEndTime"] == before["job"]["TransformEndTime"]
        assert read(s3, f"s3://{BUCKET}/batch-out/in.txt.out") == b"hello:world"
        # the asynchronous requests: both finish after the restart
        assert json.loads(poll(lambda: read(s3, held["OutputLocation"]), "held result")) == [1, 1]
        assert json.loads(poll(lambda: read(s3, waiting["OutputLocation"]), "queued result")) == [
            0,
            0,
        ]
        # IAM, SNS and SQS: the role and its policy, the subscription and the queued message
        iam = make_client("iam", url)
        assert iam.get_role(RoleName="SageMakerRole")["Role"]["Arn"] == ROLE
        assert (
            json.loads(
                json.dumps(
                    iam.get_role_policy(RoleName="SageMakerRole", PolicyName="read")[
                        "PolicyDocument"
                    ]
                )
            )
            == policy
        )
        sns = make_client("sns", url)
        sqs = make_client("sqs", url)
        assert [
            s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        ] == [queue_arn]
        queue = sqs.get_queue_url(QueueName="inbox")["QueueUrl"]
        received = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
        assert json.loads(received[0]["Body"])["Message"] == "before the restart"
        sns.publish(TopicArn=topic, Message="after the restart")  # the subscription delivers
        later = poll(
            lambda: sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages"),
            "a notification after the restart",
        )
        assert json.loads(later[0]["Body"])["Message"] == "after the restart"
        # logs, metrics, scaling registrations
        # the history (log events, metric data) comes back in the background: polled
        logs = make_client("logs", url)

        def messages(group: str, stream: str) -> list[str]:
            events = logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]
            return [e["message"] for e in events]

        assert poll(lambda: messages("/course/notes", "one"), "log events") == ["remember me"]
        for stream, lines in endpoint_streams.items():
            assert (
                poll(
                    lambda stream=stream: messages("/aws/sagemaker/Endpoints/rt", stream),
                    "the endpoint's log before the restart",
                )[: len(lines)]
                == lines
            )
        cloudwatch = make_client("cloudwatch", url)

        def points(namespace: str, name: str, dimensions: list[dict[str, str]]) -> Any:
            return cloudwatch.get_metric_statistics(
                Namespace=namespace,
                MetricName=name,
                Dimensions=dimensions,
                StartTime=stopped_at - 3600,
                # times are compared in whole seconds (EndTime rounded down): the points the
                # stop itself published can share its second; the restart takes longer than one
                EndTime=stopped_at + 1,
                Period=3600,
                Statistics=["Sum", "SampleCount"],
            )["Datapoints"]

        stats = poll(lambda: points("Course", "Lessons", []), "metric data")
        assert [d["Sum"] for d in stats] == [7.0]
        dimensions = [
            {"Name": "EndpointName", "Value": "rt"},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ]
        invocations = poll(lambda: points("AWS/SageMaker", "Invocations", dimensions), "metrics")
        assert invocations[0]["SampleCount"] == invocations_before[0]["SampleCount"]
        scaling = make_client("application-autoscaling", url)
        targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        assert [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [
            ("endpoint/rt/variant/AllTraffic", 2, 3)
        ]
        policies = scaling.describe_scaling_policies(ServiceNamespace="sagemaker")[
            "ScalingPolicies"
        ]
        assert [p["PolicyName"] for p in policies] == ["per-instance"]
        # the same alarms, once each, invoking the policy as it is now (its ARN is new)
        assert sorted(a["AlarmName"] for a in policies[0]["Alarms"]) == alarms_before
        alarms = cloudwatch.describe_alarms()["MetricAlarms"]
        assert sorted(a["AlarmName"] for a in alarms) == alarms_before
        assert all(a["AlarmActions"] == [policies[0]["PolicyARN"]] for a in alarms)
        # the restored instances are watched: a killed one is replaced, the endpoint InService
        killed = local_route(url, "/_local/endpoints/rt")["Instances"][0]
        os.kill(killed["Pid"], signal.SIGKILL)

        def replaced() -> bool:
            live = [i for i in local_route(url, "/_local/endpoints/rt")["Instances"] if i["Alive"]]
            ids = {i["InstanceId"] for i in live}
            return len(live) == 2 and killed["InstanceId"] not in ids

        poll(replaced, "the killed instance replaced")
        assert sm.describe_endpoint(EndpointName="rt")["EndpointStatus"] == "InService"
        assert invoke(url, "rt") == answer
        # the meter: nothing billed before is lost, and the endpoint is billed on
        costs = local_route(url, "/_local/costs")
        rows = {r["EndpointName"]: r for r in costs["Endpoints"]}
        old = {r["EndpointName"]: r for r in costs_before["Endpoints"]}
        assert rows["rt"]["InstanceSeconds"] >= old["rt"]["InstanceSeconds"]
        assert rows["rt"]["Running"] is True
        jobs = {r["TransformJobName"]: r for r in costs["TransformJobs"]}
        assert jobs["batch-one"]["InstanceSeconds"] == pytest.approx(
            {r["TransformJobName"]: r for r in costs_before["TransformJobs"]}["batch-one"][
                "InstanceSeconds"
            ]
        )


def _held_archive() -> bytes:
    from .conftest import archive_with

    return archive_with(HELD_WHEN_NINE)


def test_a_killed_gateway_loses_at_most_the_last_moment(tmp_path: Path) -> None:
    """kill -9: what was saved (within about a second of the change) comes back."""
    state = tmp_path / "state"
    with own_server(state) as start:
        url = start()
        make_client("s3", url).create_bucket(Bucket="survives-a-kill")
        poll(
            lambda: "survives-a-kill" in (state / "saved" / "s3.json").read_text(),
            "the bucket saved",
            timeout=15,
        )
        gateway = psutil.Process(int(daemon.status()["pid"]))  # type: ignore[index]
        tree = [gateway, *gateway.children(recursive=True)]
        for proc in tree:
            proc.kill()
        psutil.wait_procs(tree, timeout=10)
        url = start()
        names = [b["Name"] for b in make_client("s3", url).list_buckets()["Buckets"]]
        assert names == ["survives-a-kill"]


def test_a_corrupt_part_is_moved_aside_and_start_still_works(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with own_server(state) as start:
        url = start()
        make_client("s3", url).create_bucket(Bucket="kept-bucket")
        make_client("sagemaker", url).create_model(
            ModelName="lost-model",
            PrimaryContainer={"Image": "x", "ModelDataUrl": "s3://kept-bucket/m.tar.gz"},
            ExecutionRoleArn=ROLE,
        )
        daemon.stop()
        (state / "saved" / "sagemaker.json").write_text('{"format": 1, "data": {"regis')
        notes: list[str] = []
        url = daemon.ensure_running(notify=notes.append)
        assert any(
            "sagemaker.json" in n and "moved to sagemaker.json.corrupt-" in n for n in notes
        ), notes
        aside = list((state / "saved").glob("sagemaker.json.corrupt-*"))
        assert len(aside) == 1
        assert "sagemaker.json could not be restored" in (state / "gateway.log").read_text()
        # the rest came back, and the server works
        names = [b["Name"] for b in make_client("s3", url).list_buckets()["Buckets"]]
        assert names == ["kept-bucket"]
        sm = make_client("sagemaker", url)
        assert sm.list_models()["Models"] == []
        sm.create_model(
            ModelName="new-model",
            PrimaryContainer={"Image": "x", "ModelDataUrl": "s3://kept-bucket/m.tar.gz"},
            ExecutionRoleArn=ROLE,
        )
        # a saved part of the right shape that its service refuses is set aside the same way
        daemon.stop()
        atomic_write(state / "saved" / "s3.json", b'{"format": 1, "saved_at": 0, "data": 7}')
        notes.clear()
        url = daemon.ensure_running(notify=notes.append)
        assert any("s3.json" in n for n in notes), notes
        assert [m["ModelName"] for m in make_client("sagemaker", url).list_models()["Models"]] == [
            "new-model"
        ]


def test_reset_removes_everything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    with own_server(state) as start:
        url = start()
        make_client("s3", url).create_bucket(Bucket="gone-after-reset")
        make_client("s3", url).put_object(Bucket="gone-after-reset", Key="k", Body=b"v")
        assert cli.main(["reset"]) == 0
        out = capsys.readouterr().out
        assert "stopped the running local SageMaker" in out
        assert "1 S3 buckets holding 1 objects" in out
        assert "saved" in out
        assert daemon.status() is None
        assert not (state / "saved").exists()
        url = start()
        assert make_client("s3", url).list_buckets()["Buckets"] == []
        assert make_client("sagemaker", url).list_endpoints()["Endpoints"] == []
        daemon.stop()
        assert cli.main(["reset"]) == 0
        assert "it was not running" in capsys.readouterr().out


def test_atomic_write_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "part.json"
    atomic_write(target, b"old")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["part.json"]
    store = StateStore(tmp_path)
    assert store.write("part2.json", {"a": 1}) is True
    assert store.write("part2.json", {"a": 1}) is False  # unchanged: not written again
    assert store.read("part2.json")[0] == {"a": 1}  # type: ignore[index]
    target.write_bytes(b"\x00not json")
    assert store.read("part.json") is None
    assert "moved to part.json.corrupt-" in store.notes[0]


def test_autoscaling_activities_and_cooldowns_survive_a_restart() -> None:
    """The real-time scaler's own record (no server: its saved form, read back)."""
    import threading
    from types import SimpleNamespace
    from typing import cast

    from utils.local_sagemaker.services.scaling.activities import ScalingActivities
    from utils.local_sagemaker.services.scaling.realtime import RealtimeScaler

    def scaler() -> RealtimeScaler:
        no_endpoints = SimpleNamespace(lock=threading.Lock(), endpoints={})
        unused = cast(Any, None)
        registry = cast(Any, no_endpoints)
        return RealtimeScaler(registry, unused, unused, unused, ScalingActivities(registry))

    resource = "endpoint/rt/variant/AllTraffic"
    done = {"ActivityId": "a", "StatusCode": "Successful", "StartTime": 10.0, "EndTime": 20.0}
    running = {"ActivityId": "b", "StatusCode": "InProgress", "StartTime": 30.0}
    saved = {
        "activities": {resource: [done, running]},
        "last_out": {resource: 30.0},
        "last_in": {},
        "last_step": {f"{resource}:steps": 5.0},
    }
    before = scaler()
    before.restore_state(json.loads(json.dumps(saved)))
    after = scaler()
    after.restore_state(json.loads(json.dumps(before.export_state())))
    activities = {a["ActivityId"]: a for a in after.activities.listing(resource)}
    assert activities["a"] == done
    # the change the stopped server was making did not complete, and says so
    assert activities["b"]["StatusCode"] == "Failed"
    assert "stopped before the change completed" in activities["b"]["StatusMessage"]
    state = after.export_state()
    assert state["last_out"] == {resource: 30.0}
    assert state["last_step"] == {f"{resource}:steps": 5.0}
