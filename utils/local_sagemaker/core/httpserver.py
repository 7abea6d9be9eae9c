"""A small threaded WSGI server with HTTP/1.1 keep-alive, for the gateway and the instances.

Why not werkzeug's development server as is: it closes every connection and then spends up to
10 ms draining the socket, so each boto3 call would pay a new TCP connection and a new thread on
both hops (client -> gateway -> instance). Keep-alive is what makes the gateway's added latency
small, and it is safe here because every request body is read to its end (Content-Length or
chunked) before the next request line is parsed, and every response carries either a
Content-Length or chunked framing.

It reuses werkzeug's request handler for everything except ``run_wsgi`` (the environ it builds,
header handling, logging), and only ever listens on 127.0.0.1.
"""

from __future__ import annotations

import email.parser
import email.utils
import io
import re
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from typing import Any

from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Idle keep-alive connections are closed after this many seconds (one thread each meanwhile).
IDLE_TIMEOUT = 300.0

#: A first body chunk up to this size goes out in one write with the headers (copying more
#: costs more than the second send it saves).
COALESCE_LIMIT = 64 * 1024


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's handler with a keep-alive ``run_wsgi`` and no per-request access log."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    access_log: Callable[[str], None] | None = None

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus delayed
        # ACKs would stall each keep-alive response by tens of milliseconds.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def parse_request(self) -> bool:
        """The stock request-line checks, then the headers read without the e-mail parser.

        ``http.server`` hands the header block to ``email.parser`` (>100 us a request here, more
        than the signature check). Ordinary ``Name: value`` lines are read directly into the same
        ``HTTPMessage``, as compat32 would store them; a block with anything else (folded lines,
        odd names) goes to the e-mail parser as before. Limits and refusals are the stock ones.
        """
        if not self._parse_plain_request_line():
            real = self.rfile
            self.rfile = io.BytesIO(b"\r\n")  # the stock parser sees the request line only
            try:
                if not super().parse_request():
                    return False
            finally:
                self.rfile = real
        lines = []
        while True:
            line = self.rfile.readline(MAX_HEADER_LINE + 1)
            if len(line) > MAX_HEADER_LINE:
                self.send_error(
                    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", "header line"
                )
                return False
            lines.append(line)
            if len(lines) > MAX_HEADERS:
                self.send_error(
                    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "Too many headers",
                    f"got more than {MAX_HEADERS} headers",
                )
                return False
            if line in (b"\r\n", b"\n", b""):
                break
        self.headers = _header_message(lines, self.MessageClass)
        connection = self.headers.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        expect = self.headers.get("Expect", "")
        if (
            expect.lower() == "100-continue"
            and self.protocol_version >= "HTTP/1.1"
            and self.request_version >= "HTTP/1.1"
        ):
            return bool(self.handle_expect_100())
        return True

    def _parse_plain_request_line(self) -> bool:
        """Read the usual request line, ``METHOD PATH HTTP/1.1`` (or ``HTTP/1.0``), exactly as
        the stock parser reads it; False for any other line, which the stock parser then reads
        (and refuses or accepts as before). The stock parser would also run the e-mail parser
        on an empty header block, a tenth of the gateway's request thread."""
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0"):
            return False
        self.requestline = requestline
        self.command, path, self.request_version = words
        self.close_connection = not (
            words[2] == "HTTP/1.1" and self.protocol_version >= "HTTP/1.1"
        )
        # as the stock parser: '//' at the start is reduced to '/' (gh-87389)
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        return True

    #: The ``Date`` header's value and the second it was made for (one per second is enough).
    _date: tuple[int, str] = (0, "")

    def date_time_string(self, timestamp: float | None = None) -> str:
        if timestamp is not None:
            return str(super().date_time_string(timestamp))
        now = int(time.time())
        second, text = KeepAliveHandler._date
        if second != now:
            text = email.utils.formatdate(now, usegmt=True)
            KeepAliveHandler._date = (now, text)
        return text

    #: Access log lines of the request being answered, written once its answer is out.
    _deferred_log: list[str] | None = None

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.access_log is None:
            return
        line = (
            f"{self.address_string()} - - [{self.log_date_time_string()}] "
            f'"{self.requestline}" {code} {size}'
        )
        if self._deferred_log is not None:
            self._deferred_log.append(line)
        else:
            self.access_log(line)

    def _write_deferred_log(self) -> None:
        lines, self._deferred_log = self._deferred_log, None
        log = self.access_log
        for line in lines or ():
            if log is not None:
                log(line)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def run_wsgi(self) -> None:
        # The access log line is written after the answer, as nginx writes it when a request
        # completes: a worker's line goes to the gateway through a pipe, and written before the
        # answer it woke a gateway thread just as the answer arrived (the gateway's own request
        # thread then waited for it).
        if self.access_log is not None:
            self._deferred_log = []
        try:
            self._run_wsgi()
        finally:
            self._write_deferred_log()

    def _run_wsgi(self) -> None:
        environ = self.make_environ()
        length = environ.get("CONTENT_LENGTH")
        if environ.get("wsgi.input_terminated"):
            body_stream = environ["wsgi.input"]  # chunked request: werkzeug dechunks it
        else:
            try:
                size = int(length) if length else 0
            except ValueError:
                size = 0
            body_stream = LimitedStream(self.rfile, max(size, 0))  # type: ignore[arg-type]
            environ["wsgi.input"] = body_stream

        state: dict[str, Any] = {"status": None, "headers": None, "sent": False, "chunked": False}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            if exc_info and state["sent"]:
                raise exc_info[1].with_traceback(exc_info[2])
            state["status"], state["headers"] = status, headers
            return write

        def send_head(body: bytes = b"") -> bool:
            """Send status and headers, and ``body`` with them if it can be; True if it was."""
            status: str = state["status"]
            code_str, _, msg = status.partition(" ")
            self.send_response(int(code_str), msg)
            names = set()
            for key, value in state["headers"]:
                lower = key.lower()
                if lower in ("connection", "transfer-encoding", "keep-alive"):
                    continue
                names.add(lower)
                self.send_header(key, value)
            code = int(code_str)
            no_body = self.command == "HEAD" or code < 200 or code in (204, 304)
            if "content-length" not in names and not no_body:
                state["chunked"] = True
                self.send_header("Transfer-Encoding", "chunked")
            if body and not state["chunked"] and self.request_version != "HTTP/0.9":
                # end_headers() with a small body in the same write: one packet, not two (the
                # client would otherwise wake up for the headers and again for the body).
                self._headers_buffer.append(b"\r\n")
                self._headers_buffer.append(body)
                self.flush_headers()
                state["sent"] = True
                return True
            self.end_headers()
            state["sent"] = True
            return False

        def write(data: bytes) -> None:
            if not state["sent"]:
                head_only = self.command == "HEAD" or len(data) > COALESCE_LIMIT
                if send_head(b"" if head_only else data):
                    return  # the body went out with the headers
            if data and self.command != "HEAD":
                if state["chunked"]:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)

        try:
            result = self.server.app(environ, start_response)
            try:
                for chunk in result:
                    write(chunk)
                if not state["sent"]:
                    write(b"")
                if state["chunked"]:
                    self.wfile.write(b"0\r\n\r\n")
            finally:
                if hasattr(result, "close"):
                    result.close()
            # Read what the app left of the request body, so the next request line parses.
            while body_stream.read(65536):
                pass
            self.wfile.flush()
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        except Exception:
            self.close_connection = True
            traceback.print_exc(file=sys.stderr)
            if not state["sent"]:
                body = b"Internal Server Error"
                self.send_response(500)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)


