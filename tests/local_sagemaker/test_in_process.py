"""The gateway's own AWS calls answered in-process: the app sees what it would over HTTP.

The same boto3 calls go once through the HTTP server and once through
:class:`~utils.local_sagemaker.wire.in_process.InProcessTransport` to one recording WSGI app;
the environ the app gets and the answer botocore parses must be the same both ways.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from utils.local_sagemaker.core.credentials import LocalCredentials
from utils.local_sagemaker.core.httpserver import SERVER_SOFTWARE, LocalWSGIServer
from utils.local_sagemaker.services.telemetry.aws_clients import make_client
from utils.local_sagemaker.wire.in_process import InProcessTransport

#: What differs from one call to the next whichever way it goes (time, signature, ids), and
#: what only a socket has.
PER_CALL = {
    "HTTP_X_AMZ_DATE",
    "HTTP_AUTHORIZATION",
    "HTTP_AMZ_SDK_INVOCATION_ID",
    "wsgi.input",
    "wsgi.errors",
    "werkzeug.socket",
    "REMOTE_PORT",
}

CREDENTIALS = LocalCredentials("AKIALOCALTEST0000000", "local-secret")


class Recorder:
    """A WSGI app that keeps each request's environ and body and answers per path."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, Any], bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.seen.append((dict(environ), body))
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.endswith("DescribeLogGroups"):
            payload = json.dumps({"logGroups": [{"logGroupName": "g", "storedBytes": 1}]})
            start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"),
                                      ("Content-Length", str(len(payload)))])
            return [payload.encode()]
        if target:  # any other JSON call: refused, as moto refuses a missing group
            payload = json.dumps({"__type": "ResourceNotFoundException", "message": "no group"})
            start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"),
                                               ("x-amzn-ErrorType", "ResourceNotFoundException"),
                                               ("Content-Length", str(len(payload)))])
            return [payload.encode()]
        if environ["REQUEST_METHOD"] == "GET":  # S3 GetObject: a body in two chunks, no length
            start_response("200 OK", [("Content-Type", "binary/octet-stream"), ("ETag", '"e"')])
            return iter([b"first part, ", b"second part"])
        start_response("200 OK", [("ETag", '"abc"'), ("Content-Length", "0")])
        return [b""]


def _same(key: str, value: Any) -> Any:
    """A retry's ``amz-sdk-request`` names the time its answer came (``ttl=``): left out."""
    if key == "HTTP_AMZ_SDK_REQUEST":
        return re.sub(r"ttl=\w+; ", "", value)
    return value


@pytest.fixture
def served() -> Iterator[tuple[Recorder, str]]:
    app = Recorder()
    server = LocalWSGIServer(0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _calls(client_for: Any) -> list[Any]:
    """The same calls, their answers (or errors) as botocore returns them."""
    logs, s3 = client_for("logs"), client_for("s3")
    results: list[Any] = []
    answer = logs.describe_log_groups(logGroupNamePrefix="g")
    results.append(answer["logGroups"])
    with pytest.raises(ClientError) as refused:
        logs.put_log_events(
            logGroupName="g", logStreamName="s", logEvents=[{"timestamp": 1, "message": "é"}]
        )
    results.append(refused.value.response["Error"])
    put = s3.put_object(Bucket="b", Key="a key/ü.txt", Body=b"data", Tagging="k=v")
    results.append(put["ETag"])
    got = s3.get_object(Bucket="b", Key="a key/ü.txt", Range="bytes=0-3")
    results.append(got["Body"].read())
    versioned = s3.get_object(Bucket="b", Key="a key/ü.txt", VersionId="v 1+2")  # a query
    results.append(versioned["Body"].read())
    return results


def test_the_app_sees_the_same_request_and_botocore_the_same_answer(
    served: tuple[Recorder, str],
) -> None:
    app, url = served

    def over_http(service: str) -> Any:
        return make_client(service, url, CREDENTIALS)

    transport = InProcessTransport(app, url, SERVER_SOFTWARE)

    def in_process(service: str) -> Any:
        return make_client(service, url, CREDENTIALS, send=transport)

    answers_http = _calls(over_http)
    via_http = list(app.seen)
    app.seen.clear()
    answers_local = _calls(in_process)
    via_local = list(app.seen)

    assert answers_local == answers_http
    assert answers_http[-2:] == [b"first part, second part"] * 2
    assert len(via_local) == len(via_http) > 0
    for (local, local_body), (remote, remote_body) in zip(via_local, via_http, strict=True):
        assert local_body == remote_body
        kept_local = {k: v for k, v in local.items() if k not in PER_CALL}
        kept_remote = {k: v for k, v in remote.items() if k not in PER_CALL}
        assert kept_local == kept_remote


def test_a_request_for_another_address_goes_over_http(served: tuple[Recorder, str]) -> None:
    app, url = served
    elsewhere = InProcessTransport(app, "http://127.0.0.1:1", SERVER_SOFTWARE)
    logs = make_client("logs", url, CREDENTIALS, send=elsewhere)
    logs.describe_log_groups()
    [(environ, _)] = app.seen
    assert environ["werkzeug.socket"] is not None  # it came through the server's socket



class Failing:
    """A WSGI app with a bug: it raises on every request, or returns without starting an answer."""

    def __init__(self, answers: bool) -> None:
        self.calls = 0
        self.answers = answers

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.calls += 1
        if self.answers:
            return [b"no start_response"]
        raise RuntimeError("a bug in the app")


@pytest.mark.parametrize("answers", [False, True])
def test_an_app_failure_is_the_500_the_http_server_answers(answers: bool) -> None:
    """botocore retries it as a 500 from the network and raises a ClientError, not the app's
    exception (which would escape every caller's error handling)."""
    outcomes = []
    for in_process in (False, True):
        app = Failing(answers)
        server = LocalWSGIServer(0, app)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}"
            send = InProcessTransport(app, url, SERVER_SOFTWARE) if in_process else None
            logs = make_client("logs", url, CREDENTIALS, send=send)
            with pytest.raises(ClientError) as failed:
                logs.describe_log_groups()
        finally:
            server.shutdown()
            server.server_close()
        meta = failed.value.response["ResponseMetadata"]
        outcomes.append((failed.value.response["Error"], meta["HTTPStatusCode"], app.calls))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][1] == 500
    assert outcomes[0][2] == 3  # retried, as the clients are configured (max_attempts: 2 retries)
