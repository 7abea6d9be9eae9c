"""How the gateway talks to one instance: ``POST /invocations`` and ``GET /ping``, nothing else.

Real-time, serverless, asynchronous and batch requests all reach a worker through one
:class:`InstanceClient` per instance (ARCHITECTURE.md, "Request paths"):

* **Connection pooling.** Keep-alive connections are kept per instance and reused, so a request
  pays no TCP handshake and the worker no new thread. A small request's headers and body go out
  in one write, and the answer is read with one buffered reader per connection
  (:class:`PooledConnection`): ``http.client`` would build a new reader and run the e-mail
  header parser for every answer, which was the largest cost of the gateway's request path
  (``benchmarks/bench_realtime.py``). The worker is this project's own server, which always
  frames its answers (``Content-Length`` or chunked, ``core/httpserver.py``).
* **The retry rule.** A request is sent again, once and on a fresh connection, only when it
  failed on a *reused* connection before any answer came: the worker had closed that idle
  connection, so the request never reached the model. Any other failure is the caller's to
  report: :class:`InstanceUnreachable` (no connection, or the worker dropped it while working)
  or ``TimeoutError`` (no answer within the caller's timeout).
* **Health checks** use a fresh connection each, with AWS's 2 s timeout per ping.
* **Only the gateway** is answered: every request carries the instance's secret
  (:mod:`.worker_secret`).
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import worker_secret
from .settings import PING_TIMEOUT

#: A request body up to this size is sent in one write with the request headers.
COALESCE_LIMIT = 64 * 1024

#: Chunk size for a body sent with chunked transfer encoding.
CHUNK_SIZE = 1 << 20


class InstanceUnreachable(ConnectionError):
    """The request did not get an answer from the instance, for a reason other than a timeout.

    ``connected`` says whether a connection was made (the worker then went away while the
    request was in progress) or not (the instance does not accept connections). The message is
    the underlying error's.
    """

    def __init__(self, message: str, connected: bool) -> None:
        super().__init__(message)
        self.connected = connected


class ReplyHeaders:
    """A reply's headers: ``get`` by name, case-insensitive (repeated headers joined by ``, ``)."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values  # lower-case name -> value

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values


@dataclass(frozen=True)
class InstanceReply:
    """The container's answer: HTTP status, headers and the whole body."""

    status: int
    headers: ReplyHeaders
    body: bytes


