"""Packaging styles deploy locally as on AWS: the script inside model.tar.gz (code/inference.py,
covered everywhere else), the SDK v2 style with SAGEMAKER_SUBMIT_DIRECTORY pointing at an S3
sourcedir.tar.gz, and code/requirements.txt installed at instance start into an environment of
the model's own, reused by the next instance; a package that cannot be installed fails the
endpoint with AWS's ping FailureReason and pip's own error in the log. The fourth style, the SDK
v3 ``ModelBuilder`` with your own script, is tested with the SDK itself in ``tests/test_sdk_v3.py``.

No network: the requirement is a wheel built here, found through the model's PIP_FIND_LINKS with
PIP_NO_INDEX (pip reads PIP_* variables from the environment, as it does in the container).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from local_server import local_route
from wheel_builder import make_wheel

from utils.artifact import archive_bytes

from .conftest import (
    BUCKET,
    MODEL_FN,
    ROLE,
    archive_with,
    deploy,
    make_client,
    unique,
    wait_status,
)

PING_FAILS = (
    "The primary container for production variant AllTraffic did not pass the ping health check. "
    "Please check CloudWatch logs for this endpoint."
)

USES_TINYPKG = MODEL_FN + """
import json
import tinypkg
def output_fn(prediction, accept):
    return json.dumps({"labels": [int(p) for p in prediction], "tinypkg": tinypkg.VALUE}), accept
"""


@pytest.fixture(scope="module")
def logs(local_sm: str) -> Any:
    return make_client("logs", local_sm)


def log_messages(local_sm: str, logs: Any, endpoint: str) -> list[str]:
    local_route(local_sm, "/_local/flush")
    group = f"/aws/sagemaker/Endpoints/{endpoint}"
    messages: list[str] = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
        messages += [e["message"] for e in page["events"]]
    return messages


def upload(s3: Any, key: str, body: bytes) -> str:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def invoke(runtime: Any, name: str) -> dict[str, Any]:
    answer = runtime.invoke_endpoint(
        EndpointName=name, Body=b"0.5,0.5\n2.5,2.5\n", ContentType="text/csv",
        Accept="application/json",
    )
    return json.loads(answer["Body"].read())


def test_sourcedir_in_s3_as_the_sdk_uploads_it(sm, s3, runtime, local_sm):
    prefix = unique("src")
    model = upload(s3, f"{prefix}/model.tar.gz", archive_with(MODEL_FN))
    # The script imports a module of its own beside it, as source_dir allows.
    source = archive_bytes({
        "inference.py": (MODEL_FN + "from helpers import double\n"
                         "def predict_fn(data, model):\n"
                         "    return double(model.predict(data))\n").encode(),
        "helpers.py": b"def double(values):\n    return [2 * int(v) for v in values]\n",
    })
    sourcedir = upload(s3, f"{prefix}/sourcedir.tar.gz", source)
    # A model.tar.gz without code/: the script must come from the sourcedir.
    model = upload(s3, f"{prefix}/model-only.tar.gz", archive_with(MODEL_FN))
    name = deploy(sm, model, env={
        "SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": sourcedir,
    })
    described = wait_status(sm, name, {"InService", "Failed"})
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    assert invoke(runtime, name) == [0, 2]
    sm.delete_endpoint(EndpointName=name)


def test_a_missing_sourcedir_fails_the_ping(sm, s3, logs, local_sm):
    model = upload(s3, f"{unique('src')}/model.tar.gz", archive_with(MODEL_FN))
    name = deploy(sm, model, env={
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{BUCKET}/nowhere/sourcedir.tar.gz",
    })
    described = wait_status(sm, name, {"InService", "Failed"})
    assert described["EndpointStatus"] == "Failed"
    assert described["FailureReason"] == PING_FAILS
    assert any("Not Found" in m or "404" in m for m in log_messages(local_sm, logs, name))


def test_requirements_are_installed_once_per_content(sm, s3, runtime, logs, local_sm, tmp_path):
    wheels = tmp_path / "wheels"
    make_wheel(wheels)
    environments = tmp_path / "environments"
    env = {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "LOCAL_SAGEMAKER_MODEL_ENVIRONMENTS": str(environments),
    }
    archive = archive_with(USES_TINYPKG, {"code/requirements.txt": b"tinypkg==1.0\n"})
    model = upload(s3, f"{unique('req')}/model.tar.gz", archive)
    first = deploy(sm, model, env=env)
    described = wait_status(sm, first, {"InService", "Failed"})
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    assert invoke(runtime, first) == {"labels": [0, 1], "tinypkg": 42}
    messages = log_messages(local_sm, logs, first)
    assert any("Installing module with the following command:" in m for m in messages)
    assert any("Successfully installed tinypkg-1.0" in m for m in messages)
    installed = [p for p in environments.iterdir() if not p.name.startswith(".")]
    assert len(installed) == 1 and (installed[0] / ".complete").is_file()
    # The project's own Python is untouched: the package lives only in the model's environment.
    import importlib.util

    assert importlib.util.find_spec("tinypkg") is None

    second = deploy(sm, model, env=env)
    assert wait_status(sm, second, {"InService", "Failed"})["EndpointStatus"] == "InService"
    again = log_messages(local_sm, logs, second)
    assert any("Using the environment installed before" in m for m in again)
    assert not any("Installing module" in m for m in again)
    for name in (first, second):
        sm.delete_endpoint(EndpointName=name)


def test_a_package_that_cannot_be_installed_fails_with_pips_error(sm, s3, logs, local_sm, tmp_path):
    env = {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "PIP_NO_INDEX": "1",
        "LOCAL_SAGEMAKER_MODEL_ENVIRONMENTS": str(tmp_path / "environments"),
    }
    archive = archive_with(MODEL_FN, {"code/requirements.txt": b"no-such-package-here==1.0\n"})
    name = deploy(sm, upload(s3, f"{unique('req')}/model.tar.gz", archive), env=env)
    described = wait_status(sm, name, {"InService", "Failed"})
    assert described["EndpointStatus"] == "Failed"
    assert described["FailureReason"] == PING_FAILS
    messages = log_messages(local_sm, logs, name)
    assert any(
        "No matching distribution found for no-such-package-here==1.0" in m for m in messages
    )
    assert any("sagemaker_containers._errors.InstallModuleError" in m for m in messages)
    assert not [p for p in (tmp_path / "environments").iterdir() if not p.name.startswith(".")]


def test_without_sagemaker_program_the_archives_script_is_not_used(sm, s3, logs, local_sm):
    # The scikit-learn container has no default script: with SAGEMAKER_PROGRAM unset it imports
    # module None and fails, even though the archive holds code/inference.py.
    model = upload(s3, f"{unique('noprog')}/model.tar.gz", archive_with(MODEL_FN))
    name = unique("noprog")
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": "sklearn-inference:1.4-2", "ModelDataUrl": model})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
    }])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    described = wait_status(sm, name, {"InService", "Failed"})
    assert described["EndpointStatus"] == "Failed"
    assert described["FailureReason"] == PING_FAILS
    messages = "\n".join(log_messages(local_sm, logs, name))
    assert "Encountered an unexpected error." in messages
    assert "AttributeError: 'NoneType' object has no attribute 'startswith'" in messages
    sm.delete_endpoint(EndpointName=name)
