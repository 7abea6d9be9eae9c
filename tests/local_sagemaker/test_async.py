"""Asynchronous endpoints against the local SageMaker: validation, success and failure paths with
S3 outputs and SNS notifications (read through an SQS subscription), TTL expiry, scale to zero
through Application Auto Scaling. The session server sets ``LOCAL_SAGEMAKER_ASYNC_TTL_SCALE=0.02``
(a 60 s TTL expires after 1.2 s).
"""

from __future__ import annotations

import json
import time
from typing import Any

import botocore.exceptions
import pytest
from local_server import local_route

from .conftest import BUCKET, ROLE, archive_with, deploy, make_client, unique, wait_status

SLOW_WHEN_NINE = """
import os, time, joblib
def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
def predict_fn(data, model):
    if data[0][0] == 9:
        time.sleep(3)  # a slow request that keeps the only instance busy
    return model.predict(data)
"""


@pytest.fixture(scope="module")
def slow_url(s3: Any) -> str:
    key = "models/async-slow/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=archive_with(SLOW_WHEN_NINE))
    return f"s3://{BUCKET}/{key}"


@pytest.fixture(scope="module")
def sns(local_sm: str) -> Any:
    return make_client("sns", local_sm)


@pytest.fixture(scope="module")
def sqs(local_sm: str) -> Any:
    return make_client("sqs", local_sm)


def deploy_async(
    sm: Any, url: str, name: str | None = None, notification: dict | None = None
) -> str:
    name = name or unique("async")
    output: dict[str, Any] = {
        "S3OutputPath": f"s3://{BUCKET}/async/{name}/out/",
        "S3FailurePath": f"s3://{BUCKET}/async/{name}/failures/",
    }
    if notification:
        output["NotificationConfig"] = notification
    return deploy(
        sm,
        url,
        name=name,
        AsyncInferenceConfig={
            "OutputConfig": output,
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1},
        },
    )


def wait_object(s3: Any, uri: str, timeout: float = 20.0) -> bytes:
    """Poll S3 (short interval, bounded) until the object at ``uri`` exists."""
    bucket, key = uri[len("s3://") :].split("/", 1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            assert time.monotonic() < deadline, f"{uri} never appeared"
            time.sleep(0.05)


def put_input(s3: Any, body: bytes) -> str:
    key = f"async-inputs/{unique('in')}.csv"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def test_async_validation(
    sm: Any, runtime: Any, s3: Any, endpoint: str, model_urls: dict[str, str]
) -> None:
    name = unique("bad-async")
    sm.create_model(
        ModelName=name,
        PrimaryContainer={"Image": "x", "ModelDataUrl": model_urls["default"]},
        ExecutionRoleArn=ROLE,
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": name,
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
    }
    with pytest.raises(botocore.exceptions.ClientError) as info:
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[variant],
            AsyncInferenceConfig={"OutputConfig": {"S3FailurePath": f"s3://{BUCKET}/f"}},
        )
    assert "S3OutputPath" in info.value.response["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError) as info:
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[variant],
            AsyncInferenceConfig={
                "OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/o"},
                "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 5000},
            },
        )
    assert "less than or equal to 1000" in info.value.response["Error"]["Message"]

    # A real-time endpoint refuses InvokeEndpointAsync.
    with pytest.raises(runtime.exceptions.ValidationError) as rt_info:
        runtime.invoke_endpoint_async(EndpointName=endpoint, InputLocation=f"s3://{BUCKET}/x")
    assert "not configured for asynchronous inference" in str(rt_info.value)


