"""The gateway's client to an instance: the request it writes, and the headers it refuses."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from utils.local_sagemaker.core import worker_secret
from utils.local_sagemaker.core.instance_client import InstanceClient

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
    ("name", "value"),
    [
        ("Accept", "a\r\nX-Injected: 1"),
        ("Accept", "a\nb"),
        ("Accept", "a\rb"),
        ("Accept", "a\0b"),
        ("X-Bad\r\nName", "v"),
        ("", "v"),
    ],
)
def test_a_header_with_a_line_break_a_nul_or_no_name_is_refused_before_sending(
    worker: tuple[int, list[bytes]], name: str, value: str
) -> None:
    port, received = worker
    client = InstanceClient(port, "s3cret")
    headers = {"Content-Type": "text/csv", name: value}
    with pytest.raises(ValueError, match="Invalid header") as refused:
        client.invoke(b"x", headers, timeout=5)
    assert str(refused.value) == f"Invalid header {name!r}: {value!r}"
    assert received == []
