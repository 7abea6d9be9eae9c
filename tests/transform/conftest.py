"""Fixtures for transform jobs run end to end on a local SageMaker started for this session.

The server is the session's shared one (``local_sm``, ``tests/local_server.py``): started as a
learner starts it, stopped at the end, with a check that no process is left behind. The model is
a small stand-alone handler script (no scikit-learn needed) that makes every data path visible:
it answers one line per record, ``<sum>,<big|small>`` for CSV and ``{"sum": …}`` for JSON Lines,
fails on any non-numeric CSV cell (a header row), and can be slowed down per model
(``SLEEP_SECONDS``) for the stop test.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
from job_helpers import BUCKET, create_model
from local_server import make_client, s3_with_bucket

from utils.artifact import archive_bytes

HANDLER = """
import json, os, time

def model_fn(model_dir):
    return float(os.environ.get("SLEEP_SECONDS", "0"))

def input_fn(body, content_type):
    text = body.decode() if isinstance(body, (bytes, bytearray)) else body
    kind = (content_type or "").split(";")[0]
    lines = [line for line in text.split("\\n") if line.strip()]
    if kind == "text/csv":
        return [[float(cell) for cell in line.split(",")] for line in lines]
    if kind in ("application/jsonlines", "application/json"):
        values = [json.loads(line) for line in lines]
        return [v["x"] if isinstance(v, dict) else v for v in values]
    raise ValueError("unsupported content type " + str(content_type))

def predict_fn(data, sleep):
    if sleep:
        time.sleep(sleep)
    return [sum(row) for row in data]

def output_fn(prediction, accept):
    if accept == "text/csv":
        body = "".join(f"{p:g},{'big' if p > 5 else 'small'}\\n" for p in prediction)
        return body, "text/csv"
    return "".join(json.dumps({"sum": p}) + "\\n" for p in prediction), "application/jsonlines"
"""


def build_archive() -> bytes:
    return archive_bytes({"code/inference.py": textwrap.dedent(HANDLER).encode()})


@pytest.fixture(scope="session")
def s3(local_sm: str) -> Any:
    return s3_with_bucket(local_sm, BUCKET)


@pytest.fixture(scope="session")
def logs(local_sm: str) -> Any:
    return make_client("logs", local_sm)


@pytest.fixture(scope="session")
def model_url(s3: Any) -> str:
    s3.put_object(Bucket=BUCKET, Key="models/batch/model.tar.gz", Body=build_archive())
    return f"s3://{BUCKET}/models/batch/model.tar.gz"


@pytest.fixture(scope="session")
def model(sm: Any, model_url: str) -> str:
    return create_model(sm, model_url)


@pytest.fixture(scope="session")
def slow_model(sm: Any, model_url: str) -> str:
    return create_model(sm, model_url, {"SLEEP_SECONDS": "30"})
