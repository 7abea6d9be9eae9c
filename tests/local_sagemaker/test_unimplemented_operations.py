"""Every operation of every service the local SageMaker routes answers like AWS, never a bare 500.

The test walks the botocore models of SageMaker, its runtime, S3, IAM, STS, CloudWatch, CloudWatch
Logs, Application Auto Scaling, SNS and SQS and calls each operation once, with the smallest
request the client accepts (required members only, dummy values). It runs on a private local
SageMaker so that what these calls create never meets another test.

* An operation the local SageMaker does not implement answers HTTP 400 with the error code of its
  service's protocol, and the message names the operation.
* No answer is a bare 5xx: a server error always parses as an AWS error of the client's protocol
  (a failure inside moto on these dummy requests is a well-formed ``InternalFailure``).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore
import pytest
from botocore.model import Shape
from local_server import make_client, run_local_sagemaker

SERVICES = (
    "sagemaker",
    "sagemaker-runtime",
    "s3",
    "iam",
    "sts",
    "cloudwatch",
    "logs",
    "application-autoscaling",
    "sns",
    "sqs",
)

#: The not-implemented error code each protocol uses (see the gateway's unimplemented module).
CODES = {
    "json": "UnknownOperationException",
    "rest-json": "UnknownOperationException",
    "smithy-rpc-v2-cbor": "UnknownOperationException",
    "query": "InvalidAction",
    "rest-xml": "NotImplemented",
}

#: No host prefix (``stream-`` for Logs' StartLiveTail would not resolve) and a bound on each
#: call, so a hanging operation fails the test instead of stalling it (make_client: no retries).
CONFIG = {"inject_host_prefix": False, "connect_timeout": 5, "read_timeout": 30}


def dummy(shape: Shape, name: str = "") -> Any:
    """The smallest value botocore accepts for ``shape`` (required members only)."""
    kind = shape.type_name
    if kind == "structure":
        members = shape.members  # type: ignore[attr-defined]
        if getattr(shape, "is_tagged_union", False):
            first = next(iter(members))
            return {first: dummy(members[first], first)}
        required = shape.required_members  # type: ignore[attr-defined]
        return {key: dummy(member, key) for key, member in members.items() if key in required}
    if kind == "list":
        member = shape.member  # type: ignore[attr-defined]
        return [dummy(member, name) for _ in range(shape.metadata.get("min", 0))]
    if kind == "map":
        return {}
    if kind == "string":
        if shape.enum:  # type: ignore[attr-defined]
            return shape.enum[0]  # type: ignore[attr-defined]
        if name == "Bucket":
            return "unimplemented-walk"  # a valid bucket name
        return "x" * max(1, shape.metadata.get("min", 1))
    if kind in ("integer", "long"):
        return int(shape.metadata.get("min", 1))
    if kind in ("float", "double"):
        return float(shape.metadata.get("min", 1))
    if kind == "boolean":
        return False
    if kind == "blob":
        return b"x"
    if kind == "timestamp":
        return datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    raise AssertionError(f"no dummy for a {kind}")


@pytest.fixture(scope="module")
def private_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from run_local_sagemaker(Path(tmp_path_factory.mktemp("unimplemented")))


@pytest.mark.slow
@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_answers_an_aws_error_never_a_bare_500(service, private_url):
    client = make_client(service, private_url, **CONFIG)
    model = client.meta.service_model
    unimplemented, broken = [], []
    for operation in model.operation_names:
        operation_model = model.operation_model(operation)
        params = dummy(operation_model.input_shape) if operation_model.input_shape else {}
        try:
            getattr(client, botocore.xform_name(operation))(**params)
            continue
        except botocore.exceptions.ClientError as error:
            status = error.response["ResponseMetadata"].get("HTTPStatusCode", 0)
            code = error.response["Error"].get("Code", "")
            message = error.response["Error"].get("Message", "")
        except botocore.exceptions.BotoCoreError as error:  # unparseable answer, or no answer
            broken.append(f"{operation}: {type(error).__name__}: {error}")
            continue
        if "does not implement" in message or code == CODES[model.protocol]:
            unimplemented.append(operation)
            assert status == 400, (operation, status)
            assert code == CODES[model.protocol], (operation, code)
            assert f"does not implement {model.metadata['serviceId']} {operation}" in message, (
                operation,
                message,
            )
        elif status >= 500 and code.isdigit():
            # botocore falls back to the HTTP status when the body is not an AWS error
            broken.append(f"{operation}: HTTP {status} without an AWS error body")
    assert broken == [], "\n".join(broken)
    if service in ("iam", "s3", "sagemaker"):
        assert unimplemented, f"{service}: expected some operations the local SageMaker lacks"
