"""The serverless lesson's helpers: retries counted as attempts, AWS paths that say what they can't show."""

from __future__ import annotations

from types import SimpleNamespace

import boto3

from utils import serverless
from utils.cloudwatch import wait_for_metrics


def _tut(is_local: bool) -> SimpleNamespace:
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return SimpleNamespace(is_local=is_local, boto_session=session, region="us-east-1")


def test_attempts_count_the_first_call_too() -> None:
    # botocore's max_attempts counts retries only: max_attempts=1 would still retry once.
    client = serverless.runtime_with_attempts(_tut(False), attempts=1)
    assert client.meta.config.retries == {"total_max_attempts": 1, "mode": "standard"}


def test_on_aws_waiting_for_cold_says_why_it_does_not_wait() -> None:
    shown: list[str] = []
    assert serverless.wait_until_cold(_tut(False), "ep", show=shown.append) == 0.0
    assert shown == [serverless.AWS_IDLE_NOTE]


def test_on_aws_the_cost_lines_point_to_the_bill() -> None:
    lines = serverless.serverless_cost_lines(_tut(False), ["ep"])
    assert len(lines) == 1 and "bill" in lines[0] and "$" not in lines[0]


def test_cost_lines_price_requests_only_without_provisioned_concurrency(monkeypatch) -> None:
    rows = [
        {"EndpointName": "on-demand", "Requests": 4, "ComputeGbSeconds": 0.5,
         "ProvisionedComputeGbSeconds": 0.0, "ProvisionedGbSeconds": 0.0, "CostUsd": 0.00001},
        {"EndpointName": "provisioned", "Requests": 1, "ComputeGbSeconds": 0.0,
         "ProvisionedComputeGbSeconds": 0.25, "ProvisionedGbSeconds": 120.0, "CostUsd": 0.0006},
        {"EndpointName": "someone-else", "Requests": 9, "ComputeGbSeconds": 1.0,
         "ProvisionedComputeGbSeconds": 0.0, "ProvisionedGbSeconds": 0.0, "CostUsd": 0.00002},
    ]
    monkeypatch.setattr(serverless, "serverless_costs", lambda tut: rows)
    lines = serverless.serverless_cost_lines(_tut(True), ["on-demand", "provisioned"])
    assert lines == [
        "on-demand: 4 requests, 0.500 GB-s of processing: $0.000010, so $0.0025 per 1,000 requests",
        "provisioned: 1 request, 0.250 GB-s of processing, 120 GB-s provisioned: $0.00060",
    ]


def test_wait_for_metrics_reads_until_enough_arrived_and_announces_a_long_wait() -> None:
    readings = iter([0, 1, 3])
    shown: list[str] = []
    got = wait_for_metrics(lambda: next(readings), lambda n: n, 2, "samples", sleep=lambda s: None,
                           show=shown.append, announce_after=0.0)
    assert got == 3
    assert shown == [
        "CloudWatch has 0 of 2 samples so far (on AWS metrics arrive about a minute after the "
        "requests); waiting at most 180 s in all."
    ]


def test_wait_for_metrics_returns_what_arrived_when_time_is_up() -> None:
    shown: list[str] = []
    got = wait_for_metrics(lambda: 1, lambda n: n, 5, "samples", timeout=0.0,
                           sleep=lambda s: None, show=shown.append)
    assert got == 1 and shown == []


def test_record_attempts_notes_what_each_retried_attempt_got(monkeypatch) -> None:
    """Two throttles then an answer, from a stand-in runtime on 127.0.0.1: three entries, and the
    response's RetryAttempts counts the two retries."""
    import http.server
    import threading

    import botocore.endpoint

    answers = [(400, b'{"__type": "ThrottlingException", "message": "Rate exceeded"}')] * 2
    answers.append((200, b"0.1,approve\n"))

    class Runtime(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            status, body = answers.pop(0)
            self.send_response(status)
            if status != 200:
                self.send_header("x-amzn-ErrorType", "ThrottlingException")
            self.send_header("Content-Type", "text/csv" if status == 200 else "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Runtime)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # botocore sleeps its backoff with time.sleep (the time module, patched for this test only)
    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda seconds: None)
    try:
        tut = _tut(True)
        config = serverless.runtime_with_attempts(tut, attempts=5).meta.config  # standard mode
        client = tut.boto_session.client(
            "sagemaker-runtime", endpoint_url=f"http://127.0.0.1:{server.server_port}",
            config=config,
        )
        attempts = serverless.record_attempts(client)
        answer = client.invoke_endpoint(EndpointName="ep", ContentType="text/csv", Body="1,2\n")
    finally:
        server.shutdown()
        server.server_close()
    assert attempts == ["ThrottlingException", "ThrottlingException", "200"]
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert answer["Body"].read() == b"0.1,approve\n"
