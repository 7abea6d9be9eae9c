"""Fixtures for the conformance suite, on the session's local SageMaker (``local_sm``).

The server itself is shared by every test (``tests/local_server.py``). Model archives are small
scikit-learn models built here, uploaded to the local S3 through the same port.
"""

from __future__ import annotations

import io
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from local_server import local_route, make_client, s3_with_bucket
from sklearn.linear_model import LogisticRegression

from utils.artifact import SERVING_ENVIRONMENT, archive_bytes

BUCKET = "local-sagemaker-tests"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"

MODEL_FN = """
import os, joblib
def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""

HANDLERS = {
    # only model_fn: the container's default input/predict/output handlers do the rest
    "default": MODEL_FN,
    "broken": """
def model_fn(model_dir):
    raise RuntimeError("model_fn failed on purpose: the model file is missing")
""",
    "slow": MODEL_FN
    + """
import time
def predict_fn(data, model):
    time.sleep(4)  # deliberately slower than the test's invocation timeout
    return model.predict(data)
""",
    # loads for a second: a new instance stays starting long enough for a poll to see it
    "slow_load": """
import os, time, joblib
def model_fn(model_dir):
    time.sleep(1)
    return joblib.load(os.path.join(model_dir, "model.joblib"))
""",
    "custom": MODEL_FN
    + """
import json
def input_fn(body, content_type):
    return json.loads(body)["rows"]
def output_fn(prediction, accept):
    return json.dumps({"labels": [int(p) for p in prediction], "accept": accept}), "application/json"
""",
    "transform": """
import os, joblib
def model_fn(model_dir):
    return {"greeting": open(os.path.join(model_dir, "greeting.txt")).read()}
def transform_fn(model, body, content_type, accept):
    return model["greeting"] + ":" + (body.decode() if isinstance(body, bytes) else body), "text/plain"
""",
}


def _tiny_model() -> LogisticRegression:
    x = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    return LogisticRegression().fit(x, [0, 0, 1, 1])


def archive_with(code: str, extra: dict[str, bytes] | None = None) -> bytes:
    """A model.tar.gz with ``code/inference.py`` (``code``), a tiny ``model.joblib`` and ``extra``."""
    model_bytes = io.BytesIO()
    joblib.dump(_tiny_model(), model_bytes)
    files = {
        "code/inference.py": textwrap.dedent(code).encode(),
        "model.joblib": model_bytes.getvalue(),
        **(extra or {}),
    }
    return archive_bytes(files)


def build_archive(handler: str) -> bytes:
    """The archive of one of the :data:`HANDLERS` (``transform`` reads ``greeting.txt``)."""
    return archive_with(HANDLERS[handler], {"greeting.txt": b"hello"})


@pytest.fixture(scope="session")
def runtime(local_sm: str) -> Any:
    return make_client("sagemaker-runtime", local_sm)


@pytest.fixture(scope="session")
def s3(local_sm: str) -> Any:
    return s3_with_bucket(local_sm, BUCKET)


@pytest.fixture(scope="session")
def model_urls(s3: Any) -> dict[str, str]:
    """S3 URL of each test archive, uploaded once."""
    urls = {}
    for handler in HANDLERS:
        key = f"models/{handler}/model.tar.gz"
        s3.put_object(Bucket=BUCKET, Key=key, Body=build_archive(handler))
        urls[handler] = f"s3://{BUCKET}/{key}"
    return urls


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_status(sm: Any, name: str, wanted: set[str], timeout: float = 60) -> dict[str, Any]:
    """Poll DescribeEndpoint until its status is in ``wanted`` (short interval, bounded)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        described = sm.describe_endpoint(EndpointName=name)
        status = described["EndpointStatus"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in wanted:
            described["_seen"] = seen
            return described
        time.sleep(0.05)
    raise AssertionError(f"{name} never reached {wanted}; saw {seen}")


def deploy(
    sm: Any,
    model_url: str,
    instance_count: int = 1,
    name: str | None = None,
    env: dict | None = None,
    role: str = ROLE,
    tags: list[dict[str, str]] | None = None,
    **config: Any,
) -> str:
    """Create model + config (``config``: extra CreateEndpointConfig members) + endpoint and
    return the endpoint name (not waiting)."""
    name = name or unique("ep")
    # The container has no default script: the model says where code/inference.py is.
    container: dict[str, Any] = {
        "Image": "sklearn-inference:1.4-2", "ModelDataUrl": model_url,
        "Environment": {**SERVING_ENVIRONMENT, **(env or {})},
    }
    tagged: dict[str, Any] = {"Tags": tags} if tags else {}
    sm.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=role, **tagged)
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": instance_count,
            }
        ],
        **config,
        **tagged,
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name, **tagged)
    return name


@pytest.fixture(scope="session")
def endpoint(sm: Any, model_urls: dict[str, str]) -> str:
    """An InService endpoint serving the tiny model with the container's default handlers."""
    name = deploy(sm, model_urls["default"], instance_count=2)
    wait_status(sm, name, {"InService"})
    return name


@pytest.fixture(scope="session")
def flush(local_sm: str) -> Any:
    """Wait until queued logs and metrics have reached moto."""
    def run() -> None:
        local_route(local_sm, "/_local/flush")

    return run


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]
