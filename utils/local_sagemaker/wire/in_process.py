"""The gateway's own AWS calls, handed to the gateway in this process instead of over HTTP.

The services reach moto as any client does, with boto3 on the gateway's URL (ARCHITECTURE.md,
"Layers"), and every second the log shipper, the metrics publishers and the state saver make
such calls. Over HTTP each one cost the gateway a request thread's wake-up and the parsing of
the request and of the answer on both sides of a socket, competing with the InvokeEndpoint
requests being served. :class:`InProcessTransport` is botocore's ``before-send`` hook: the
request botocore has built and signed goes to the WSGI app as the environ the HTTP server would
have built from it (``core/httpserver.py`` :func:`request_environ`, with the headers
``http.client`` adds: ``Host``, ``Accept-Encoding``), and the app's answer comes back as the
response botocore would have read. Everything after the socket is unchanged: the gateway routes
the request, records it in the call log and marks what to save, and moto answers it; botocore
parses, retries and raises as it does for an answer from the network.

What it leaves out is what the gateway's own clients never need: the ``Host`` and origin checks
and the signature check that keep other programs out (``request_guard``, ``signed_requests``).

**Failures.** An exception from the app becomes the HTTP server's answer to it, a plain 500, so
botocore retries it and the caller gets the ``ClientError`` it would get over HTTP, never the
exception itself. The whole answer is made before botocore sees any of it, so a failure part
way through an answer is that 500 too (over HTTP the connection would close mid-answer).
There is no read timeout: botocore's ``read_timeout`` guards against a peer or network that
goes silent, and here the app runs on the caller's own thread, so it either answers, raises,
or this process is stuck, which a timeout does not mend (running the app on another thread to
wait for it would leave that thread stuck and add the thread hand-over this transport exists
to avoid).
"""

from __future__ import annotations

import email.utils
import io
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from ..core.httpserver import is_origin_form, request_environ, server_header

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RawBody(io.BytesIO):
    """An answer's body as botocore reads a urllib3 response: ``read`` and ``stream``."""

    def stream(self, amt: int = 1 << 16, decode_content: bool = True) -> Iterable[bytes]:
        while chunk := self.read(amt):
            yield chunk


class InProcessTransport:
    """botocore's ``before-send`` hook that answers each request with ``app`` in this process.

    ``url`` is the gateway's own URL: a request for any other address (none is expected) is
    left to botocore's HTTP sender.
    """

    def __init__(self, app: WSGIApp, url: str, software: str) -> None:
        self.app = app
        parts = urlsplit(url)
        self.netloc = parts.netloc
        self.server = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.software = software
        self.version = server_header(software)

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        url = urlsplit(request.url)
        target = url.path or "/"
        if url.query:
            target = f"{target}?{url.query}"
        if (
            url.netloc != self.netloc
            or not is_origin_form(target)
            or "Transfer-Encoding" in request.headers  # a body of unknown length: none expected
        ):
            return None
        body = _body_bytes(request.body)
        headers = [("Host", self.netloc), ("Accept-Encoding", "identity")]
        for name, value in request.headers.items():
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            headers.append((name, text))
        if body and "Content-Length" not in request.headers:
            headers.append(("Content-Length", str(len(body))))
        environ = request_environ(
            request.method,
            target,
            "HTTP/1.1",
            headers,
            io.BytesIO(body),
            server=self.server,
            client=("127.0.0.1", 0),
            software=self.software,
        )
        try:
            status, response_headers, data = self._answer(environ)
        except Exception:
            # What the HTTP server does when the app fails before its answer has started
            # (core/httpserver.py, KeepAliveHandler): the traceback to stderr, a plain 500 that
            # closes the connection. botocore then retries and raises as it would for that
            # answer from the network, and the caller sees a ClientError, not our exception.
            traceback.print_exc(file=sys.stderr)
            status, data = 500, b"Internal Server Error"
            response_headers = [
                ("Content-Type", "text/plain"),
                ("Content-Length", str(len(data))),
                ("Connection", "close"),
            ]
        if request.method == "HEAD":
            data = b""
        # the head the HTTP server writes before the app's headers (botocore reads Date)
        head = [("Server", self.version), ("Date", email.utils.formatdate(usegmt=True))]
        return AWSResponse(request.url, status, head + response_headers, RawBody(data))

    def _answer(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        """The app's whole answer to one request: status, headers, body."""
        answer: dict[str, Any] = {}
        chunks: list[bytes] = []

        def start_response(
            status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            answer["status"] = int(status.split(" ", 1)[0])
            answer["headers"] = response_headers
            return chunks.append

        result = self.app(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            if hasattr(result, "close"):  # the WSGI rule: an iterable with close() is closed
                result.close()
        if "status" not in answer:
            raise RuntimeError("the app did not call start_response")
        return answer["status"], answer["headers"], b"".join(chunks)


def _body_bytes(body: Any) -> bytes:
    """A prepared request's body (bytes, text, a file or nothing) as bytes."""
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    data = body.read()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)
