"""A bare HTTP relay in Python: a yardstick for what a Python process between client and worker costs.

``bench_realtime.py`` runs it beside the local SageMaker's gateway and measures both the same way
(requests in back-to-back pairs with a direct POST to the same worker), so the figure for the
gateway reads against the cost of a Python hop as such on the machine: two more process
wake-ups, reading a request, writing it on, reading the answer, writing it back. The relay does
nothing else: no signature check, no routing, no metering, no error answers, and it only knows
requests with a ``Content-Length`` body and answers framed the same way (what the benchmark
sends, and what the workers answer). It is a yardstick, not a part of the local SageMaker.

Run: ``python benchmarks/bare_relay.py WORKER_URL``, with the headers to add to every request
(the worker's secret) in ``BARE_RELAY_HEADERS`` as JSON (not on the command line, where any
local user could read them): relays every request to ``WORKER_URL``'s ``/invocations``, listens
on a free port of 127.0.0.1 and prints ``listening on <port>``; it stops when its input closes.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import urllib.parse
from typing import BinaryIO

#: Request headers passed on to the worker (the container contract's), besides the added ones.
FORWARDED = (b"content-type", b"accept")


def _read_head(reader: BinaryIO) -> tuple[bytes, dict[bytes, bytes]] | None:
    """The first line and the header fields (lower-case names) of a message; None at the end."""
    readline = reader.readline
    first = readline(65537)
    if not first:
        return None
    fields: dict[bytes, bytes] = {}
    while True:
        line = readline(65537)
        if line in (b"\r\n", b"\n", b""):
            return first, fields
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()


def _relay(client: socket.socket, host: str, port: int, added: bytes) -> None:
    """Serve one keep-alive client connection over one keep-alive connection to the worker."""
    worker = socket.create_connection((host, port))
    for sock in (client, worker):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    from_client, from_worker = client.makefile("rb"), worker.makefile("rb")
    start = b"POST /invocations HTTP/1.1\r\nHost: %s:%d\r\n" % (host.encode(), port) + added
    try:
        while (request := _read_head(from_client)) is not None:
            _, fields = request
            body = from_client.read(int(fields.get(b"content-length", b"0")))
            lines = [start]
            lines += [b"%s: %s\r\n" % (name, fields[name]) for name in FORWARDED if name in fields]
            lines.append(b"Content-Length: %d\r\n\r\n" % len(body))
            worker.sendall(b"".join(lines) + body)
            answer = _read_head(from_worker)
            if answer is None:
                return
            status, reply = answer
            data = from_worker.read(int(reply.get(b"content-length", b"0")))
            out = [status]
            if b"content-type" in reply:
                out.append(b"Content-Type: %s\r\n" % reply[b"content-type"])
            out.append(b"Content-Length: %d\r\n\r\n" % len(data))
            client.sendall(b"".join(out) + data)
    except OSError:
        pass  # the benchmark closed its connection
    finally:
        client.close()
        worker.close()


def main() -> int:
    target = urllib.parse.urlsplit(sys.argv[1])
    host, port = target.hostname or "127.0.0.1", target.port or 80
    headers = json.loads(os.environ.get("BARE_RELAY_HEADERS", "{}"))
    added = "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode("latin-1")
    listener = socket.create_server(("127.0.0.1", 0))
    print(f"listening on {listener.getsockname()[1]}", flush=True)

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_relay, args=(client, host, port, added), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()  # until the benchmark closes our input (or ends)
    listener.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
