"""Runtime conformance: content types through the container defaults, errors, logs, metrics."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import botocore.exceptions
import numpy as np
import pytest

from .conftest import deploy, make_client, wait_status

FLASK_500 = "<title>500 Internal Server Error</title>"


def test_csv_in_json_out(runtime: Any, endpoint: str) -> None:
    response = runtime.invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Body="1,1\n3,3"
    )
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert json.loads(response["Body"].read()) == [0, 1]


def test_csv_accept_csv(runtime: Any, endpoint: str) -> None:
    response = runtime.invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body="1,1\n3,3"
    )
    assert response["ContentType"] == "text/csv; charset=utf-8"
    assert response["Body"].read() == b"0\n1\n"


def test_json_in(runtime: Any, endpoint: str) -> None:
    response = runtime.invoke_endpoint(
        EndpointName=endpoint, ContentType="application/json", Body=json.dumps([[0, 0], [3, 3]])
    )
    assert json.loads(response["Body"].read()) == [0, 1]


def test_npy_round_trip_is_binary_safe(runtime: Any, endpoint: str) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([[0.0, 0.0], [3.0, 3.0]]))
    response = runtime.invoke_endpoint(
        EndpointName=endpoint,
        ContentType="application/x-npy",
        Accept="application/x-npy",
        Body=buffer.getvalue(),
    )
    assert response["ContentType"] == "application/x-npy"
    assert np.load(io.BytesIO(response["Body"].read())).tolist() == [0, 1]


@pytest.mark.parametrize(
    ("content_type", "accept", "body"),
    [
        ("text/csv", None, "1,1"),  # single row squeezes to 1-D
        ("text/csv", None, "a,b\n1,1"),  # header row
        ("text/csv; charset=utf-8", None, "1,1\n3,3"),  # exact-string match
        ("text/plain", None, "1,1\n3,3"),
        ("text/csv", "application/xml", "1,1\n3,3"),  # unsupported Accept is a 500 too
    ],
)
def test_container_500s_become_model_error(
    runtime: Any, endpoint: str, content_type: str, accept: str | None, body: str
) -> None:
    kwargs = {"Accept": accept} if accept else {}
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        runtime.invoke_endpoint(
            EndpointName=endpoint, ContentType=content_type, Body=body, **kwargs
        )
    response = excinfo.value.response
    assert response["Error"]["Code"] == "ModelError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == 500
    assert FLASK_500 in response["OriginalMessage"]
    message = response["Error"]["Message"]
    assert message.startswith(
        'Received server error (500) from primary with message "<!doctype html>'
    )
    assert message.endswith(
        f"See https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:"
        f"group=/aws/sagemaker/Endpoints/{endpoint} in account 123456789012 for more information."
    )
    assert response["LogStreamArn"].endswith(f":log-group:/aws/sagemaker/Endpoints/{endpoint}")


def test_unknown_endpoint(runtime: Any) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        runtime.invoke_endpoint(EndpointName="no-such-endpoint", ContentType="text/csv", Body="1,1")
    error = excinfo.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ValidationError",
        "Endpoint no-such-endpoint of account 123456789012 not found.",
    )
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_header_the_container_cannot_be_sent_is_a_validation_error(
    runtime: Any, endpoint: str
) -> None:
    """A NUL passes the runtime model's ASCII pattern but cannot go on to the container: the
    client's error (400), not the gateway's InternalFailure (500, retried by every SDK)."""
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        runtime.invoke_endpoint(
            EndpointName=endpoint, ContentType="text/csv", Body="1,1", CustomAttributes="a\0b"
        )
    error = excinfo.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ValidationError",
        "Header X-Amzn-SageMaker-Custom-Attributes holds a character that cannot be passed to "
        "the container.",
    )
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_invoke_needs_the_exact_case(runtime: Any, endpoint: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        runtime.invoke_endpoint(
            EndpointName=endpoint.upper(), ContentType="text/csv", Body="1,1\n3,3"
        )
    assert excinfo.value.response["Error"]["Code"] == "ValidationError"


def test_oversize_body(runtime: Any, endpoint: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        runtime.invoke_endpoint(
            EndpointName=endpoint, ContentType="text/csv", Body=b"1" * 6_291_457
        )
    error = excinfo.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Message"].endswith("has oversize body.")
    # the connection stays usable afterwards
    ok = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body="1,1\n3,3")
    assert ok["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_custom_handlers_and_transform_fn(
    sm: Any, runtime: Any, model_urls: dict[str, str]
) -> None:
    custom = deploy(sm, model_urls["custom"])
    transform = deploy(sm, model_urls["transform"])
    wait_status(sm, custom, {"InService"})
    wait_status(sm, transform, {"InService"})
    response = runtime.invoke_endpoint(
        EndpointName=custom,
        ContentType="application/json",
        Body=json.dumps({"rows": [[0, 0], [3, 3]]}),
    )
    assert json.loads(response["Body"].read()) == {"labels": [0, 1], "accept": "application/json"}
    response = runtime.invoke_endpoint(
        EndpointName=transform,
        ContentType="application/octet-stream",
        Body=b"abc",
        CustomAttributes="trace=1",
    )
    assert response["ContentType"] == "text/plain; charset=utf-8"
    assert response["Body"].read() == b"hello:abc"
    for name in (custom, transform):
        sm.delete_endpoint(EndpointName=name)


def test_timeout(sm: Any, local_sm: str, model_urls: dict[str, str]) -> None:
    name = deploy(sm, model_urls["slow"])
    wait_status(sm, name, {"InService"})
    client = make_client("sagemaker-runtime", local_sm)
    started = time.monotonic()
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        client.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body="1,1\n3,3")
    assert (
        time.monotonic() - started < 4
    )  # answered at the configured timeout, not the model's pace
    error = excinfo.value.response["Error"]
    assert error["Code"] == "ModelError"
    assert error["Message"].startswith(
        'Received server error (0) from primary with message "Your invocation timed out while '
        "waiting for a response from container primary. Review the latency metrics for each "
        'container in Amazon CloudWatch, resolve the issue, and try again.". See https://'
    )
    sm.delete_endpoint(EndpointName=name)


def test_logs_reach_cloudwatch(runtime: Any, endpoint: str, local_sm: str, flush: Any) -> None:
    with pytest.raises(botocore.exceptions.ClientError):
        runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body="1,1")
    flush()
    logs = make_client("logs", local_sm)
    group = f"/aws/sagemaker/Endpoints/{endpoint}"
    streams = [
        s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
    ]
    assert len(streams) == 2  # one per instance
    assert all(s.startswith("AllTraffic/i-") for s in streams)
    messages = [
        e["message"]
        for s in streams
        for e in logs.get_log_events(logGroupName=group, logStreamName=s)["events"]
    ]
    assert any("Exception on /invocations [POST]" in m for m in messages)
    assert any("Expected 2D array, got 1D array instead" in m for m in messages)
    assert any('"GET /ping HTTP/1.1" 200' in m for m in messages)


def test_metrics_reach_cloudwatch(runtime: Any, endpoint: str, local_sm: str, flush: Any) -> None:
    runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body="1,1\n3,3")
    flush()
    cloudwatch = make_client("cloudwatch", local_sm)
    metrics = cloudwatch.list_metrics(
        Namespace="AWS/SageMaker", Dimensions=[{"Name": "EndpointName", "Value": endpoint}]
    )["Metrics"]
    names = {m["MetricName"] for m in metrics}
    assert {
        "Invocations",
        "ModelLatency",
        "OverheadLatency",
        "Invocation4XXErrors",
        "Invocation5XXErrors",
    } <= names
    for metric in metrics:
        assert {d["Name"] for d in metric["Dimensions"]} == {"EndpointName", "VariantName"}
