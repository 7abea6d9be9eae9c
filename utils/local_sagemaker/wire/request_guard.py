"""The first check every request meets: is it addressed to us, and does it come from a web page?

The local SageMaker listens on 127.0.0.1, which every web page the learner opens can also reach:
the browser sends the requests, with the learner's network position. Two rules keep pages out
before anything else runs (signatures come next, in ``signed_requests``):

* **Host.** Only ``127.0.0.1:<port>``, ``localhost:<port>`` and ``[::1]:<port>`` are served. A
  page that makes its own domain resolve to 127.0.0.1 (DNS rebinding) sends its own name in
  ``Host`` and is refused.
* **Origin.** Browsers name the page behind a request in ``Origin`` (every cross-origin request
  but a plain GET) and, in current browsers, say in ``Sec-Fetch-Site`` whether it comes from
  another site. A request with an ``Origin`` is refused unless that origin is listed in
  ``LOCAL_SAGEMAKER_ALLOWED_ORIGINS``; one marked ``Sec-Fetch-Site: cross-site`` without an
  ``Origin`` is refused always. CORS preflights are answered only for a listed origin.

Notebooks, Voila and the SDKs send requests from Python, never from the browser, so neither rule
touches them. These refusals have no AWS counterpart (AWS is not on the learner's loopback
interface); they use the ``AccessDenied`` code of the service's protocol and say how to allow an
origin. A preflight to S3 gets S3's own answer for a bucket without CORS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from . import auth_errors
from .auth_errors import AwsAuthError

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

#: Response headers a browser page may read when its origin is allowed (the ones the SDKs read).
EXPOSED_HEADERS = (
    "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-query-error, x-amz-request-id, x-amz-id-2, "
    "x-Amzn-Invoked-Production-Variant, X-Amzn-SageMaker-Custom-Attributes, "
    "X-Amzn-SageMaker-OutputLocation, X-Amzn-SageMaker-FailureLocation, ETag, "
    "x-amz-version-id, x-amz-checksum-crc32, x-amz-checksum-crc32c, x-amz-checksum-crc64nvme, "
    "x-amz-checksum-sha1, x-amz-checksum-sha256, Content-Length, Date"
)
PREFLIGHT_MAX_AGE = "600"


class RequestGuard:
    """WSGI middleware: refuses foreign ``Host`` values and browser origins, then calls ``app``.

    ``is_runtime_path(path)`` says whether a path is one of the SageMaker runtime's, so a refusal
    there reads as the runtime's (REST-JSON) error.
    """

    def __init__(
        self,
        app: WSGIApp,
        port: int,
        allowed_origins: Iterable[str],
        is_runtime_path: Callable[[str], bool],
    ) -> None:
        self.app = app
        self.port = port
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
        if port == 80:  # clients leave the default port out of Host
            self.hosts |= {"127.0.0.1", "localhost", "[::1]"}
        self.allowed_origins = frozenset(normalise_origin(o) for o in allowed_origins)
        self.is_runtime_path = is_runtime_path

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST", "").strip().lower()
        if host not in self.hosts:
            return self._refuse(
                environ,
                start_response,
                f"The local SageMaker answers only requests addressed to 127.0.0.1:{self.port}, "
                f"localhost:{self.port} or [::1]:{self.port}; this one was addressed to "
                f"{host or 'no host'!r}. A web page can point its own name at 127.0.0.1 (DNS "
                "rebinding); such requests are refused.",
            )
        origin = environ.get("HTTP_ORIGIN")
        preflight = (
            environ.get("REQUEST_METHOD") == "OPTIONS"
            and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
        )
        if origin is not None:
            if normalise_origin(origin) not in self.allowed_origins:
                if preflight:
                    return self._refuse_preflight(environ, start_response, origin)
                return self._refuse(
                    environ,
                    start_response,
                    f"The local SageMaker does not serve web pages: this request came from a page "
                    f"of {origin}. To let that origin call it from a browser, start the local "
                    f"SageMaker with LOCAL_SAGEMAKER_ALLOWED_ORIGINS={origin} (see SECURITY.md).",
                )
            if preflight:
                return self._grant_preflight(environ, start_response, origin)
            return self.app(environ, _with_cors_headers(start_response, origin))
        if environ.get("HTTP_SEC_FETCH_SITE", "").lower() == "cross-site":
            return self._refuse(
                environ,
                start_response,
                "The local SageMaker does not serve requests that a web page of another site "
                "makes (Sec-Fetch-Site: cross-site).",
            )
        return self.app(environ, start_response)

    # -- answers --------------------------------------------------------------------------------

    def _protocol(self, environ: dict[str, Any]) -> str:
        return auth_errors.protocol_of(environ, self.is_runtime_path(environ.get("PATH_INFO", "")))

    def _refuse(
        self, environ: dict[str, Any], start_response: StartResponse, message: str
    ) -> list[bytes]:
        status, headers, body = auth_errors.local_refusal(
            "AccessDenied", message, self._protocol(environ), environ
        )
        return _send(start_response, status, headers, body)

    def _refuse_preflight(
        self, environ: dict[str, Any], start_response: StartResponse, origin: str
    ) -> list[bytes]:
        protocol = self._protocol(environ)
        if protocol == auth_errors.S3:
            # S3's answer to a preflight on a bucket without a CORS configuration.
            path = environ.get("PATH_INFO", "/").strip("/")
            error = AwsAuthError(
                "AccessForbidden",
                403,
                "CORSResponse: CORS is not enabled for this bucket.",
                (
                    ("Method", environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "")),
                    ("ResourceType", "OBJECT" if "/" in path else "BUCKET"),
                ),
            )
            status, headers, body = auth_errors.error_response(error, protocol, environ)
            return _send(start_response, status, headers, body)
        return self._refuse(
            environ,
            start_response,
            f"The local SageMaker grants no CORS preflight to {origin}; list the origin in "
            "LOCAL_SAGEMAKER_ALLOWED_ORIGINS to allow it (see SECURITY.md).",
        )

    @staticmethod
    def _grant_preflight(
        environ: dict[str, Any], start_response: StartResponse, origin: str
    ) -> list[bytes]:
        headers = [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", environ["HTTP_ACCESS_CONTROL_REQUEST_METHOD"]),
            ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE),
            ("Vary", "Origin"),
        ]
        requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
        if requested:
            headers.append(("Access-Control-Allow-Headers", requested))
        return _send(start_response, 200, headers, b"")


def normalise_origin(origin: str) -> str:
    """``HTTP://LocalHost:3000/`` -> ``http://localhost:3000`` (origins compare this way)."""
    return origin.strip().rstrip("/").lower()


def _with_cors_headers(start_response: StartResponse, origin: str) -> StartResponse:
    """Answer an allowed origin's request with CORS headers (ours only, never the service's)."""

    def wrapped(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
        kept += [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
            ("Vary", "Origin"),
        ]
        return start_response(status, kept, exc_info)

    return wrapped


def _send(
    start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes
) -> list[bytes]:
    start_response(
        f"{status} {HTTPStatus(status).phrase}", [*headers, ("Content-Length", str(len(body)))]
    )
    return [body]
