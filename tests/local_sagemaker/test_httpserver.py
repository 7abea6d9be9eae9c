"""The keep-alive server the gateway and the workers share (``core/httpserver.py``): the usual
request line read without the stock parser reads exactly as the stock parser reads it, the
environ it builds itself is the one werkzeug builds, the answer's head is the one
``send_response`` and ``send_header`` write, and a worker's access log line is written once its
answer has gone out (as nginx writes it when a request completes), not before the answer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from werkzeug.serving import WSGIRequestHandler

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


def test_an_answer_whose_head_cannot_be_sent_is_logged_once_as_the_500(
    server: LocalWSGIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An app's header value outside latin-1 (a handler's Content-Type, say) cannot be written:
    the client gets the 500, and the access log one line for the request, the 500's (not the
    app's 200 as well)."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json \u2713")])
        return [b"ok"]

    server.app = app
    reply = _exchange(server, b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 500 Internal Server Error")
    assert [line.split('"')[2] for line, _ in Probe.lines] == [" 500 -"]
    assert "UnicodeEncodeError" in capsys.readouterr().err  # the error itself is logged once


class EnvironProbe(KeepAliveHandler):
    """Builds each request's environ both ways: this server's and werkzeug's own."""

    pairs: ClassVar[list[tuple[dict[str, Any], dict[str, Any]]]] = []

    def make_environ(self) -> dict[str, Any]:
        ours = super().make_environ()
        EnvironProbe.pairs.append((dict(ours), dict(WSGIRequestHandler.make_environ(self))))
        return ours


@pytest.mark.parametrize(
    "head",
    [
        b"POST /endpoints/a/invocations HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
        b"Content-Type: text/csv\r\nX-Amz-Date: 20260101T000000Z\r\nContent-Length: 0\r\n",
        b"GET /b%20c/%C3%A9t%C3%A9?list-type=2&prefix=%C3%A9&x=a+b HTTP/1.1\r\nHost: x\r\n",
        "GET /caf\u00e9/d?q=\u00e9 HTTP/1.1\r\nHost: x\r\n".encode("latin-1"),  # raw high bytes
        b"GET /x HTTP/1.1\r\nHost: x\r\nAccept: a\r\nAccept: b\r\nX_Under: dropped\r\n"
        b"Content-Type: one\r\nContent-Type: two\r\nX-Empty:\r\nX-Pad:  v  \r\n",
        b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n",
        b"GET /folded HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n  b\r\n",  # the e-mail parser's case
        b"GET http://127.0.0.1:9/abs?q=1 HTTP/1.1\r\nHost: x\r\n",  # absolute form: werkzeug's
        b"GET /frag#f HTTP/1.1\r\nHost: x\r\n",
    ],
)
def test_the_environ_is_the_one_werkzeug_builds(server: LocalWSGIServer, head: bytes) -> None:
    EnvironProbe.pairs = []
    server.RequestHandlerClass = EnvironProbe
    tail = b"0\r\n\r\n" if b"chunked" in head else b""
    reply = _exchange(server, head + b"Connection: close\r\n\r\n" + tail)
    assert reply.startswith(b"HTTP/1.1 200 OK")
    [(ours, stock)] = EnvironProbe.pairs
    assert isinstance(ours["wsgi.input"], type(stock["wsgi.input"]))  # ChunkedBody: one
    ours["wsgi.input"] = stock["wsgi.input"] = None
    assert ours == stock


def test_the_answer_head_is_the_stock_one(server: LocalWSGIServer) -> None:
    """Status line, ``Server`` and ``Date`` as ``send_response`` writes them, then the app's
    headers in order (its own framing headers dropped), then the body in the same write."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(
            "201 Created",
            [("X-One", "1"), ("Connection", "close"), ("Content-Length", "2"), ("x-two", "b c")],
        )
        return [b"ok"]

    server.app = app
    reply = _exchange(server, b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 201 Created"
    assert lines[1].startswith("Server: LocalSageMaker Python/")
    assert lines[2].startswith("Date: ") and lines[2].endswith(" GMT")
    assert lines[3:] == ["X-One: 1", "Content-Length: 2", "x-two: b c"]
    assert body == b"ok"


def test_a_body_cut_short_reaches_no_app(server: LocalWSGIServer) -> None:
    """A small body is read before the app is called; a client that goes away before sending
    all of it gets no answer, and the app never sees the request."""
    reply = _exchange(server, b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    assert reply == b""
    assert server.seen == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("reads", [True, False])
@pytest.mark.parametrize(
    "request_head",
    [
        b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",  # read first
        b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\nabc",  # streamed
        b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_a_client_that_half_closes_before_its_body_ends_gets_a_clean_close(
    server: LocalWSGIServer, capsys: pytest.CaptureFixture[str], request_head: bytes, reads: bool
) -> None:
    """Whatever the framing: when the app reads the body (then fails, or answers its own
    error about it), the connection is closed at once with no answer, as nginx closes it; an
    app that answers without reading it has its answer sent, then the connection closes. Never
    a wait, a 500 or a traceback for what is the client's doing."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if reads:
            try:
                environ["wsgi.input"].read()
            except Exception:
                start_response("400 Bad Request", [("Content-Length", "3")])
                return [b"bad"]
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    server.app = app
    reply = _exchange(server, request_head)
    if reads or b"Content-Length: 10\r\n" in request_head:  # a small body: read before the app
        assert reply == b""
    else:
        assert reply.startswith(b"HTTP/1.1 200 OK") and reply.endswith(b"\r\n\r\nok")
    assert "Traceback" not in capsys.readouterr().err


def test_a_body_the_app_lets_fail_gets_no_500(
    server: LocalWSGIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["wsgi.input"].read()  # raises: the client went away
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    server.app = app
    head = b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\nabc"
    assert _exchange(server, head) == b""
    assert "Traceback" not in capsys.readouterr().err


def test_a_small_body_reaches_the_app_whole_and_the_next_request_follows(
    server: LocalWSGIServer,
) -> None:
    bodies: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        bodies.append(environ["wsgi.input"].read(3))  # the rest is left unread
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    server.app = app
    one = b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
    reply = _exchange(server, one + one)
    assert reply.count(b"200 OK") == 2
    assert bodies == [b"abc", b"abc"]
