"""WSGI middleware: a request reaches the services only if it is signed with the local key.

It turns the WSGI environ into what SigV4 covers (method, the path and query as sent, the
headers), lets :class:`~.sigv4.Verifier` decide, and answers a refusal with the error AWS gives
for that service (``auth_errors``). The one exception is ``GET /_local/health``: it says whether
a local SageMaker runs here and which process it is, so ``start`` and ``status`` work before a
client has a key; it changes nothing and reveals nothing else.

The body is read only when a check needs it (its hash is signed, or it is an S3 POST form or a
signed ``aws-chunked`` body), once, and handed on to the service as it was read.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from ..core.sigv4 import HttpRequest, Refusal, Verifier
from . import auth_errors
from .request_guard import StartResponse, WSGIApp

#: The only route served without a signature.
HEALTH_PATH = "/_local/health"


class SignatureCheck:
    """Calls ``app`` for requests ``verifier`` accepts; answers the others with AWS's error."""

    def __init__(
        self, app: WSGIApp, verifier: Verifier, is_runtime_path: Callable[[str], bool]
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.is_runtime_path = is_runtime_path

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") == "GET":
            return self.app(environ, start_response)
        runtime = self.is_runtime_path(environ.get("PATH_INFO", ""))
        try:
            self.verifier.verify(http_request(environ, runtime), RequestBody(environ))
        except Refusal as refusal:
            protocol = auth_errors.protocol_of(environ, runtime)
            status, headers, body = auth_errors.refusal_response(refusal, protocol, environ)
            start_response(
                f"{status} {HTTPStatus(status).phrase}",
                [*headers, ("Content-Length", str(len(body)))],
            )
            return [body]
        return self.app(environ, start_response)


def http_request(environ: dict[str, Any], runtime_path: bool = False) -> HttpRequest:
    """The parts of a request SigV4 signs, from a WSGI environ (werkzeug's or any server's).

    The service is SageMaker's for its API (``X-Amz-Target: SageMaker.*``) and for the runtime's
    paths unless the request is signed for another service (then the gateway routes it there).
    """
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw and not raw.startswith("/"):  # an absolute URI in the request line
        raw = "/" + raw.split("://", 1)[-1].partition("/")[2]
    if raw:
        raw_path, _, raw_query = raw.partition("?")
    else:
        raw_path = quote(environ.get("PATH_INFO", "/").encode("latin-1"), safe="/~!$&'()*+,;=:@")
        raw_query = environ.get("QUERY_STRING", "")
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key[:5] == "HTTP_"
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        headers["content-length"] = environ["CONTENT_LENGTH"]
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    sagemaker = target.startswith("SageMaker.") or (
        runtime_path and auth_errors.scope_service(environ) in (None, "sagemaker")
    )
    return HttpRequest(
        method=environ.get("REQUEST_METHOD", "GET"),
        raw_path=raw_path,
        raw_query=raw_query,
        headers=headers,
        service="sagemaker" if sagemaker else None,
    )


class RequestBody:
    """The request body, read on first use and put back for the service behind the gateway."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self._environ = environ
        self._data: bytes | None = None
        self._sha256: str | None = None

    def read(self) -> bytes:
        if self._data is None:
            stream = self._environ["wsgi.input"]
            self._data = stream.read()
            # BytesIO on bytes shares the buffer: the service reads the same bytes, no copy.
            self._environ["wsgi.input"] = io.BytesIO(self._data)
        return self._data

    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = hashlib.sha256(self.read()).hexdigest()
        return self._sha256
