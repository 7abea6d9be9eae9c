"""The gateway's client to an instance: the request it writes, and the headers it refuses."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from utils.local_sagemaker.core import worker_secret
from utils.local_sagemaker.core.instance_client import InstanceClient, InvalidHeader

ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Amzn-SageMaker-Custom-Attributes: a=1"
    b"\r\nContent-Length: 2\r\n\r\n[]"
)


@pytest.fixture
def worker() -> Iterator[tuple[int, list[bytes]]]:
    """A socket that keeps each request's bytes and answers ANSWER (one request a connection)."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    more = conn.recv(65536)
                    if not more:  # closed without a request
                        break
                    data += more
                if not data:
                    continue
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                while len(body) < length:
                    body += conn.recv(65536)
                received.append(head + b"\r\n\r\n" + body)
                conn.sendall(ANSWER.replace(b"200 OK", b"200 OK\r\nConnection: close"))

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1], received
    finally:
        listener.close()


def test_the_request_carries_the_callers_headers_and_the_secret(
    worker: tuple[int, list[bytes]],
) -> None:
    port, received = worker
    client = InstanceClient(port, "s3cret")
    headers = {
        "Content-Type": "text/csv",
        "Accept": "application/json",
        "Content-Length": "999",  # the connection writes its own framing
        "Host": "elsewhere",
        "X-Amzn-SageMaker-Custom-Attributes": "trace=1; ü",
    }
    reply = client.invoke(b"1,2\n", headers, timeout=5)
    assert (reply.status, reply.body) == (200, b"[]")
    assert reply.headers.get("x-amzn-sagemaker-custom-attributes") == "a=1"
    assert received == [
        f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"{worker_secret.HEADER}: s3cret\r\n"
        "Content-Type: text/csv\r\nAccept: application/json\r\n"
        "X-Amzn-SageMaker-Custom-Attributes: trace=1; ü\r\n"
        "Content-Length: 4\r\n\r\n1,2\n".encode("latin-1")
    ]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("Accept", "a\r\nX-Injected: 1", "Invalid header value 'a\\r\\nX-Injected: 1' for 'Accept'"),
        ("Accept", "a\nb", "Invalid header value 'a\\nb' for 'Accept'"),
        ("Accept", "a\rb", "Invalid header value 'a\\rb' for 'Accept'"),
        ("Accept", "a\0b", "Invalid header value 'a\\x00b' for 'Accept'"),
        ("Accept", "text/csv \u2713", "Header value 'text/csv \u2713' is not latin-1"),
        ("X-Bad\r\nName", "v", "Invalid header name 'X-Bad\\r\\nName'"),
        ("X-Injected: 1\r\nAccept", "v", "Invalid header name 'X-Injected: 1\\r\\nAccept'"),
        ("X-Colon:", "v", "Invalid header name 'X-Colon:'"),
        ("X Space", "v", "Invalid header name 'X Space'"),
        ("", "v", "Invalid header name ''"),
    ],
)
def test_a_header_that_cannot_be_sent_is_refused_before_connecting(
    worker: tuple[int, list[bytes]], name: str, value: str, message: str
) -> None:
    """Refused with InvalidHeader (a ValueError, not an assertion ``python -O`` would strip),
    before a connection is taken: a name that is not a token could smuggle a header (or a
    request) past the check on values, and a value outside latin-1 cannot be written."""
    port, received = worker
    client = InstanceClient(port, "s3cret")
    headers = {"Content-Type": "text/csv", name: value}
    with pytest.raises(InvalidHeader) as refused:
        client.invoke(b"x", headers, timeout=5)
    assert str(refused.value) == message
    assert isinstance(refused.value, ValueError)
    assert received == []
    assert len(client._idle) == 0  # no connection was opened for it


def test_the_workers_own_head_is_checked_too(worker: tuple[int, list[bytes]]) -> None:
    """The Host and secret lines are made from the same checked lines as the caller's."""
    port, received = worker
    with pytest.raises(InvalidHeader):
        InstanceClient(port, "s3cret\r\nX-Injected: 1").invoke(b"x", {}, timeout=5)
    assert received == []
