"""The keep-alive server the gateway and the workers share (``core/httpserver.py``): the usual
request line read without the stock parser reads exactly as the stock parser reads it, and a
worker's access log line is written once its answer has gone out (as nginx writes it when a
request completes), not before the answer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from utils.local_sagemaker.core.httpserver import KeepAliveHandler, LocalWSGIServer


class Probe(KeepAliveHandler):
    """Its access log waits until the client has the answer (:attr:`answered`), and records
    each line with whether it had: a line written before the answer would hold the answer
    back, and the client would wait for it in vain."""

    lines: ClassVar[list[tuple[str, bool]]] = []
    answered = threading.Event()
    wait_for_answer = False

    def _line(self, line: str) -> None:
        had_it = Probe.answered.wait(timeout=5) if Probe.wait_for_answer else False
        Probe.lines.append((line, had_it))

    access_log = _line


@pytest.fixture
def server() -> Iterator[LocalWSGIServer]:
    seen: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(
            {
                "method": environ["REQUEST_METHOD"],
                "path": environ["PATH_INFO"],
                "protocol": environ["SERVER_PROTOCOL"],
            }
        )
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    Probe.lines = []
    Probe.answered.clear()
    Probe.wait_for_answer = False
    httpd = LocalWSGIServer(0, app, Probe)
    httpd.seen = seen  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _exchange(server: LocalWSGIServer, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("line", "path", "protocol", "answers"),
    [
        (b"POST /invocations HTTP/1.1", "/invocations", "HTTP/1.1", 1),
        (b"GET //ping HTTP/1.1", "/ping", "HTTP/1.1", 1),  # '//' reduced, as the stock does
        (b"GET /ping HTTP/1.0", "/ping", "HTTP/1.0", 1),  # closes after one answer
    ],
)
def test_the_usual_request_line_reads_as_the_stock_parser_reads_it(
    server: LocalWSGIServer, line: bytes, path: str, protocol: str, answers: int
) -> None:
    request = line + b"\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    reply = _exchange(server, request * 2)  # two requests on one connection
    keep_alive = protocol == "HTTP/1.1"
    assert reply.count(b"200 OK") == (2 if keep_alive else answers)
    seen = server.seen  # type: ignore[attr-defined]
    assert seen[0] == {"method": line.split()[0].decode(), "path": path, "protocol": protocol}


@pytest.mark.parametrize(
    ("line", "status"),
    [
        (b"GET /ping HTTP/2.0", b"505"),  # the stock parser's refusals stay
        (b"GET /ping HTTP/1.x", b"400"),
        (b"GET /a /b HTTP/1.1", b"400"),
    ],
)
def test_other_request_lines_get_the_stock_answer(
    server: LocalWSGIServer, line: bytes, status: bytes
) -> None:
    reply = _exchange(server, line + b"\r\nHost: x\r\n\r\n")
    assert b"Error code: " + status in reply  # the stock error page
    assert server.seen == []  # type: ignore[attr-defined]


def test_the_access_log_line_follows_the_answer(server: LocalWSGIServer) -> None:
    Probe.wait_for_answer = True
    port = server.server_address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        reply = sock.recv(65536)  # a TimeoutError here: the log line held the answer back
        assert reply.startswith(b"HTTP/1.1 200 OK") and reply.endswith(b"ok")
        Probe.answered.set()
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while sock.recv(65536):
            pass
    assert [had_answer for _, had_answer in Probe.lines] == [True, True]
    assert '"POST /invocations HTTP/1.1" 200' in Probe.lines[0][0]
