"""The notebooks' clean-up check (``notebooks/conftest.py``) on the local SageMaker: whatever a
notebook made anywhere in the account is a leftover, with or without the notebook's tags and
wherever it is in S3, and nothing is one once it is deleted."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from utils.session import Tutorial

ROOT = Path(__file__).resolve().parents[1]


def _leak_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "notebook_leak_check", ROOT / "notebooks" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tut(notebook_setup: Callable[[str], Tutorial]) -> Tutorial:
    return notebook_setup("98")


def test_what_a_notebook_left_anywhere_in_the_local_account_is_found(tut: Any) -> None:
    check = _leak_check()
    notebook = ROOT / "notebooks" / "98_made_up.ipynb"
    baseline = check.snapshot(tut)
    name = f"leak-{uuid.uuid4().hex[:8]}"
    # none of these carries the notebook's tags or sits under its S3 prefix
    tut.s3.create_bucket(Bucket=name)
    tut.s3.put_object(Bucket=name, Key="model/model.tar.gz", Body=b"x")
    tut.s3.put_object(Bucket=tut.bucket, Key=f"elsewhere/{name}", Body=b"x")
    tut.sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={
            "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2",
            "ModelDataUrl": f"s3://{name}/model/model.tar.gz",
        },
        ExecutionRoleArn=tut.role,
    )
    queue = tut.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    topic = tut.sns.create_topic(Name=name)["TopicArn"]
    left = "\n".join(check.leftovers(tut, notebook, baseline))
    for thing in (
        f"S3 buckets (new since the notebook started): {name}",
        f"{name}/model/model.tar.gz",
        f"{tut.bucket}/elsewhere/{name}",
        f"models (new since the notebook started): {name}",
        queue,
        topic,
    ):
        assert thing in left

    tut.sagemaker.delete_model(ModelName=name)
    tut.s3.delete_object(Bucket=name, Key="model/model.tar.gz")
    tut.s3.delete_bucket(Bucket=name)
    tut.s3.delete_object(Bucket=tut.bucket, Key=f"elsewhere/{name}")
    tut.client("sqs").delete_queue(QueueUrl=queue)
    tut.sns.delete_topic(TopicArn=topic)
    assert name not in "\n".join(check.leftovers(tut, notebook, baseline))
