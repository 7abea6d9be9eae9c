"""The SageMaker runtime's rest-json routes: InvokeEndpoint and InvokeEndpointAsync.

``POST /endpoints/{name}/invocations`` and ``POST /endpoints/{name}/async-invocations``: read the
body (bounded: a body over the limit is drained, never kept) and the headers SageMaker accepts,
hand them to the service, and answer with its result or, for any failure, the rest-json error
(``x-amzn-ErrorType`` header plus the modelled members). Never a hang, never a bare 500.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections.abc import Callable
from typing import Any

from ..core.errors import AwsError, validation_errors
from ..core.settings import MAX_INVOKE_BODY_BYTES
from ..core.shapes import validate
from ..services.async_inference.config import MAX_INLINE_BODY
from ..services.async_inference.headers import ASYNC_HEADERS
from ..services.async_inference.service import AsyncService
from ..services.realtime import Runtime

#: The runtime's two routes. The name may be empty or anything but a slash: the request still
#: reaches the runtime, which answers AWS's ValidationError for a name that breaks the model.
INVOKE_PATH = re.compile(r"^/endpoints/([^/]*)/invocations$")
ASYNC_PATH = re.compile(r"^/endpoints/([^/]*)/async-invocations$")

#: InvokeEndpoint's members sent as headers: (WSGI environ key, header name, API member). The
#: request's shape check validates the members; the service gets the headers (an empty value
#: counts as absent).
_INVOKE_HEADERS = (
    ("CONTENT_TYPE", "Content-Type", "ContentType"),
    ("HTTP_ACCEPT", "Accept", "Accept"),
    *(
        (
            "HTTP_X_AMZN_SAGEMAKER_" + key.upper().replace("-", "_"),
            "X-Amzn-SageMaker-" + key,
            member,
        )
        for key, member in (
            ("Custom-Attributes", "CustomAttributes"),
            ("Target-Model", "TargetModel"),
            ("Target-Variant", "TargetVariant"),
            ("Inference-Id", "InferenceId"),
            ("Session-Id", "SessionId"),
        )
    ),
)

Response = tuple[int, list[tuple[str, str]], bytes]


def new_request_id() -> str:
    """A random (version 4) UUID, as AWS's request ids are. From ``random``, not ``os.urandom``
    (``uuid.uuid4``): an id needs to be unique, not secret, and a system call per request is
    a measurable share of the gateway's own time. The text is ``uuid.UUID(int=..., version=4)``'s,
    made without the ``UUID`` object."""
    value = random.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


#: The version (4) and variant (RFC 4122) bits of a random UUID, as ``uuid.UUID`` sets them.
_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)


def read_body(environ: dict[str, Any], limit: int | None = None) -> tuple[bytes, bool]:
    """The request body, and False if it exceeded ``limit`` (then it is drained, not kept)."""
    stream = environ["wsgi.input"]
    if limit is None:
        data: bytes = stream.read()
        return data, True
    data = stream.read(limit + 1)
    if len(data) <= limit:
        return data, True
    while stream.read(1 << 20):
        pass
    return b"", False


def path_name(raw: str) -> str:
    """The endpoint name in a request path as the client wrote it.

    WSGI hands the path over percent-decoded and as latin-1 characters standing for its UTF-8
    bytes; a name with non-ASCII letters must reach the model's pattern check as those letters.
    """
    return raw.encode("latin-1", "replace").decode("utf-8", "replace")


#: How many valid combinations of InvokeEndpoint's URI and header members are remembered.
VALID_INVOKE_CACHE = 1024


class InvokeValidator:
    """InvokeEndpoint's URI and header members checked against the runtime model, as AWS checks
    them before it looks for the endpoint: an empty or malformed name, a non-ASCII content type,
    an over-long header get AWS's "N validation errors detected" ValidationError.

    The check depends on nothing but those values, and a client sends the same few combinations
    again and again, so a combination that passed is remembered (up to
    :data:`VALID_INVOKE_CACHE` of them) and not checked again: the shape walk was a tenth of the
    gateway's own time per request. Combinations that fail are never remembered.
    """

    def __init__(self) -> None:
        self._valid: set[tuple[str | None, ...]] = set()
        self._lock = threading.Lock()

    def check(self, name: str, environ: dict[str, Any]) -> None:
        get = environ.get
        values = (name, *[get(key) or None for key, _, _ in _INVOKE_HEADERS])
        if values in self._valid:
            return
        params: dict[str, Any] = {"EndpointName": name, "Body": b""}
        for (_, _, member), value in zip(_INVOKE_HEADERS, values[1:], strict=True):
            if value:
                params[member] = path_name(str(value))
        validate("InvokeEndpoint", params, service="sagemaker-runtime", code="ValidationError")
        with self._lock:
            if len(self._valid) >= VALID_INVOKE_CACHE:
                self._valid.clear()
            self._valid.add(values)


def error_response(err: AwsError, request_id: str) -> Response:
    """rest-json error: ``x-amzn-ErrorType`` header plus the modelled members in the body."""
    body: dict[str, Any] = {"Message": err.message, **err.fields}
    if err.code != "ModelError":
        body = {"message": err.message}
    return (
        err.status,
        [
            ("x-amzn-ErrorType", err.code),
            ("x-amzn-RequestId", request_id),
            ("Content-Type", "application/json"),
        ],
        json.dumps(body).encode(),
    )


def _answer(request_id: str, serve: Callable[[], Response]) -> Response:
    """``serve()``'s response, or the rest-json error for whatever it raised."""
    try:
        return serve()
    except AwsError as err:
        return error_response(err, request_id)
    except Exception as exc:  # our bug: answer like AWS's InternalFailure, never hang
        return error_response(_internal_failure(exc), request_id)


