"""One port for every service, the CLI and Python API, and the cost meter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from typing import Any

from utils.local_sagemaker import current_costs, format_costs
from utils.local_sagemaker.wire import daemon

from .conftest import BUCKET, deploy, make_client, project_root, wait_status


def test_moto_services_on_the_same_port(local_sm: str, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="hello.txt", Body=b"hi")
    assert s3.get_object(Bucket=BUCKET, Key="hello.txt")["Body"].read() == b"hi"
    assert make_client("sts", local_sm).get_caller_identity()["Account"] == "123456789012"
    iam = make_client("iam", local_sm)
    iam.create_role(RoleName="r1", AssumeRolePolicyDocument="{}")
    assert iam.get_role(RoleName="r1")["Role"]["Arn"].endswith(":role/r1")
    sns = make_client("sns", local_sm)
    assert sns.create_topic(Name="done")["TopicArn"].endswith(":done")
    scaling = make_client("application-autoscaling", local_sm)
    assert "ScalableTargets" in scaling.describe_scalable_targets(ServiceNamespace="sagemaker")
    assert "logGroups" in make_client("logs", local_sm).describe_log_groups()
    assert "Metrics" in make_client("cloudwatch", local_sm).list_metrics()


def test_ensure_running_reuses_the_server(local_sm: str) -> None:
    assert daemon.ensure_running() == local_sm
    assert daemon.url() == local_sm
    assert daemon.is_running()


def test_cli_status_and_env(local_sm: str) -> None:
    run = [sys.executable, "-m", "utils.local_sagemaker"]
    env = dict(os.environ)
    status = subprocess.run(
        [*run, "status"], capture_output=True, text=True, env=env, cwd=project_root(), check=True
    )
    assert local_sm in status.stdout
    printed = subprocess.run(
        [*run, "env"], capture_output=True, text=True, env=env, cwd="/", check=True
    )
    unset, *exports = printed.stdout.splitlines()
    assert unset == "unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE"
    lines = dict(line.removeprefix("export ").split("=", 1) for line in exports)
    assert lines["AWS_ENDPOINT_URL"] == local_sm
    assert lines["AWS_ACCESS_KEY_ID"] == daemon.client_environment()["AWS_ACCESS_KEY_ID"]
    assert lines["AWS_DEFAULT_REGION"] == "us-east-1"
    assert lines["AWS_EC2_METADATA_DISABLED"] == "true"
    assert daemon.client_environment()["AWS_ENDPOINT_URL"] == local_sm


def test_cost_meter(local_sm: str, endpoint: str) -> None:
    snapshot = current_costs(local_sm)
    rows = [r for r in snapshot["Endpoints"] if r["EndpointName"] == endpoint]
    assert len(rows) == 1
    row = rows[0]
    assert row["Running"] is True
    assert row["InstanceCount"] == 2
    assert row["InstanceType"] == "ml.m5.large"
    assert row["InstanceSeconds"] > 0
    assert row["UsdPerHour"] and row["UsdPerHour"] > 0
    assert abs(row["CostUsd"] - row["InstanceSeconds"] * row["UsdPerHour"] / 3600) < 1e-5
    assert endpoint in format_costs(snapshot)


def test_private_health_route(local_sm: str) -> None:
    with urllib.request.urlopen(f"{local_sm}/_local/health") as response:
        assert json.loads(response.read())["status"] == "ok"


def test_capacity_change_keeps_billing_the_running_instances(
    local_sm: str, sm: Any, model_urls: dict[str, str]
) -> None:
    """While UpdateEndpointWeightsAndCapacities starts a new instance, the old one keeps serving,
    and is billed: between two meter reads around the change at least one instance accrues."""
    name = deploy(sm, model_urls["default"], instance_count=1)
    wait_status(sm, name, {"InService"})

    def billed() -> float:
        rows = current_costs(local_sm)["Endpoints"]
        return sum(r["InstanceSeconds"] for r in rows if r["EndpointName"] == name)

    before = billed()
    started = time.time()
    sm.update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}],
    )
    scaled = wait_status(sm, name, {"InService"})
    elapsed = time.time() - started
    after = billed()
    assert scaled["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert after - before >= elapsed
    sm.delete_endpoint(EndpointName=name)


def test_request_ids_are_random_version_4_uuids() -> None:
    """The runtime's request ids are what ``uuid.UUID(int=..., version=4)`` makes of the same
    random bits (made without the UUID object, which cost the request path)."""
    import random
    import uuid

    from utils.local_sagemaker.wire.runtime_routes import new_request_id

    for _ in range(200):
        state = random.getstate()
        made = new_request_id()
        random.setstate(state)
        assert made == str(uuid.UUID(int=random.getrandbits(128), version=4))
