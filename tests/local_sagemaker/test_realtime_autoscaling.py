"""Real-time autoscaling end to end: Application Auto Scaling policies change a real-time
variant's instance count under load, with AWS's alarms, and AWS's rules around updates and
deletes. The session server runs the autoscaling clock 120 times faster than AWS
(``LOCAL_SAGEMAKER_AUTOSCALING_TIME_SCALE``, tests/local_server.py): a 60 s alarm period lasts
0.5 s. Every wait polls a state; no assertion depends on how long something took.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import botocore.exceptions
import pytest
from local_server import local_route

from utils.artifact import SERVING_ENVIRONMENT

from .conftest import deploy, make_client, unique, wait_status

DIMENSION = "sagemaker:variant:DesiredInstanceCount"
BODY = "1,1\n3,3"


@pytest.fixture(scope="module")
def autoscaling(local_sm: str) -> Any:
    return make_client("application-autoscaling", local_sm)


@pytest.fixture(scope="module")
def cloudwatch(local_sm: str) -> Any:
    return make_client("cloudwatch", local_sm)


def resource(name: str) -> str:
    return f"endpoint/{name}/variant/AllTraffic"


def register(autoscaling: Any, name: str, low: int = 1, high: int = 2) -> None:
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource(name),
        ScalableDimension=DIMENSION,
        MinCapacity=low,
        MaxCapacity=high,
    )


def target_tracking(autoscaling: Any, name: str, target: float = 60.0, **config: Any) -> dict:
    """A target-tracking policy on the predefined InvocationsPerInstance (per minute)."""
    return autoscaling.put_scaling_policy(
        PolicyName="per-instance",
        ServiceNamespace="sagemaker",
        ResourceId=resource(name),
        ScalableDimension=DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": target,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
            **config,
        },
    )


@contextmanager
def load(runtime: Any, name: str) -> Iterator[dict[str, int]]:
    """One client invoking ``name`` back to back until the block ends; counts calls and errors."""
    counts = {"calls": 0, "errors": 0}
    stop = threading.Event()

    def call() -> None:
        while not stop.is_set():
            try:
                runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=BODY)
            except botocore.exceptions.ClientError:
                counts["errors"] += 1
            counts["calls"] += 1

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    try:
        yield counts
    finally:
        stop.set()
        thread.join(timeout=30)


def poll(sm: Any, name: str, done: Callable[[dict], bool], timeout: float = 120) -> list[tuple]:
    """Describe the endpoint until ``done(described)``; the distinct (status, current, desired)
    seen on the way."""
    deadline = time.monotonic() + timeout
    seen: list[tuple] = []
    while time.monotonic() < deadline:
        described = sm.describe_endpoint(EndpointName=name)
        variant = described["ProductionVariants"][0]
        state = (
            described["EndpointStatus"],
            variant["CurrentInstanceCount"],
            variant["DesiredInstanceCount"],
        )
        if not seen or seen[-1] != state:
            seen.append(state)
        if done(described):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"{name}: condition never met; saw {seen}")


def count_is(n: int) -> Callable[[dict], bool]:
    def done(described: dict) -> bool:
        variant = described["ProductionVariants"][0]
        return described["EndpointStatus"] == "InService" and variant["CurrentInstanceCount"] == n

    return done


def alarm_points(local_sm: str, alarm: str) -> list:
    return (
        local_route(local_sm, "/_local/autoscaling")["Alarms"].get(alarm, {}).get("Datapoints", [])
    )


def test_target_tracking_creates_aws_alarms_and_scales_out_under_load_then_in(
    sm: Any, runtime: Any, autoscaling: Any, cloudwatch: Any, model_urls: dict, local_sm: str
) -> None:
    # a model that loads for a second: a forked instance otherwise starts in a fraction of one,
    # too fast for every poll to see the Updating state in between
    name = deploy(sm, model_urls["slow_load"])
    wait_status(sm, name, {"InService"})
    register(autoscaling, name)
    policy = target_tracking(autoscaling, name)

    names = [a["AlarmName"] for a in policy["Alarms"]]
    assert [n.rsplit("-", 5)[0] for n in names] == [
        f"TargetTracking-{resource(name)}-AlarmHigh",
        f"TargetTracking-{resource(name)}-AlarmLow",
    ]
    alarms = {
        a["AlarmName"]: a for a in cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
    }
    high, low = alarms[names[0]], alarms[names[1]]
    assert (high["MetricName"], high["Namespace"], high["Statistic"]) == (
        "InvocationsPerInstance",
        "AWS/SageMaker",
        "Sum",
    )
    assert (high["Threshold"], high["EvaluationPeriods"], high["Period"]) == (60.0, 3, 60)
    assert (low["Threshold"], low["EvaluationPeriods"]) == (54.0, 15)
    assert high["AlarmActions"] == [policy["PolicyARN"]]
    described = autoscaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=resource(name)
    )
    assert [a["AlarmName"] for a in described["ScalingPolicies"][0]["Alarms"]] == names

    with load(runtime, name) as counts:  # one client: far more than 60 calls a minute
        out = poll(sm, name, count_is(2))
    # the new desired count shows while the new instance starts
    assert ("Updating", 1, 2) in out
    assert counts["errors"] == 0
    costs = local_route(local_sm, "/_local/costs")["Endpoints"]
    assert [r["InstanceCount"] for r in costs if r["EndpointName"] == name] == [2]

    poll(sm, name, count_is(1))  # no traffic: the low alarm, 15 periods later
    activities = autoscaling.describe_scaling_activities(
        ServiceNamespace="sagemaker", ResourceId=resource(name)
    )["ScalingActivities"]
    assert [(a["Description"], a["StatusCode"]) for a in activities] == [
        ("Setting desired instance count to 1.", "Successful"),
        ("Setting desired instance count to 2.", "Successful"),
    ]
    assert names[1] in activities[0]["Cause"] and names[0] in activities[1]["Cause"]
    costs = local_route(local_sm, "/_local/costs")["Endpoints"]
    assert [r["InstanceCount"] for r in costs if r["EndpointName"] == name] == [1]
    sm.delete_endpoint(EndpointName=name)


def test_disable_scale_in_creates_no_low_alarm_and_keeps_the_instances(
    sm: Any, runtime: Any, autoscaling: Any, local_sm: str, model_urls: dict
) -> None:
    name = deploy(sm, model_urls["default"])
    wait_status(sm, name, {"InService"})
    register(autoscaling, name)
    policy = target_tracking(autoscaling, name, DisableScaleIn=True)
    assert len(policy["Alarms"]) == 1 and "-AlarmHigh-" in policy["Alarms"][0]["AlarmName"]
    with load(runtime, name):
        poll(sm, name, count_is(2))
    high = policy["Alarms"][0]["AlarmName"]
    # wait until the alarm has seen 15 idle periods (what a low alarm would need), then look
    deadline = time.monotonic() + 120
    while alarm_points(local_sm, high)[-15:].count(0.0) < 15:
        assert time.monotonic() < deadline, alarm_points(local_sm, high)
        time.sleep(0.1)
    variant = sm.describe_endpoint(EndpointName=name)["ProductionVariants"][0]
    assert variant["CurrentInstanceCount"] == 2
    sm.delete_endpoint(EndpointName=name)


def test_step_scaling_on_an_alarm_you_create(
    sm: Any, runtime: Any, autoscaling: Any, cloudwatch: Any, model_urls: dict
) -> None:
    name = deploy(sm, model_urls["default"])
    wait_status(sm, name, {"InService"})
    register(autoscaling, name, high=3)
    policy = autoscaling.put_scaling_policy(
        PolicyName="steps",
        ServiceNamespace="sagemaker",
        ResourceId=resource(name),
        ScalableDimension=DIMENSION,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "Cooldown": 60,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    )
    assert policy["Alarms"] == []  # a step policy's alarm is yours to create
    alarm = unique("busy")
    cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        Namespace="AWS/SageMaker",
        MetricName="Invocations",
        Dimensions=[
            {"Name": "EndpointName", "Value": name},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=30.0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[policy["PolicyARN"]],
    )
    with load(runtime, name) as counts:
        poll(sm, name, count_is(2))  # +1, not straight to the maximum
        poll(sm, name, count_is(3))  # +1 again once the cooldown is over
    assert counts["errors"] == 0
    activities = autoscaling.describe_scaling_activities(
        ServiceNamespace="sagemaker", ResourceId=resource(name)
    )["ScalingActivities"]
    assert [a["Description"] for a in activities] == [
        "Setting desired instance count to 3.",
        "Setting desired instance count to 2.",
    ]
    sm.delete_endpoint(EndpointName=name)
    cloudwatch.delete_alarms(AlarmNames=[alarm])


def test_delete_endpoint_deregisters_its_targets_policies_and_alarms(
    sm: Any, autoscaling: Any, cloudwatch: Any, model_urls: dict
) -> None:
    name = deploy(sm, model_urls["default"])
    wait_status(sm, name, {"InService"})
    register(autoscaling, name)
    policy = target_tracking(autoscaling, name)
    sm.delete_endpoint(EndpointName=name)
    assert (
        autoscaling.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[resource(name)]
        )["ScalableTargets"]
        == []
    )
    assert (
        autoscaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource(name)
        )["ScalingPolicies"]
        == []
    )
    names = [a["AlarmName"] for a in policy["Alarms"]]
    assert cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"] == []


def test_deregister_and_delete_policy_remove_target_trackings_alarms(
    sm: Any, autoscaling: Any, cloudwatch: Any, model_urls: dict
) -> None:
    name = unique("not-deployed")  # Application Auto Scaling does not check the endpoint
    register(autoscaling, name)
    first = target_tracking(autoscaling, name)
    again = target_tracking(autoscaling, name, target=100.0)  # replaces the policy and its alarms
    old = [a["AlarmName"] for a in first["Alarms"]]
    new = [a["AlarmName"] for a in again["Alarms"]]
    assert cloudwatch.describe_alarms(AlarmNames=old)["MetricAlarms"] == []
    assert len(cloudwatch.describe_alarms(AlarmNames=new)["MetricAlarms"]) == 2
    autoscaling.delete_scaling_policy(
        PolicyName="per-instance",
        ServiceNamespace="sagemaker",
        ResourceId=resource(name),
        ScalableDimension=DIMENSION,
    )
    assert cloudwatch.describe_alarms(AlarmNames=new)["MetricAlarms"] == []
    third = target_tracking(autoscaling, name)
    autoscaling.deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=resource(name), ScalableDimension=DIMENSION
    )
    assert (
        autoscaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource(name)
        )["ScalingPolicies"]
        == []
    )
    names = [a["AlarmName"] for a in third["Alarms"]]
    assert cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"] == []


def _config(sm: Any, model: str, instance_type: str) -> str:
    config = unique("cfg")
    sm.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InstanceType": instance_type,
                "InitialInstanceCount": 1,
            }
        ],
    )
    return config


def test_update_of_an_autoscaled_variant_may_change_the_model_not_the_instance_type(
    sm: Any, autoscaling: Any, model_urls: dict
) -> None:
    name = deploy(sm, model_urls["default"])
    wait_status(sm, name, {"InService"})
    register(autoscaling, name)
    other_model = unique("model")
    sm.create_model(
        ModelName=other_model,
        ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerRole",
        PrimaryContainer={
            "Image": "sklearn-inference:1.4-2",
            "ModelDataUrl": model_urls["custom"],
            "Environment": SERVING_ENVIRONMENT,  # no default script in the container, as on AWS
        },
    )
    bigger = _config(sm, name, "ml.m5.xlarge")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sm.update_endpoint(EndpointName=name, EndpointConfigName=bigger)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "scalable target" in refused.value.response["Error"]["Message"]
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"

    same_type = _config(sm, other_model, "ml.m5.large")
    sm.update_endpoint(EndpointName=name, EndpointConfigName=same_type)
    assert wait_status(sm, name, {"InService", "Failed"})["EndpointConfigName"] == same_type

    autoscaling.deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=resource(name), ScalableDimension=DIMENSION
    )
    sm.update_endpoint(EndpointName=name, EndpointConfigName=bigger)  # deregistered: allowed
    assert wait_status(sm, name, {"InService", "Failed"})["EndpointStatus"] == "InService"
    sm.delete_endpoint(EndpointName=name)


def test_the_aws_code_path_runs_at_the_pace_of_the_server_it_talks_to(sm: Any) -> None:
    """utils.autoscaling's pace: the AWS rehearsal's stand-in accounts are local SageMakers on
    this machine reached by the AWS code path; AWS and a server here without the route: 1."""
    from types import SimpleNamespace

    from utils.autoscaling import autoscaling_pace

    def aws_path(endpoint_url: str) -> Any:
        client = SimpleNamespace(meta=SimpleNamespace(endpoint_url=endpoint_url))
        return SimpleNamespace(is_local=False, sagemaker=client)

    assert autoscaling_pace(SimpleNamespace(is_local=False, sagemaker=sm)) == 120
    assert autoscaling_pace(aws_path("https://api.sagemaker.us-east-1.amazonaws.com")) == 1
    assert autoscaling_pace(aws_path("http://127.0.0.1:9")) == 1  # nothing listens there