class WorkerConnection(http.client.HTTPConnection):
    """``HTTPConnection`` to a worker for the rare GETs (``/ping``, ``/execution-parameters``):
    sends the worker's secret with every request."""

    def __init__(self, host: str, port: int, secret: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._secret = secret

    def putrequest(self, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        super().putrequest(method, url, *args, **kwargs)
        self.putheader(worker_secret.HEADER, self._secret)


#: The longest status or header line accepted in a worker's answer, and the most header lines
#: (the limits ``http.client`` applies).
MAX_LINE = 65536
MAX_HEADERS = 100

#: Request headers the connection writes itself; a caller's own values for them are dropped.
_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class PooledConnection:
    """One keep-alive connection to a worker, for ``POST /invocations`` and nothing else.

    The request goes out in one write when it is small (headers and body); the answer is read
    through one buffered reader kept for the life of the connection.
    """

    def __init__(self, host: str, port: int, secret: str, timeout: float) -> None:
        own = {"Host": f"{host}:{port}", worker_secret.HEADER: secret}
        self._head = b"POST /invocations HTTP/1.1\r\n" + _lines(own, frozenset())
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.reader = self.sock.makefile("rb")
        except OSError:
            self.sock.close()
            raise

    def set_timeout(self, timeout: float) -> None:
        if timeout != self.timeout:
            self.sock.settimeout(timeout)
            self.timeout = timeout

    def post(self, body: bytes, block: bytes, chunked: bool) -> tuple[int, ReplyHeaders, bytes, bool]:
        """Send one request with the caller's header lines ``block`` (:func:`header_block`) and
        read its whole answer: (status, headers, body, reusable)."""
        parts = [self._head, block]
        if chunked:
            parts.append(b"Transfer-Encoding: chunked\r\n\r\n")
            self.sock.sendall(b"".join(parts))
            view = memoryview(body)
            for start in range(0, len(body), CHUNK_SIZE):
                piece = view[start : start + CHUNK_SIZE]
                self.sock.sendall(b"%x\r\n" % len(piece))
                self.sock.sendall(piece)
                self.sock.sendall(b"\r\n")
            self.sock.sendall(b"0\r\n\r\n")
        else:
            parts.append(b"Content-Length: %d\r\n\r\n" % len(body))
            if len(body) <= COALESCE_LIMIT:
                parts.append(body)
                self.sock.sendall(b"".join(parts))
            else:
                self.sock.sendall(b"".join(parts))
                self.sock.sendall(body)
        return self._read_reply()

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    # -- the answer -----------------------------------------------------------------------------

    def _read_reply(self) -> tuple[int, ReplyHeaders, bytes, bool]:
        while True:
            line = self.reader.readline(MAX_LINE + 1)
            if not line:
                # What a keep-alive connection the worker had closed looks like.
                raise http.client.RemoteDisconnected("Remote end closed connection without response")
            version, _, rest = line.partition(b" ")
            code = rest[:3]
            if not version.startswith(b"HTTP/") or len(line) > MAX_LINE or not code.isdigit():
                raise http.client.BadStatusLine(line.decode("latin-1", "replace").strip())
            status = int(code)
            values = self._read_headers()
            if not 100 <= status < 200:  # an interim answer (100 Continue) is skipped
                break
        reusable = version == b"HTTP/1.1" and values.get("connection", "").lower() != "close"
        if status in (204, 304):
            data = b""
        elif "chunked" in values.get("transfer-encoding", "").lower():
            data = self._read_chunked()
        elif "content-length" in values:
            try:
                length = int(values["content-length"])
            except ValueError:
                raise http.client.HTTPException("invalid Content-Length") from None
            data = self.reader.read(length)
            if len(data) < length:
                raise http.client.IncompleteRead(data, length - len(data))
        else:  # the answer ends when the worker closes the connection
            data = self.reader.read()
            reusable = False
        return status, ReplyHeaders(values), data, reusable

    def _read_headers(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            line = self.reader.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise http.client.LineTooLong("header line")
            if line in (b"\r\n", b"\n", b""):
                return values
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                continue  # not a header line (http.client skips these too)
            key = name.strip().lower()
            text = value.strip()
            values[key] = f"{values[key]}, {text}" if key in values else text
        raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")

    def _read_chunked(self) -> bytes:
        pieces: list[bytes] = []
        while True:
            line = self.reader.readline(MAX_LINE + 1)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise http.client.IncompleteRead(b"".join(pieces)) from None
            if size == 0:
                break
            piece = self.reader.read(size)
            if len(piece) < size:
                raise http.client.IncompleteRead(b"".join(pieces) + piece, size - len(piece))
            pieces.append(piece)
            self.reader.readline(MAX_LINE + 1)  # the CRLF after the chunk
        while self.reader.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
            pass  # trailer fields
        return b"".join(pieces)


class InvalidHeader(ValueError):
    """A request header that cannot be sent as it is: a name that is not an HTTP token, or a
    value with a line break or NUL (request smuggling) or a character outside latin-1.
    ``header`` is its name."""

    def __init__(self, message: str, header: str) -> None:
        super().__init__(message)
        self.header = header


#: An HTTP header name: one or more token characters (RFC 9110, 5.1 and 5.6.2).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

#: What may not appear in a header value (``http.client`` refuses these too).
_BAD_VALUE = re.compile(r"[\r\n\0]")

#: Header names already found to be tokens (the callers use a few fixed names).
_GOOD_NAMES: set[str] = set()


def header_block(headers: Mapping[str, str]) -> bytes:
    """The caller's headers as request header lines, without the ones the connection writes
    itself (:data:`_FRAMING`); :class:`InvalidHeader` for one that cannot be sent."""
    return _lines(headers, _FRAMING)


def _lines(headers: Mapping[str, str], skip: frozenset[str]) -> bytes:
    """``headers`` but those named in ``skip`` (lower case) as header lines, checked."""
    if not _GOOD_NAMES.issuperset(headers):
        for name in headers:
            if not _TOKEN.fullmatch(name):
                raise InvalidHeader(f"Invalid header name {name!r}", name)
        if len(_GOOD_NAMES) < 256:
            _GOOD_NAMES.update(headers)
    lines = [
        f"{name}: {value}\r\n" for name, value in headers.items() if name.lower() not in skip
    ]
    text = "".join(lines)
    # Each line ends in the one CR LF it may hold: a value with a line break or a NUL is
    # refused (one check for all headers; the names are tokens).
    count = len(lines)
    if text.count("\n") != count or text.count("\r") != count or "\0" in text:
        for name, value in headers.items():
            if _BAD_VALUE.search(value) and name.lower() not in skip:
                raise InvalidHeader(f"Invalid header value {value!r} for {name!r}", name)
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        name, bad = next(
            (n, v) for n, v in headers.items() if not _encodes(v) and n.lower() not in skip
        )
        raise InvalidHeader(f"Header value {bad!r} is not latin-1", name) from None


def _encodes(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


class InstanceClient:
    """The pooled HTTP client for one instance on ``127.0.0.1:<port>``; safe from any thread."""

    def __init__(self, port: int, secret: str, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        #: Sent with every request: the worker answers only the gateway (``worker_secret``).
        self.secret = secret
        self._idle: deque[PooledConnection] = deque()
        self._lock = threading.Lock()
        self._closed = False

    # -- the container contract -----------------------------------------------------------

    def invoke(
        self,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float,
        chunked: bool = False,
    ) -> InstanceReply:
        """One ``POST /invocations``; ``chunked`` sends the body with chunked transfer encoding.

        Raises ``TimeoutError`` when the container does not answer within ``timeout`` seconds,
        :class:`InstanceUnreachable` when no answer can come (see the retry rule above) and
        :class:`InvalidHeader`, before anything is sent, for a header that cannot be sent.
        """
        block = header_block(headers)
        for _attempt in (1, 2):
            conn, reused = self._acquire(timeout)
            try:
                status, reply_headers, data, reusable = conn.post(body, block, chunked)
            except TimeoutError:
                conn.close()
                raise
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                conn.close()
                if reused:
                    continue  # a keep-alive connection the instance had closed: try a fresh one
                raise InstanceUnreachable(str(exc), connected=True) from None
            except BaseException:
                conn.close()
                raise
            self._release(conn, reusable)
            return InstanceReply(status, reply_headers, data)
        raise InstanceUnreachable("the instance closed the connection", connected=True)

    def ping(self, timeout: float = PING_TIMEOUT) -> int:
        """One ``GET /ping`` on a fresh connection; returns the HTTP status (OSError if none)."""
        conn = WorkerConnection(self.host, self.port, self.secret, timeout)
        try:
            conn.request("GET", "/ping")
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def execution_parameters(self, timeout: float = PING_TIMEOUT) -> dict[str, Any]:
        """The container's optional ``GET /execution-parameters`` answer (batch), or ``{}``."""
        conn = WorkerConnection(self.host, self.port, self.secret, timeout)
        try:
            conn.request("GET", "/execution-parameters")
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                return {}
            answer = json.loads(data)
            return answer if isinstance(answer, dict) else {}
        except (OSError, ValueError, http.client.HTTPException):
            return {}
        finally:
            conn.close()

    def close(self) -> None:
        """Close the idle connections; connections in use close when they are given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, deque()
        for conn in idle:
            conn.close()

    # -- the pool ---------------------------------------------------------------------------

    def _acquire(self, timeout: float) -> tuple[PooledConnection, bool]:
        """A keep-alive connection to the instance, and whether it was reused from the pool."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            try:
                conn = PooledConnection(self.host, self.port, self.secret, timeout)
            except OSError as exc:
                raise InstanceUnreachable(str(exc), connected=False) from None
            return conn, False
        conn.set_timeout(timeout)
        return conn, True

    def _release(self, conn: PooledConnection, reusable: bool) -> None:
        with self._lock:
            if reusable and not self._closed:
                self._idle.append(conn)
                return
        conn.close()
