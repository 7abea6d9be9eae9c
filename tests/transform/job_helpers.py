"""Helpers shared by the transform-job tests and their fixtures."""

from __future__ import annotations

import time
import uuid
from typing import Any

from utils.artifact import SERVING_ENVIRONMENT

BUCKET = "transform-job-tests"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_model(sm: Any, model_url: str, env: dict[str, str] | None = None) -> str:
    name = unique("tm")
    # The container has no default script: the model says where code/inference.py is.
    container: dict[str, Any] = {
        "Image": "sklearn-inference:1.4-2", "ModelDataUrl": model_url,
        "Environment": {**SERVING_ENVIRONMENT, **(env or {})},
    }
    sm.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=ROLE)
    return name


def wait_job(sm: Any, name: str, timeout: float = 60) -> dict[str, Any]:
    """Poll DescribeTransformJob until the job has ended (short interval, bounded)."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    delay = 0.02
    while time.monotonic() < deadline:
        described = sm.describe_transform_job(TransformJobName=name)
        status = described["TransformJobStatus"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("Completed", "Failed", "Stopped"):
            described["_seen"] = seen
            return described
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    raise AssertionError(f"{name} never ended; saw {seen}")
