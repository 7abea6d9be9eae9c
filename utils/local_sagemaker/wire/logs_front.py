"""CloudWatch Logs calls moto answers with another text than AWS: amended on the way out.

moto answers ``DeleteLogStream`` for a stream that does not exist, in a group that does, with
the group's text ("The specified log group does not exist."); AWS names the stream: "The
specified log stream does not exist." (the text AWS SDK users quote for a missing stream, e.g.
aws/aws-logging-dotnet#134). Every other request goes to moto untouched.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from ..core.settings import ACCOUNT_ID, REGION

#: A request handed to moto: (status, headers, body).
Answer = tuple[int, list[tuple[str, str]], bytes]

TARGET = "Logs_20140328.DeleteLogStream"
STREAM_NOT_FOUND = "The specified log stream does not exist."


def log_group_exists(name: str) -> bool:
    """Whether moto holds the log group ``name`` (the local account's region)."""
    from moto.logs.models import logs_backends

    return name in logs_backends[ACCOUNT_ID][REGION].groups


class LogsFront:
    """Wraps moto's CloudWatch Logs where its answers differ from AWS's."""

    def __init__(self, group_exists: Callable[[str], bool] = log_group_exists) -> None:
        self.group_exists = group_exists

    def handle(
        self, environ: dict[str, Any], forward: Callable[[dict[str, Any]], Answer]
    ) -> Answer | None:
        """The answer to a CloudWatch Logs request, or None to let moto answer it."""
        if environ.get("HTTP_X_AMZ_TARGET") != TARGET:
            return None
        raw = bytes(environ["wsgi.input"].read())
        environ["wsgi.input"] = io.BytesIO(raw)  # moto reads it again
        status, headers, body = forward(environ)
        if status != 400:
            return status, headers, body
        try:
            error = json.loads(body)
            group = json.loads(raw or b"{}").get("logGroupName")
        except (ValueError, AttributeError):
            return status, headers, body
        if (
            isinstance(error, dict)
            and str(error.get("__type", "")).endswith("ResourceNotFoundException")
            and isinstance(group, str)
            and self.group_exists(group)
        ):
            error["message"] = STREAM_NOT_FOUND
            body = json.dumps(error).encode()
        return status, headers, body
