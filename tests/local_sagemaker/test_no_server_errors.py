"""No request makes the local SageMaker answer with a server error (5xx) of its own.

Bad input gets AWS's error, with AWS's code and a 4xx status, in the protocol of the service
called. Two kinds of test, on a private local SageMaker (what the requests create never meets
another test):

* **examples**: the requests that used to crash the gateway or came back as bare pages (an empty
  or odd endpoint name in a runtime path, a non-ASCII content type, garbage bodies, unknown
  targets and actions, oversized headers), each with the code and status it must get;
* **properties** (hypothesis): control-plane requests whose members follow, bend or break the
  botocore model's shapes, raw garbage bodies and targets, and runtime requests with any name,
  content type and body. None may answer with a status of 500 or more, and the server must be
  healthy afterwards. The runs are derandomized (the same examples every time), bounded and
  without deadlines, so they cannot flake on a slow machine.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.model import Shape
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from local_server import local_route, make_client, run_local_sagemaker, s3_with_bucket

from utils.local_sagemaker.core.shapes import service_model

from .conftest import BUCKET, build_archive, deploy, wait_status

#: The same examples on every run, a bounded number of them, no per-example deadline.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=250,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Control-plane operations the local SageMaker implements, and a few it does not.
OPERATIONS = sorted(
    {
        "CreateModel",
        "DescribeModel",
        "ListModels",
        "DeleteModel",
        "CreateEndpointConfig",
        "DescribeEndpointConfig",
        "ListEndpointConfigs",
        "DeleteEndpointConfig",
        "CreateEndpoint",
        "DescribeEndpoint",
        "ListEndpoints",
        "UpdateEndpoint",
        "UpdateEndpointWeightsAndCapacities",
        "DeleteEndpoint",
        "CreateTransformJob",
        "DescribeTransformJob",
        "ListTransformJobs",
        "StopTransformJob",
        "AddTags",
        "ListTags",
        "DeleteTags",
        "CreateTrainingJob",
        "ListTrainingJobs",
    }
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from run_local_sagemaker(Path(tmp_path_factory.mktemp("no-5xx")))


@pytest.fixture(scope="module")
def live_endpoint(server: str) -> str:
    """A real endpoint on the private server, so fuzzed calls also reach a model."""
    s3 = s3_with_bucket(server, BUCKET)
    s3.put_object(Bucket=BUCKET, Key="fuzz/model.tar.gz", Body=build_archive("default"))
    sm = make_client("sagemaker", server)
    name = deploy(sm, f"s3://{BUCKET}/fuzz/model.tar.gz", name="fuzz-target")
    wait_status(sm, name, {"InService"})
    return name


@pytest.fixture(scope="module")
def credentials(server: str) -> Credentials:
    from utils.local_sagemaker.core.credentials import client_environment_for

    env = client_environment_for(server)
    return Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])


def send(
    url: str,
    credentials: Credentials,
    path: str,
    body: bytes,
    headers: dict[str, str],
    service: str = "sagemaker",
) -> tuple[int, dict[str, str], bytes]:
    """One signed raw request (no SDK: nothing is checked or fixed on the client side)."""
    request = AWSRequest(method="POST", url=url + path, data=body, headers=headers)
    SigV4Auth(credentials, service, "us-east-1").add_auth(request)
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        conn.putrequest("POST", path, skip_accept_encoding=True)
        for key, value in request.headers.items():
            conn.putheader(key, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def control(
    url: str, credentials: Credentials, target: str, body: bytes
) -> tuple[int, dict[str, str], bytes]:
    headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
    return send(url, credentials, "/", body, headers)


def assert_healthy(url: str) -> None:
    assert local_route(url, "/_local/health")["status"] == "ok"
    make_client("sagemaker", url).list_endpoints()


# -- examples ---------------------------------------------------------------------------------


def runtime_error(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, str, str]:
    status, headers, body = answer
    return status, headers.get("x-amzn-errortype", ""), json.loads(body).get("message", "")


@pytest.mark.parametrize(
    ("name", "member"),
    [("", "endpointName"), ("%20", "endpointName"), ("%C3%A9t%C3%A9", "endpointName")],
)
@pytest.mark.parametrize("operation", ["invocations", "async-invocations"])
def test_odd_endpoint_names_in_runtime_paths_get_a_validation_error(
    server: str, credentials: Credentials, name: str, member: str, operation: str
) -> None:
    answer = send(
        server, credentials, f"/endpoints/{name}/{operation}", b"1,2", {"Content-Type": "text/csv"}
    )
    status, code, message = runtime_error(answer)
    shown = urllib.parse.unquote(name)
    assert (status, code) == (400, "ValidationError")
    assert message == (
        f"1 validation error detected: Value '{shown}' at '{member}' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*"
    )


def test_a_non_ascii_content_type_gets_a_validation_error(
    server: str, credentials: Credentials
) -> None:
    content_type = "téxt/csv".encode().decode("latin-1")  # as the header's bytes arrive
    answer = send(
        server, credentials, "/endpoints/ep/invocations", b"1", {"Content-Type": content_type}
    )
    status, code, message = runtime_error(answer)
    assert (status, code) == (400, "ValidationError")
    assert "Value 'téxt/csv' at 'contentType' failed to satisfy constraint" in message
    # An empty content type is simply absent: the endpoint is looked up (and not found).
    answer = send(server, credentials, "/endpoints/ep/invocations", b"1", {"Content-Type": ""})
    assert runtime_error(answer)[:2] == (400, "ValidationError")
    assert "Endpoint ep of account" in runtime_error(answer)[2]


@pytest.mark.parametrize(
    ("target", "body", "code"),
    [
        ("SageMaker.DescribeEndpoint", b"garbage{", "SerializationException"),
        ("SageMaker.DescribeEndpoint", b"[1, 2]", "SerializationException"),
        ("SageMaker.ListEndpoints", b"\xff\xfe", "SerializationException"),
        ("SageMaker.NoSuchOperation", b"{}", "UnknownOperationException"),
        ("SageMaker.", b"{}", "UnknownOperationException"),
        ("Foo.Bar", b"{}", "UnknownOperationException"),
    ],
)
def test_control_plane_garbage_gets_json_errors(
    server: str, credentials: Credentials, target: str, body: bytes, code: str
) -> None:
    status, headers, payload = control(server, credentials, target, body)
    assert status == 400
    assert json.loads(payload)["__type"] == code
    assert headers["content-type"].startswith("application/x-amz-json-1.1")


@pytest.mark.parametrize(
    ("service", "body", "code"),
    [
        ("iam", b"Action=NoSuchAction&Version=2010-05-08", "InvalidAction"),
        ("sts", b"Action=NoSuchAction&Version=2011-06-15", "InvalidAction"),
        ("sns", b"Action=NoSuchAction&Version=2010-03-31", "InvalidAction"),
        ("iam", b"\xff\xfe garbage", "MissingAction"),
    ],
)
def test_unknown_query_actions_get_xml_errors(
    server: str, credentials: Credentials, service: str, body: bytes, code: str
) -> None:
    status, headers, payload = send(
        server,
        credentials,
        "/",
        body,
        {"Content-Type": "application/x-www-form-urlencoded"},
        service=service,
    )
    assert status == 400
    assert headers["content-type"] == "text/xml"
    assert f"<Code>{code}</Code>" in payload.decode()


def test_unknown_json_targets_of_other_services_get_json_errors(
    server: str, credentials: Credentials
) -> None:
    headers = {"X-Amz-Target": "Logs_20140328.NoSuchAction", "Content-Type": "application/x-amz-json-1.1"}
    status, _, payload = send(server, credentials, "/", b"{}", headers, service="logs")
    assert status == 400
    assert json.loads(payload)["__type"] == "UnknownOperationException"


@pytest.mark.parametrize(
    "headers",
    [{"X-Big": "a" * 70_000}, {f"X-Header-{i}": "v" for i in range(120)}],
    ids=["long-header", "many-headers"],
)
def test_oversized_headers_get_a_json_4xx(server: str, headers: dict[str, str]) -> None:
    parts = urllib.parse.urlsplit(server)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request("POST", "/endpoints/ep/invocations", body=b"1", headers=headers)
        response = conn.getresponse()
        body = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 431
    assert response.getheader("x-amzn-ErrorType") == body["__type"] == "RequestHeaderFieldsTooLarge"
    assert_healthy(server)


# -- properties -------------------------------------------------------------------------------

#: Strings a model member might hold, and strings that break every pattern.
TEXT = st.one_of(
    st.sampled_from(["", "a", "AllTraffic", "ml.m5.large", "s3://bucket/key", "x" * 300]),
    st.text(max_size=40),
)
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def value_for(shape: Shape, depth: int = 0, wild: bool = False) -> st.SearchStrategy[Any]:
    """Values for one botocore shape: of its type (in or out of its constraints), or with
    ``wild`` sometimes any JSON value instead."""
    kind = shape.type_name
    typed: st.SearchStrategy[Any]
    if depth > 3:
        return st.none()
    if kind == "structure":
        members = shape.members  # type: ignore[attr-defined]
        required = set(shape.required_members)  # type: ignore[attr-defined]
        # Required members present (so requests get past the first check and reach the
        # operation), the others sometimes.
        typed = st.fixed_dictionaries(
            {name: value_for(m, depth + 1, wild) for name, m in members.items() if name in required},
            optional={
                name: value_for(m, depth + 1, wild) for name, m in members.items() if name not in required
            },
        )
    elif kind == "list":
        typed = st.lists(value_for(shape.member, depth + 1, wild), max_size=3)  # type: ignore[attr-defined]
    elif kind == "map":
        typed = st.dictionaries(TEXT, value_for(shape.value, depth + 1, wild), max_size=3)  # type: ignore[attr-defined]
    elif kind == "string":
        enum = shape.enum  # type: ignore[attr-defined]
        typed = st.sampled_from(enum) | TEXT if enum else TEXT
    elif kind in ("integer", "long"):
        typed = st.integers(min_value=-(2**40), max_value=2**40)
    elif kind in ("float", "double"):
        typed = st.floats(allow_nan=False, allow_infinity=False)
    elif kind == "boolean":
        typed = st.booleans()
    elif kind == "timestamp":
        typed = st.floats(min_value=0, max_value=4e9) | TEXT
    else:  # blob
        typed = TEXT
    return st.one_of(typed, typed, typed, ANY_JSON) if wild else typed


@st.composite
def control_requests(draw: st.DrawFn) -> tuple[str, bytes]:
    """(target, body): mostly a model-shaped body for a real operation, sometimes garbage."""
    model = service_model("sagemaker")
    operation = draw(st.sampled_from(OPERATIONS))
    kind = draw(st.sampled_from(["shaped", "shaped", "shaped", "wild", "garbage", "target"]))
    if kind == "garbage":
        return f"SageMaker.{operation}", draw(st.binary(max_size=64))
    if kind == "target":
        # any text but a line break, which no HTTP client sends inside a header
        target = draw(TEXT.filter(lambda t: "\n" not in t and "\r" not in t))
        return target.encode("utf-8").decode("latin-1"), b"{}"
    shape = model.operation_model(operation).input_shape
    params = draw(value_for(shape, wild=kind == "wild")) if shape is not None else {}
    return f"SageMaker.{operation}", json.dumps(params).encode()


@FUZZ
@given(request=control_requests())
def test_no_control_plane_request_gets_a_server_error(
    server: str, credentials: Credentials, request: tuple[str, bytes]
) -> None:
    target, body = request
    status, headers, payload = control(server, credentials, target, body)
    event(f"HTTP {status} {json.loads(payload).get('__type', '') if status >= 300 else ''}")
    assert status < 500, (target, body, status, payload)
    assert status < 300 or json.loads(payload).get("__type") or headers.get("x-amzn-errortype")


#: Header values as their bytes arrive (latin-1 characters), without line breaks.
HEADER_TEXT = st.text(
    alphabet=st.characters(max_codepoint=255, exclude_categories=("Cc",)), max_size=40
)


#: Endpoint names: the live endpoint, names that fit the model's pattern, anything at all.
NAMES = st.one_of(
    st.just("fuzz-target"),
    st.from_regex(r"[a-zA-Z0-9](-?[a-zA-Z0-9]){0,20}", fullmatch=True),
    st.text(max_size=70),
)
#: Content types and Accept values: common ones, ASCII text, any latin-1 text.
MEDIA = st.one_of(
    st.sampled_from(["", "text/csv", "application/json", "application/x-npy", "*/*"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    HEADER_TEXT,
)


@FUZZ
@given(
    name=NAMES,
    operation=st.sampled_from(["invocations", "invocations", "async-invocations"]),
    content_type=MEDIA,
    accept=MEDIA,
    body=st.one_of(st.binary(max_size=256), st.sampled_from([b"1,1\n2,2", b"[[1, 2]]", b""])),
)
def test_no_runtime_request_gets_a_server_error(
    server: str,
    credentials: Credentials,
    live_endpoint: str,
    name: str,
    operation: str,
    content_type: str,
    accept: str,
    body: bytes,
) -> None:
    path = f"/endpoints/{urllib.parse.quote(name.encode(), safe='')}/{operation}"
    headers = {"Content-Type": content_type, "Accept": accept}
    status, answer_headers, payload = send(server, credentials, path, body, headers)
    event(f"HTTP {status} {answer_headers.get('x-amzn-errortype', '')}")
    assert status < 500, (path, headers, status, payload)
    assert answer_headers.get("x-amzn-errortype") or status < 300


def test_the_server_is_healthy_after_the_fuzzing(server: str) -> None:
    assert_healthy(server)