#: ``http.client``'s limits for a request's header block: the longest line, the most lines.
MAX_HEADER_LINE = 65536
MAX_HEADERS = 100

#: An ordinary header line: a name of the characters the e-mail parser accepts, a colon, a value.
_HEADER_LINE = re.compile(rb"([\x21-\x39\x3b-\x7e]+):[ \t]*([^\r\n]*)\r?\n")


def _header_message(lines: list[bytes], message_class: Any) -> Any:
    """The header lines as ``message_class`` (an ``email.message.Message``), values as compat32
    stores them; anything but ordinary lines is left to the e-mail parser."""
    message = message_class()
    for line in lines[:-1]:
        match = _HEADER_LINE.fullmatch(line)
        if match is None:
            text = b"".join(lines).decode("iso-8859-1")
            return email.parser.Parser(_class=message_class).parsestr(text)
        message[match.group(1).decode("ascii")] = match.group(2).decode("iso-8859-1")
    return message


class LocalWSGIServer(ThreadingHTTPServer):
    """Threaded HTTP server (one thread per connection) bound to 127.0.0.1."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port: int, app: WSGIApp, handler: type[KeepAliveHandler] = KeepAliveHandler):
        self.app = app
        # werkzeug's handler reads these server attributes when building the environ.
        self.ssl_context = None
        self.multithread = True
        self.multiprocess = False
        self.passthrough_errors = False
        self._server_version = "LocalSageMaker"
        super().__init__(("127.0.0.1", port), handler)

    def log(self, type: str, message: str, *args: Any) -> None:
        print(message % args if args else message, file=sys.stderr)
