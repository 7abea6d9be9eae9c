"""Endpoint workers answer only the gateway: a per-worker secret in a request header.

Each worker listens on its own 127.0.0.1 port, which any local user and any web page could
otherwise reach, around the gateway's checks. The gateway gives every worker a random secret at
start (in its environment, which only the same user can read) and sends it with every request
(``/ping``, ``/invocations``, ``/execution-parameters``); the worker compares it in constant time
and answers anything else with 403 before the model is loaded or called.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable, Iterable
from typing import Any

#: The request header carrying the secret, and the environment variable handing it to a worker.
HEADER = "X-Local-SageMaker-Worker-Secret"
ENVIRONMENT_VARIABLE = "LOCAL_SAGEMAKER_WORKER_SECRET"
_ENVIRON_KEY = "HTTP_" + HEADER.upper().replace("-", "_")

_FORBIDDEN = b"Forbidden: this model server answers only the local SageMaker's gateway.\n"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def take_from_environment() -> str:
    """The worker's secret, removed from ``os.environ`` so the model code's children never see it.

    A worker started without one refuses every request (the secret is then random and unknown).
    """
    return os.environ.pop(ENVIRONMENT_VARIABLE, "") or new_secret()


class GatewayOnly:
    """WSGI middleware for a worker: 403 unless the request carries the worker's secret."""

    def __init__(self, app: Callable[..., Iterable[bytes]], secret: str) -> None:
        self.app = app
        self._secret = secret.encode()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        offered = environ.get(_ENVIRON_KEY, "").encode()
        if not hmac.compare_digest(offered, self._secret):
            start_response(
                "403 Forbidden",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(_FORBIDDEN)))],
            )
            return [_FORBIDDEN]
        return self.app(environ, start_response)
