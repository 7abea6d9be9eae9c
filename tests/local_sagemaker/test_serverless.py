"""Serverless endpoints against the local SageMaker: validation, cold starts, scale to zero,
throttling under a burst (every request answered), limits, memory bound, provisioned concurrency,
metering. The session server sets ``LOCAL_SAGEMAKER_SERVERLESS_IDLE_SECONDS=1``.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from local_server import local_route

from utils.artifact import SERVING_ENVIRONMENT

from .conftest import BUCKET, ROLE, archive_with, make_client, unique, wait_status

#: A model whose every request waits until the test creates the file ``{gate}`` (at most 60 s),
#: so the requests the endpoint admitted stay in flight for as long as the test needs.
GATED_MODEL = """
import os, time, joblib
GATE = {gate!r}
def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
def predict_fn(data, model):
    deadline = time.monotonic() + 60
    while not os.path.exists(GATE) and time.monotonic() < deadline:
        time.sleep(0.01)
    return model.predict(data)
"""

HUNGRY_MODEL = """
import numpy as np
def model_fn(model_dir):
    return np.ones(200_000_000)  # 1.6 GB: more than a 1024 MB serverless worker has
"""


@pytest.fixture(scope="module")
def archives(s3: Any, model_urls: dict[str, str]) -> dict[str, str]:
    urls = dict(model_urls)
    key = "models/hungry/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=archive_with(HUNGRY_MODEL))
    urls["hungry"] = f"s3://{BUCKET}/{key}"
    return urls


def _model(sm: Any, url: str) -> str:
    name = unique("sl-model")
    sm.create_model(
        ModelName=name,
        PrimaryContainer={"Image": "sklearn-inference:1.4-2", "ModelDataUrl": url,
                          "Environment": SERVING_ENVIRONMENT},
        ExecutionRoleArn=ROLE,
    )
    return name


def deploy_serverless(
    sm: Any, url: str, memory: int = 1024, max_concurrency: int = 2, provisioned: int = 0
) -> str:
    model = _model(sm, url)
    name = unique("sl")
    cfg: dict[str, Any] = {"MemorySizeInMB": memory, "MaxConcurrency": max_concurrency}
    if provisioned:
        cfg["ProvisionedConcurrency"] = provisioned
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": model, "ServerlessConfig": cfg}
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return name


def instances(url: str, name: str) -> list[dict[str, Any]]:
    return local_route(url, f"/_local/endpoints/{name}")["Instances"]


def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def invoke(runtime: Any, name: str, body: bytes = b"1,1\n2,2") -> dict[str, Any]:
    return runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=body)


# -- validation ---------------------------------------------------------------------------------


def _config_error(sm: Any, variants: list[dict[str, Any]], **extra: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        sm.create_endpoint_config(
            EndpointConfigName=unique("bad"), ProductionVariants=variants, **extra
        )
    assert info.value.response["Error"]["Code"] == "ValidationException"
    return info.value.response["Error"]["Message"]


def test_serverless_config_validation(sm: Any, model_urls: dict[str, str]) -> None:
    model = _model(sm, model_urls["default"])

    def variant(**cfg: Any) -> dict[str, Any]:
        return {"VariantName": "AllTraffic", "ModelName": model, "ServerlessConfig": cfg}

    message = _config_error(sm, [variant(MemorySizeInMB=1500, MaxConcurrency=1)])
    assert message == (
        "1 validation error detected: Value '1500' at "
        "'productionVariants.1.member.serverlessConfig.memorySizeInMB' failed to satisfy "
        "constraint: Member must satisfy enum value set: [1024, 2048, 3072, 4096, 5120, 6144]"
    )
    assert "less than or equal to 6144" in _config_error(
        sm, [variant(MemorySizeInMB=8192, MaxConcurrency=1)]
    )
    assert "less than or equal to 200" in _config_error(
        sm, [variant(MemorySizeInMB=1024, MaxConcurrency=500)]
    )
    assert "ProvisionedConcurrency (3)" in _config_error(
        sm, [variant(MemorySizeInMB=1024, MaxConcurrency=2, ProvisionedConcurrency=3)]
    )
    both = variant(MemorySizeInMB=1024, MaxConcurrency=1)
    both["InstanceType"] = "ml.m5.large"
    assert "InstanceType" in _config_error(sm, [both])
    second = variant(MemorySizeInMB=1024, MaxConcurrency=1)
    second["VariantName"] = "Other"
    assert "single production variant" in _config_error(
        sm, [variant(MemorySizeInMB=1024, MaxConcurrency=1), second]
    )
    capture = {
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": f"s3://{BUCKET}/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}],
    }
    assert "DataCaptureConfig" in _config_error(
        sm, [variant(MemorySizeInMB=1024, MaxConcurrency=1)], DataCaptureConfig=capture
    )


def test_realtime_to_serverless_update_is_refused(
    sm: Any, endpoint: str, model_urls: dict[str, str]
) -> None:
    model = _model(sm, model_urls["default"])
    cfg = unique("to-sl")
    sm.create_endpoint_config(
        EndpointConfigName=cfg,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1},
            }
        ],
    )
    with pytest.raises(botocore.exceptions.ClientError) as info:
        sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=cfg)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert "serverless" in info.value.response["Error"]["Message"]


# -- behaviour ----------------------------------------------------------------------------------


def test_cold_start_warm_idle_and_cold_again(
    sm: Any, runtime: Any, local_sm: str, model_urls: dict[str, str], flush: Any
) -> None:
    name = deploy_serverless(sm, model_urls["default"])
    described = wait_status(sm, name, {"InService"})
    variant = described["ProductionVariants"][0]
    assert variant["CurrentServerlessConfig"] == {"MemorySizeInMB": 1024, "MaxConcurrency": 2}
    assert "CurrentInstanceCount" not in variant
    assert instances(local_sm, name) == []  # InService with no warm capacity

    started = time.perf_counter()
    assert json.loads(invoke(runtime, name)["Body"].read()) == [0, 1]
    cold = time.perf_counter() - started
    started = time.perf_counter()
    invoke(runtime, name)
    warm = time.perf_counter() - started
    assert cold > 5 * warm, (cold, warm)  # a real process start and model load
    assert len(instances(local_sm, name)) == 1

    wait_for(lambda: instances(local_sm, name) == [])  # idle 1 s -> scaled to zero
    started = time.perf_counter()
    invoke(runtime, name)
    assert time.perf_counter() - started > 3 * warm  # cold again

    flush()
    stats = make_client("cloudwatch", local_sm).get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="ModelSetupTime",
        Dimensions=[
            {"Name": "EndpointName", "Value": name},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ],
        StartTime=time.time() - 600,
        EndTime=time.time() + 60,
        Period=60,
        Statistics=["SampleCount", "Minimum"],
    )["Datapoints"]
    assert sum(d["SampleCount"] for d in stats) == 2
    assert min(d["Minimum"] for d in stats) > 100_000  # microseconds: at least 0.1 s
    sm.delete_endpoint(EndpointName=name)


def test_burst_beyond_max_concurrency_is_throttled_never_hung(
    sm: Any, runtime: Any, s3: Any, tmp_path: Path
) -> None:
    """Eight requests at once on MaxConcurrency 2: the endpoint admits two and throttles six at
    once. The two admitted wait in the model until the test opens the gate, so the count does
    not depend on how quickly eight threads get their requests out on a busy machine."""
    gate = tmp_path / "open"
    key = f"models/{unique('gated')}/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=archive_with(GATED_MODEL.format(gate=str(gate))))
    name = deploy_serverless(sm, f"s3://{BUCKET}/{key}", max_concurrency=2)
    wait_status(sm, name, {"InService"})

    def call() -> str:
        try:
            invoke(runtime, name)
            return "ok"
        except botocore.exceptions.ClientError as err:
            return err.response["Error"]["Code"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(call) for _ in range(8)]
        # The six requests beyond MaxConcurrency are answered while the two admitted still wait.
        throttled_by = time.monotonic() + 30
        pending = set(futures)
        while len(pending) > 2 and time.monotonic() < throttled_by:
            _, pending = wait(pending, timeout=1, return_when=FIRST_COMPLETED)
        answered_while_two_wait = sorted(f.result() for f in futures if f not in pending)
        gate.touch()
        _, hung = wait(futures, timeout=30)
    assert not hung, "some requests hung"
    assert answered_while_two_wait == ["ThrottlingException"] * 6
    assert sorted(f.result() for f in futures) == ["ThrottlingException"] * 6 + ["ok"] * 2
    sm.delete_endpoint(EndpointName=name)


def test_oversize_body_and_memory_bound(
    sm: Any, runtime: Any, archives: dict[str, str], local_sm: str
) -> None:
    small = deploy_serverless(sm, archives["default"])
    hungry = deploy_serverless(sm, archives["hungry"], memory=1024)
    wait_status(sm, small, {"InService"})
    with pytest.raises(botocore.exceptions.ClientError) as info:
        invoke(runtime, small, b"1,1\n" * (1024 * 1024 + 1))  # just over 4 MB
    error = info.value.response["Error"]
    assert error["Code"] == "ValidationError"
    request_id = info.value.response["ResponseMetadata"]["RequestId"]
    assert error["Message"] == f"Request {request_id} has oversize body."

    wait_status(sm, hungry, {"InService"})
    with pytest.raises(runtime.exceptions.ModelError) as model_info:
        invoke(runtime, hungry)
    assert "did not pass the ping health check" in model_info.value.response["Error"]["Message"]
    assert instances(local_sm, hungry) == []
    sm.delete_endpoint(EndpointName=small)
    sm.delete_endpoint(EndpointName=hungry)


def test_provisioned_concurrency_is_warm_and_metered(
    sm: Any, runtime: Any, local_sm: str, model_urls: dict[str, str]
) -> None:
    name = deploy_serverless(sm, model_urls["default"], max_concurrency=2, provisioned=1)
    wait_status(sm, name, {"InService"})
    assert len(instances(local_sm, name)) == 1  # started before InService
    started = time.perf_counter()
    invoke(runtime, name)
    assert time.perf_counter() - started < 0.5  # no cold start
    costs = local_route(local_sm, "/_local/costs")
    [row] = [r for r in costs["Serverless"] if r["EndpointName"] == name]
    assert row["Requests"] == 1
    assert row["ProvisionedComputeGbSeconds"] > 0
    assert row["ProvisionedGbSeconds"] > 0 and row["CostUsd"] > 0
    sm.delete_endpoint(EndpointName=name)
