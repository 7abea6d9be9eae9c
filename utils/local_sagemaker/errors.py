"""AWS-style errors raised by the control plane and the runtime, and their wire format.

Every failure a client can cause ends as one of these, never as a crash or a hang: the API layers
catch :class:`AwsError` and serialise it the way the real protocol does (JSON 1.1 ``__type`` for
the control plane, ``x-amzn-ErrorType`` plus a JSON body for the rest-json runtime).
"""

from __future__ import annotations

from typing import Any


class AwsError(Exception):
    """An error with an AWS error code, an HTTP status and optional extra modelled members."""

    def __init__(self, code: str, message: str, status: int = 400, **fields: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields


def validation(message: str) -> AwsError:
    """The control plane's usual error: ``ValidationException``, HTTP 400."""
    return AwsError("ValidationException", message, 400)


def resource_limit(message: str) -> AwsError:
    """``ResourceLimitExceeded`` (HTTP 400), e.g. too many instances for the local machine."""
    return AwsError("ResourceLimitExceeded", message, 400)
