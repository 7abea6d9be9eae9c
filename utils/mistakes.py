"""Small helpers for notebook 07 (common mistakes): model archives that misbehave on purpose,
error printing, bursts and what the endpoints cost.

Waiting for transform jobs and asynchronous results uses the lessons' own helpers
(:func:`utils.batch.wait_for_transform_job`, :func:`utils.asynchronous.wait_for_result`), and
S3 objects are read with :func:`utils.s3.read_text`.

Everything here calls the public AWS APIs (boto3) and works the same on the local SageMaker and
on AWS. The archives are real SageMaker model archives:

* :func:`package_default_handler_model`: a scikit-learn model on the seven numeric columns of the
  German Credit data whose ``code/inference.py`` defines only ``model_fn``, so the scikit-learn
  container's *default* ``input_fn``/``predict_fn``/``output_fn`` handle requests, with their
  raw errors ("could not convert string to float", "Expected 2D array, got 1D array instead");
* :func:`package_slow_model`: the tutorial's loan model and handlers, plus a ``predict_fn`` that
  takes ``SLOW_PREDICT_SECONDS`` (a model environment variable) longer per request; it stands in
  for a model too heavy for a synchronous call.
"""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import joblib

from utils.artifact import HANDLER_SOURCE, write_archive
from utils.concurrency import burst_outcomes
from utils.data import LABEL, NUMERIC_COLUMNS, load_german_credit

#: ``code/inference.py`` with only ``model_fn``: the container's defaults do the rest.
MODEL_FN_ONLY = textwrap.dedent(
    '''\
    """Only model_fn: the scikit-learn container's default handlers decode, predict, encode."""
    import os

    import joblib


    def model_fn(model_dir):
        return joblib.load(os.path.join(model_dir, "model.joblib"))
    '''
)

#: Appended to the tutorial's handlers in :func:`package_slow_model`.
SLOW_PREDICT = textwrap.dedent(
    '''

    # --- slow on purpose (notebook 07): stands in for a model that needs minutes per request ---
    import time as _time

    _fast_predict_fn = predict_fn


    def predict_fn(input_data, model):
        """The real prediction, after SLOW_PREDICT_SECONDS of extra work (default 0)."""
        _time.sleep(float(os.environ.get("SLOW_PREDICT_SECONDS", "0")))
        return _fast_predict_fn(input_data, model)
    '''
)


def package_default_handler_model(out_dir: str | Path, handlers: str = "") -> Path:
    """Train a logistic regression on the numeric columns and package it with only ``model_fn``.

    The model expects the seven numeric inputs (:data:`utils.data.NUMERIC_COLUMNS`) in that order
    as plain numbers, the way the container's default ``input_fn`` delivers them. ``handlers``
    (Python source, e.g. your own ``input_fn``) is appended to ``code/inference.py``: a handler
    defined there replaces the container's default.
    """
    from sklearn.linear_model import LogisticRegression

    from utils.model import quiet_solver_warnings

    frame = load_german_credit()
    with quiet_solver_warnings():
        model = LogisticRegression(max_iter=1000).fit(
            frame[NUMERIC_COLUMNS].to_numpy(), frame[LABEL]
        )
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    source = MODEL_FN_ONLY + ("\n\n" + textwrap.dedent(handlers) if handlers else "")
    files = {"model.joblib": buffer.getvalue(), "code/inference.py": source.encode()}
    return write_archive(Path(out_dir) / "model.tar.gz", files)


