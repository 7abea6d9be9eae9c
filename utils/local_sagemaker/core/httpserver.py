"""A small threaded WSGI server with HTTP/1.1 keep-alive, for the gateway and the instances.

Why not werkzeug's development server as is: it closes every connection and then spends up to
10 ms draining the socket, so each boto3 call would pay a new TCP connection and a new thread on
both hops (client -> gateway -> instance). Keep-alive is what makes the gateway's added latency
small, and it is safe here because every request body is read to its end (Content-Length or
chunked) before the next request line is parsed, and every response carries either a
Content-Length or chunked framing.

It subclasses werkzeug's request handler but reads an ordinary request itself (the request
line, the header lines, the WSGI environ, the answer's head: ``KeepAliveHandler``), because the
general-purpose parsers cost a gateway request a fifth of its time; anything unusual still goes
to them (a folded header line to the standard library's header parser, an absolute URI or a
fragment to werkzeug's environ). It only ever listens on 127.0.0.1.
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
from urllib.parse import unquote

from werkzeug.http import parse_set_header
from werkzeug.serving import DechunkedInput, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: What the server calls itself (``Server`` header, ``SERVER_SOFTWARE`` in the environ).
SERVER_SOFTWARE = "LocalSageMaker"

#: Idle keep-alive connections are closed after this many seconds (one thread each meanwhile).
IDLE_TIMEOUT = 300.0

#: A request body up to this size (with a Content-Length) is read before the app is called.
EAGER_BODY_LIMIT = 1 << 20

#: A first body chunk up to this size goes out in one write with the headers (copying more
#: costs more than the second send it saves).
COALESCE_LIMIT = 64 * 1024


def server_header(software: str) -> str:
    """The ``Server`` header's value as http.server writes it: ``software``, then the Python
    version (``BaseHTTPRequestHandler.sys_version``)."""
    return f"{software} Python/{sys.version.split()[0]}"



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

    def handle_one_request(self) -> None:
        """The stock ``handle_one_request`` without its ``do_<METHOD>`` look-up: werkzeug's
        handler answers every method with ``run_wsgi`` (through ``__getattr__``, twice a
        request), so it is called directly. Refusals and timeouts are the stock ones."""
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = ""
                self.request_version = ""
                self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return  # an error has been sent
            self.run_wsgi()
            self.wfile.flush()
        except TimeoutError as exc:
            self.log_error("Request timed out: %r", exc)
            self.close_connection = True

    def parse_request(self) -> bool:
        """The stock request-line checks, then the headers read without the e-mail parser.

        ``http.server`` hands the header block to ``email.parser`` (>100 us a request here, more
        than the signature check). Ordinary ``Name: value`` lines are read directly, as compat32
        would store them, into :class:`RequestHeaders`; a block with anything else (folded lines,
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
        self.headers = _read_headers(lines, self.MessageClass)
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

    def version_string(self) -> str:
        """The stock ``Server`` value (the server's name, the Python version), without the
        property werkzeug reads the name through."""
        return server_header(self.server._server_version)

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
        if self.access_log is None:  # the gateway's server: no access log
            self._run_wsgi()
            return
        self._deferred_log = []
        try:
            self._run_wsgi()
        finally:
            self._write_deferred_log()

    def make_environ(self) -> dict[str, Any]:
        """The WSGI environ werkzeug's handler builds, built directly for an ordinary request
        (an origin-form path without a fragment, on a plain socket); anything else is left to
        werkzeug. Same keys, same values: werkzeug's took a tenth of a gateway request's time."""
        path = self.path
        if not is_origin_form(path):
            return dict(super().make_environ())
        server = self.server
        environ = request_environ(
            self.command,
            path,
            self.request_version,
            self.headers.items(),
            self.rfile,
            server=server.server_address,
            client=self.client_address or ("<local>", 0),
            software=server._server_version,
            multithread=server.multithread,
            multiprocess=server.multiprocess,
        )
        environ["werkzeug.socket"] = self.connection
        encoding = environ.get("HTTP_TRANSFER_ENCODING")
        if encoding is not None and "chunked" in parse_set_header(encoding):
            environ["wsgi.input_terminated"] = True
            environ["wsgi.input"] = ChunkedBody(self.rfile)  # type: ignore[arg-type]
        return environ

    def _run_wsgi(self) -> None:
        environ = self.make_environ()
        length = environ.get("CONTENT_LENGTH")
        size = 0
        eager = False
        body_stream: Any = None
        if environ.get("wsgi.input_terminated"):
            body_stream = environ["wsgi.input"]  # chunked request: werkzeug dechunks it
        else:
            try:
                size = max(int(length) if length else 0, 0)
            except ValueError:
                size = 0
            # A small body is read at once (below) and handed over in memory: a BytesIO reads
            # in C, where werkzeug's LimitedStream runs several Python calls per read.
            eager = size <= EAGER_BODY_LIMIT
            if not eager:
                body_stream = SizedBody(self.rfile, size)  # type: ignore[arg-type]
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
            """Send status and headers, and ``body`` with them if it can be; True if it was.

            The head is what ``send_response`` and ``send_header`` write (status line,
            ``Server``, ``Date``, the app's headers), made as one string and encoded once."""
            status: str = state["status"]
            code_str, _, msg = status.partition(" ")
            code = int(code_str)
            if self.request_version == "HTTP/0.9":  # no head at all (the stock rule)
                if self.access_log is not None:
                    self.log_request(code)
                state["sent"] = True
                return False
            lines = [
                f"{self.protocol_version} {code} {msg}\r\n"
                f"Server: {self.version_string()}\r\nDate: {self.date_time_string()}\r\n"
            ]
            has_length = False
            for key, value in state["headers"]:
                lower = key.lower()
                if lower in _HOP_BY_HOP:
                    continue
                if lower == "content-length":
                    has_length = True
                lines.append(f"{key}: {value}\r\n")
            no_body = self.command == "HEAD" or code < 200 or code in (204, 304)
            if not has_length and not no_body:
                state["chunked"] = True
                lines.append("Transfer-Encoding: chunked\r\n")
            lines.append("\r\n")
            head = "".join(lines).encode("latin-1", "strict")
            # Logged once the head is known to be sendable: an app's header that is not (a
            # character outside latin-1) ends in the 500 below, which logs its own line.
            if self.access_log is not None:
                self.log_request(code)
            state["sent"] = True
            if body and not state["chunked"]:
                # A small body in the same write: one packet, not two (the client would
                # otherwise wake up for the headers and again for the body).
                self.wfile.write(head + body)
                return True
            self.wfile.write(head)
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
            if eager:
                data = self.rfile.read(size) if size else b""
                if len(data) < size:  # the client went away before its body was complete
                    # Closed without an answer, as nginx does when a client closes its side
                    # before its body is complete ("client prematurely closed connection"):
                    # whoever half-closed gets an end of stream at once, never a wait.
                    self.close_connection = True
                    return
                body_stream = environ["wsgi.input"] = io.BytesIO(data)
            result = self.server.app(environ, start_response)
            if getattr(body_stream, "cut_short", False):
                # The app read a body that ended early (it may have answered that with an
                # error of its own): the client is answered as a short small body is.
                if hasattr(result, "close"):
                    result.close()
                self.close_connection = True
                return
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
            while not eager and body_stream.read(65536):
                pass
            self.wfile.flush()
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        except Exception:
            self.close_connection = True
            if getattr(body_stream, "cut_short", False):
                return  # the body ended early: no answer, as above (not the server's fault)
            traceback.print_exc(file=sys.stderr)
            if not state["sent"]:
                body = b"Internal Server Error"
                self.send_response(500)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)