def _internal_failure(exc: Exception) -> AwsError:
    return AwsError("InternalFailure", f"{type(exc).__name__}: {exc}", 500)


class RuntimeRoutes:
    """The runtime's two operations, on the real-time and asynchronous services."""

    def __init__(self, runtime: Runtime, async_service: AsyncService) -> None:
        self.runtime = runtime
        self.async_service = async_service
        self.validator = InvokeValidator()

    def invoke(self, environ: dict[str, Any], name: str) -> Response:
        """InvokeEndpoint. Its errors are answered as :func:`_answer` answers them, written out
        here: this is the route whose every request pays for each call it makes."""
        request_id = new_request_id()
        try:
            name = path_name(name)
            self.validator.check(name, environ)
            body, fits = read_body(environ, MAX_INVOKE_BODY_BYTES)
            if not fits:
                # FIDELITY runtime.oversize-request UNCONFIRMED: a real-time request body over 6 MB
                #   local: ValidationError "Request <request id> has oversize body."
                #   source: aws/sagemaker-python-sdk#4271 quotes this text for a serverless
                #     endpoint (2023); in 2018 real-time endpoints answered 413 "HTTP content
                #     length exceeded 5246976 bytes." (aws/sagemaker-python-sdk#171).
                #   why: the newer text comes from the runtime front end both kinds share.
                #   notice: the error (and its HTTP status) can differ on AWS.
                raise AwsError("ValidationError", f"Request {request_id} has oversize body.")
            clean = {}
            for environ_key, header, _ in _INVOKE_HEADERS:
                value = environ.get(environ_key)
                if value:
                    clean[header] = value
            clean["x-local-request-id"] = request_id  # for errors that quote it; not forwarded
            status, out_headers, payload = self.runtime.invoke(name, clean, body)
            out_headers.append(("x-amzn-RequestId", request_id))
            return status, out_headers, payload
        except AwsError as err:
            return error_response(err, request_id)
        except Exception as exc:  # our bug: answer like AWS's InternalFailure, never hang
            return error_response(_internal_failure(exc), request_id)

    def invoke_async(self, environ: dict[str, Any], name: str) -> Response:
        """InvokeEndpointAsync: validate, queue, answer 202 at once."""
        request_id = new_request_id()

        def serve() -> Response:
            body, fits = read_body(environ, MAX_INLINE_BODY)
            if not fits:
                # FIDELITY runtime.async-oversize-body UNCONFIRMED: an inline async body over 128,000 bytes
                #   local: ValidationError "1 validation error detected: Value at 'body' failed to
                #     satisfy constraint: Member must have length less than or equal to 128000".
                #   source: the limit is in botocore's model of InvokeEndpointAsync (Body, max
                #     128000) and the API reference ("The inline payload can be up to 128,000
                #     bytes"); the error's code and text are not on record.
                #   why: the limit is a modelled constraint, answered as the runtime answers others.
                #   notice: the error's code, text and HTTP status can differ on AWS.
                raise validation_errors(
                    [
                        "Value at 'body' failed to satisfy constraint: Member must have length "
                        f"less than or equal to {MAX_INLINE_BODY}"
                    ],
                    code="ValidationError",
                )
            headers = {}
            for header in ASYNC_HEADERS:
                value = environ.get("HTTP_" + header.upper().replace("-", "_"))
                if value is not None:
                    headers[header] = value
            validate(
                "InvokeEndpointAsync",
                {"EndpointName": path_name(name)},
                service="sagemaker-runtime",
                code="ValidationError",
            )
            return self.async_service.invoke_async(path_name(name), headers, body, request_id)

        return _answer(request_id, serve)
