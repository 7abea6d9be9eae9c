"""How the gateway talks to one instance: ``POST /invocations`` and ``GET /ping``, nothing else.

Real-time, serverless, asynchronous and batch requests all reach a worker through one
:class:`InstanceClient` per instance (ARCHITECTURE.md, "Request paths"):

* **Connection pooling.** Keep-alive connections are kept per instance and reused, so a request
  pays no TCP handshake and the worker no new thread. A small request's headers and body go out
  in one write (:class:`WorkerConnection`).
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
import socket
import threading
from collections import deque
from collections.abc import Iterator, Mapping
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


@dataclass(frozen=True)
class InstanceReply:
    """The container's answer: HTTP status, headers and the whole body."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes


class WorkerConnection(http.client.HTTPConnection):
    """``HTTPConnection`` to a worker: sends the worker's secret with every request, and a small
    request's headers and body in one write.

    The stock ``_send_output`` sends them separately, so the worker wakes up for the headers and
    again for the body; one segment saves that round (TCP_NODELAY is set on the socket).
    """

    def __init__(self, host: str, port: int, secret: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._secret = secret

    def putrequest(self, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        super().putrequest(method, url, *args, **kwargs)
        self.putheader(worker_secret.HEADER, self._secret)

    def _send_output(self, message_body: Any = None, encode_chunked: bool = False) -> None:
        if (
            isinstance(message_body, bytes)
            and message_body
            and len(message_body) <= COALESCE_LIMIT
            and not encode_chunked
        ):
            self._buffer.extend((b"", message_body))  # type: ignore[attr-defined]
            msg = b"\r\n".join(self._buffer)  # type: ignore[attr-defined]
            del self._buffer[:]  # type: ignore[attr-defined]
            self.send(msg)
            return
        super()._send_output(message_body, encode_chunked)  # type: ignore[misc]


class InstanceClient:
    """The pooled HTTP client for one instance on ``127.0.0.1:<port>``; safe from any thread."""

    def __init__(self, port: int, secret: str, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        #: Sent with every request: the worker answers only the gateway (``worker_secret``).
        self.secret = secret
        self._idle: deque[WorkerConnection] = deque()
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

        Raises ``TimeoutError`` when the container does not answer within ``timeout`` seconds
        and :class:`InstanceUnreachable` when no answer can come (see the retry rule above).
        """
        send = dict(headers)
        if chunked:
            send["Transfer-Encoding"] = "chunked"
        else:
            send["Content-Length"] = str(len(body))
        for _attempt in (1, 2):
            conn, reused = self._acquire(timeout)
            try:
                if chunked:
                    conn.request(
                        "POST", "/invocations", body=_chunks(body), headers=send, encode_chunked=True
                    )
                else:
                    conn.request("POST", "/invocations", body=body, headers=send)
                response = conn.getresponse()
                data = response.read()
            except TimeoutError:
                conn.close()
                raise
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                conn.close()
                if reused:
                    continue  # a keep-alive connection the instance had closed: try a fresh one
                raise InstanceUnreachable(str(exc), connected=True) from None
            self._release(conn, not response.will_close)
            return InstanceReply(response.status, response.headers, data)
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

    def _acquire(self, timeout: float) -> tuple[WorkerConnection, bool]:
        """A keep-alive connection to the instance, and whether it was reused from the pool."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = WorkerConnection(self.host, self.port, self.secret, timeout)
            try:
                conn.connect()
            except OSError as exc:
                conn.close()
                raise InstanceUnreachable(str(exc), connected=False) from None
            assert conn.sock is not None
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return conn, False
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn, True

    def _release(self, conn: WorkerConnection, reusable: bool) -> None:
        with self._lock:
            if reusable and not self._closed:
                self._idle.append(conn)
                return
        conn.close()


def _chunks(body: bytes, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]