def package_slow_model(pipeline: Any, out_dir: str | Path) -> Path:
    """The tutorial's archive (model, versions.json, handlers) with a slower ``predict_fn``."""
    from utils.artifact import package_model

    regular = package_model(pipeline, Path(out_dir) / "regular")
    files: dict[str, bytes] = {}
    with tarfile.open(regular, mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                files[member.name] = tar.extractfile(member).read()  # type: ignore[union-attr]
    files["code/inference.py"] = HANDLER_SOURCE.read_bytes() + SLOW_PREDICT.encode()
    return write_archive(Path(out_dir) / "model.tar.gz", files)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def error_text(error: Exception) -> str:
    """``Code (HTTP status): message`` for a botocore ClientError; the exception text otherwise."""
    response = getattr(error, "response", None)
    if not response:
        return f"{type(error).__name__}: {error}"
    code = response.get("Error", {}).get("Code")
    message = response.get("Error", {}).get("Message")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return f"{code} (HTTP {status}): {message}"


def show_error(error: Exception) -> None:
    """Print what a caller sees for ``error``; for a ModelError also the container's status."""
    print(error_text(error))
    response = getattr(error, "response", None) or {}
    if "OriginalStatusCode" in response:
        print(f"  the container answered HTTP {response['OriginalStatusCode']}")


def last_log_error(events: list[Any]) -> str:
    """The last line of the last traceback in ``events`` (the exception and its message)."""
    for event in reversed(events):
        lines = [line for line in event.message.splitlines() if line.strip()]
        for line in reversed(lines):
            if not line.startswith(" ") and ("Error" in line or "Exception" in line):
                return line.strip()
    return "(no exception in the log)"


# --------------------------------------------------------------------------------------------
# Bursts
# --------------------------------------------------------------------------------------------


def send_burst(
    runtime: Any, endpoint: str, body: str, clients: int, errors: list[str] | None = None
) -> dict[str, int]:
    """Send ``clients`` requests at the same moment (one thread each); count answers by outcome.

    :func:`utils.concurrency.burst_outcomes`, as a dict sorted by outcome: ``"ok"`` or the error
    code (``ThrottlingException``, ``ModelError``, ...). The errors' texts (:func:`error_text`)
    are appended to ``errors`` when given. Use a client without retries to see every throttle:
    botocore retries throttles by default.
    """
    failures: list[Exception] = []
    outcomes = burst_outcomes(runtime, endpoint, body, clients, errors=failures)
    if errors is not None:
        errors.extend(error_text(error) for error in failures)
    return {outcome: count for outcome, count in sorted(outcomes.items()) if count}


# --------------------------------------------------------------------------------------------
# Response bodies
# --------------------------------------------------------------------------------------------


def pretty(body: str) -> str:
    """Compact JSON for a response body, or the body itself."""
    try:
        return json.dumps(json.loads(body))
    except ValueError:
        return body.strip()


# --------------------------------------------------------------------------------------------
# What ran, and what it cost
# --------------------------------------------------------------------------------------------


def metered_costs(tut: Any, endpoints: list[str]) -> str:
    """What ``endpoints`` cost so far: instance-seconds (real-time and asynchronous) and
    GB-seconds (serverless). A serverless line says when part of its cost is provisioned
    concurrency, which is billed every second it is set, not per request.

    Locally from the local SageMaker's meter; on AWS an estimate of the real-time instances only
    (serverless usage is on the bill, not in any API).
    """
    from utils.billing import current_costs, format_usd

    snapshot = current_costs(tut)
    lines = []
    for row in snapshot.get("Endpoints", []):
        if row["EndpointName"] in endpoints:
            cost = format_usd(row["CostUsd"])
            lines.append(
                f"{row['EndpointName']}: {row['InstanceCount']} x {row['InstanceType']} instance(s) "
                f"billed every second it runs, busy or idle: {cost}"
            )
    for row in snapshot.get("Serverless", []):
        if row["EndpointName"] in endpoints:
            provisioned = (
                ", plus provisioned concurrency billed every second it is set"
                if row.get("ProvisionedGbSeconds", 0.0) > 0
                else ""
            )
            lines.append(
                f"{row['EndpointName']}: serverless {row['MemorySizeInMB']} MB, {row['Requests']} "
                f"requests billed by the millisecond{provisioned}: {format_usd(row['CostUsd'])}"
            )
    return "\n".join(lines) or "(nothing metered for these endpoints)"