def test_async_success_failure_notifications_and_sync_refusal(
    sm: Any, runtime: Any, s3: Any, sns: Any, sqs: Any, model_urls: dict[str, str]
) -> None:
    success = sns.create_topic(Name=unique("async-success"))["TopicArn"]
    error = sns.create_topic(Name=unique("async-error"))["TopicArn"]
    queue_url = sqs.create_queue(QueueName=unique("async-notes"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    for topic in (success, error):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    name = deploy_async(
        sm,
        model_urls["default"],
        notification={
            "SuccessTopic": success,
            "ErrorTopic": error,
            "IncludeInferenceResponseIn": ["SUCCESS_NOTIFICATION_TOPIC"],
        },
    )
    described = wait_status(sm, name, {"InService"})
    assert described["AsyncInferenceConfig"]["ClientConfig"] == {
        "MaxConcurrentInvocationsPerInstance": 1
    }

    with pytest.raises(runtime.exceptions.ValidationError) as sync_info:
        runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1,1")
    assert "Use InvokeEndpointAsync" in str(sync_info.value)
    with pytest.raises(runtime.exceptions.ValidationError) as ttl_info:
        runtime.invoke_endpoint_async(
            EndpointName=name, InputLocation=f"s3://{BUCKET}/x", RequestTTLSeconds=99999
        )
    assert "less than or equal to 21600" in str(ttl_info.value)
    # refused at once, not queued to fail when it is sent
    with pytest.raises(runtime.exceptions.ValidationError) as nul_info:
        runtime.invoke_endpoint_async(
            EndpointName=name, InputLocation=f"s3://{BUCKET}/x", CustomAttributes="a\0b"
        )
    assert "Header X-Amzn-SageMaker-Custom-Attributes holds a character" in str(nul_info.value)

    good = runtime.invoke_endpoint_async(
        EndpointName=name, ContentType="text/csv", InputLocation=put_input(s3, b"1,1\n2,2")
    )
    assert good["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert good["OutputLocation"] == f"s3://{BUCKET}/async/{name}/out/{good['InferenceId']}.out"
    assert good["FailureLocation"].endswith(f"/failures/{good['InferenceId']}-error.out")
    assert json.loads(wait_object(s3, good["OutputLocation"])) == [0, 1]

    bad = runtime.invoke_endpoint_async(
        EndpointName=name, ContentType="text/csv", Body=b"a,b\n1,1", InferenceId="bad-header"
    )
    assert bad["InferenceId"] == "bad-header"
    failure = wait_object(s3, bad["FailureLocation"]).decode()
    assert failure.startswith("Received server error (500) from primary")

    messages: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 10
    while len(messages) < 2 and time.monotonic() < deadline:
        for msg in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            note = json.loads(json.loads(msg["Body"])["Message"])
            messages[note["inferenceId"]] = note
    ok = messages[good["InferenceId"]]
    assert ok["invocationStatus"] == "Completed"
    assert ok["eventName"] == "InferenceResult" and ok["eventSource"] == "aws:sagemaker"
    assert ok["requestParameters"]["endpointName"] == name
    assert ok["responseParameters"]["outputLocation"] == good["OutputLocation"]
    assert "responseBody" in ok
    failed = messages["bad-header"]
    assert failed["invocationStatus"] == "Failed"
    assert "Received server error (500)" in failed["failureReason"]
    sm.delete_endpoint(EndpointName=name)


def test_ttl_expiry(
    sm: Any, runtime: Any, s3: Any, slow_url: str, local_sm: str, flush: Any
) -> None:
    name = deploy_async(sm, slow_url)
    wait_status(sm, name, {"InService"})
    slow = runtime.invoke_endpoint_async(
        EndpointName=name, ContentType="text/csv", InputLocation=put_input(s3, b"9,9\n9,9")
    )
    queued = runtime.invoke_endpoint_async(
        EndpointName=name,
        ContentType="text/csv",
        InputLocation=put_input(s3, b"1,1\n1,1"),
        RequestTTLSeconds=60,  # 1.2 s on the test server: expires behind the slow request
    )
    reason = wait_object(s3, queued["FailureLocation"]).decode()
    assert "expired" in reason.lower()
    assert json.loads(wait_object(s3, slow["OutputLocation"])) == [1, 1]
    flush()
    stats = make_client("cloudwatch", local_sm).get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="ExpiredRequests",
        Dimensions=[{"Name": "EndpointName", "Value": name}],
        StartTime=time.time() - 600,
        EndTime=time.time() + 60,
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(d["Sum"] for d in stats) == 1
    sm.delete_endpoint(EndpointName=name)


def _stats(url: str, name: str) -> dict[str, Any]:
    return local_route(url, f"/_local/async/{name}")


def test_scale_to_zero_and_back(
    sm: Any, runtime: Any, s3: Any, local_sm: str, model_urls: dict[str, str]
) -> None:
    name = deploy_async(sm, model_urls["default"])
    wait_status(sm, name, {"InService"})
    scaling = make_client("application-autoscaling", local_sm)
    cloudwatch = make_client("cloudwatch", local_sm)
    resource = f"endpoint/{name}/variant/AllTraffic"
    dimension = "sagemaker:variant:DesiredInstanceCount"
    scaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        MinCapacity=0,
        MaxCapacity=2,
    )
    scaling.put_scaling_policy(
        PolicyName="backlog",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 5.0,
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateBacklogSizePerInstance",
                "Namespace": "AWS/SageMaker",
                "Dimensions": [{"Name": "EndpointName", "Value": name}],
                "Statistic": "Average",
            },
            "ScaleInCooldown": 0,
            "ScaleOutCooldown": 0,
        },
    )

    def count() -> int:
        described = sm.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] != "InService":
            return -1
        return described["ProductionVariants"][0]["CurrentInstanceCount"]

    def wait_count(wanted: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while count() != wanted:
            assert time.monotonic() < deadline, f"never reached {wanted} instances"
            time.sleep(0.05)

    wait_count(0)  # empty queue: target tracking scales in to MinCapacity 0
    request = runtime.invoke_endpoint_async(
        EndpointName=name, ContentType="text/csv", InputLocation=put_input(s3, b"1,1\n1,1")
    )
    deadline = time.monotonic() + 5
    while _stats(local_sm, name)["HasBacklogWithoutCapacity"] != 1.0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # One queued request is below the target of 5 per instance: target tracking alone waits.
    assert count() == 0

    step = scaling.put_scaling_policy(
        PolicyName="wake-from-zero",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=dimension,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "MetricAggregationType": "Average",
            "Cooldown": 0,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    )
    cloudwatch.put_metric_alarm(
        AlarmName=f"{name}-has-backlog-without-capacity",
        Namespace="AWS/SageMaker",
        MetricName="HasBacklogWithoutCapacity",
        Dimensions=[{"Name": "EndpointName", "Value": name}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[step["PolicyARN"]],
    )
    assert json.loads(wait_object(s3, request["OutputLocation"], timeout=30)) == [0, 0]
    wait_count(0)  # and back to zero once the queue is empty
    # every change is on record, however briefly the instance ran: newest first, as on AWS
    activities = scaling.describe_scaling_activities(
        ServiceNamespace="sagemaker", ResourceId=resource
    )["ScalingActivities"]
    assert [(a["Description"], a["StatusCode"]) for a in activities][:2] == [
        ("Setting desired instance count to 0.", "Successful"),
        ("Setting desired instance count to 1.", "Successful"),
    ]
    assert activities[1]["Cause"].endswith("triggered policy wake-from-zero")
    assert activities[0]["Cause"].endswith("triggered policy backlog")
    assert {a["ResourceId"] for a in activities} == {resource}
    sm.delete_endpoint(EndpointName=name)