class SizedBody(LimitedStream):
    """A body of ``Content-Length`` bytes read as the app asks for it; ``cut_short`` once a
    read found the connection closed (or timed out) before the last byte."""

    cut_short = False

    def on_disconnect(self, error: Exception | None = None) -> None:
        self.cut_short = True
        super().on_disconnect(error)


class ChunkedBody(DechunkedInput):
    """A chunked body; ``cut_short`` once a read found it ending without its last chunk or
    its chunks malformed (werkzeug raises ``OSError`` for both)."""

    cut_short = False

    def readinto(self, buf: bytearray) -> int:  # type: ignore[override]
        try:
            return super().readinto(buf)
        except OSError:
            self.cut_short = True
            raise


#: ``http.client``'s limits for a request's header block: the longest line, the most lines.
MAX_HEADER_LINE = 65536
MAX_HEADERS = 100

#: An ordinary header line, at the start of a line of the decoded header block: a name of the
#: characters the e-mail parser accepts, a colon, a value. A match never spans two lines.
_HEADER_LINE = re.compile(r"^([\x21-\x39\x3b-\x7e]+):[ \t]*([^\r\n]*)\r?\n", re.MULTILINE)


#: Response headers the server writes itself (an app's own are dropped).
_HOP_BY_HOP = frozenset({"connection", "transfer-encoding", "keep-alive"})


def _dance(text: str) -> str:
    """werkzeug's ``_wsgi_encoding_dance``: a str as the latin-1 characters of its UTF-8 bytes."""
    return text.encode().decode("latin1")


def is_origin_form(path: str) -> bool:
    """Whether a request target is an ordinary path (``/a/b?q``: no absolute URI, no ``//``
    start, no fragment), the kind :func:`request_environ` takes."""
    return path.startswith("/") and not path.startswith("//") and "#" not in path


def request_environ(
    method: str,
    path: str,
    version: str,
    headers: Iterable[tuple[str, str]],
    body: Any,
    *,
    server: tuple[Any, ...],
    client: tuple[Any, ...],
    software: str,
    multithread: bool = True,
    multiprocess: bool = False,
) -> dict[str, Any]:
    """The WSGI environ werkzeug builds for a request with an origin-form ``path``
    (:func:`is_origin_form`): the same keys and values (tested against werkzeug's), ``body``
    as ``wsgi.input``. The server calls it for every ordinary request, and so does the
    gateway's in-process transport for its own AWS calls, so both reach the app alike."""
    raw_path, _, query = path.partition("?")
    path_info = unquote(raw_path)
    if not path.isascii():
        path_info, query, path = _dance(path_info), _dance(query), _dance(path)
    elif not path_info.isascii():
        path_info = _dance(path_info)
    environ: dict[str, Any] = {
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": multithread,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
        "werkzeug.socket": None,
        "SERVER_SOFTWARE": software,
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "REQUEST_URI": path,
        "RAW_URI": path,
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": client[1],
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": version,
    }
    for name, value in headers:
        if "_" in name:
            continue
        key = name.upper().replace("-", "_")
        if "\r\n" in value:
            value = value.replace("\r\n", "")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
            if key in environ:
                value = f"{environ[key]},{value}"
        environ[key] = value
    return environ


class RequestHeaders:
    """A request's header fields in order, with the parts of ``email.message.Message``'s reading
    API that servers use (``get``, ``get_all``, ``items``, ``in``, ``[]``; names compare without
    case): the e-mail message cost more to build than the rest of reading a request."""

    __slots__ = ("_fields",)

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields

    def get(self, name: str, failobj: Any = None) -> Any:
        lower = name.lower()
        for key, value in self._fields:
            if key.lower() == lower:
                return value
        return failobj

    def get_all(self, name: str, failobj: Any = None) -> Any:
        lower = name.lower()
        values = [value for key, value in self._fields if key.lower() == lower]
        return values or failobj

    def __getitem__(self, name: str) -> str | None:
        return self.get(name)  # type: ignore[no-any-return]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __len__(self) -> int:
        return len(self._fields)

    def __iter__(self) -> Any:
        return iter([key for key, _ in self._fields])

    def keys(self) -> list[str]:
        return [key for key, _ in self._fields]

    def values(self) -> list[str]:
        return [value for _, value in self._fields]

    def items(self) -> list[tuple[str, str]]:
        return list(self._fields)

    def __str__(self) -> str:
        return "".join(f"{key}: {value}\n" for key, value in self._fields) + "\n"


def _read_headers(lines: list[bytes], message_class: Any) -> Any:
    """The header lines as :class:`RequestHeaders`, values as compat32 stores them; anything
    but ordinary lines is left to the e-mail parser (an ``HTTPMessage`` then).

    The block is decoded once and read with one ``findall`` (a match per ordinary line, each
    line ending in the one newline ``readline`` kept): a regular-expression match, two group
    reads and two decodes per line cost the request a quarter of reading its head."""
    block = b"".join(lines[:-1]).decode("iso-8859-1")
    fields = _HEADER_LINE.findall(block)
    if len(fields) != block.count("\n"):  # a line that is not an ordinary one
        text = block + lines[-1].decode("iso-8859-1")
        return email.parser.Parser(_class=message_class).parsestr(text)
    return RequestHeaders(fields)


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
        self._server_version = SERVER_SOFTWARE
        super().__init__(("127.0.0.1", port), handler)

    def log(self, type: str, message: str, *args: Any) -> None:
        print(message % args if args else message, file=sys.stderr)
