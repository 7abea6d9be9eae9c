"""AWS-style errors raised by the control plane and the runtime.

Every failure a client can cause ends as one of these, never as a crash or a hang: the wire layer
catches :class:`AwsError` and serialises it the way the real protocol does (JSON 1.1 ``__type``
for the control plane, ``x-amzn-ErrorType`` plus a JSON body for the rest-json runtime).
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


def constraint(shown: str, where: str, text: str) -> str:
    """One constraint violation as AWS words it: ``Value 'x' at 'a.b' failed to satisfy ...``.

    ``shown`` is the value as AWS prints it: quoted (``'x'``), or ``null``.
    """
    return f"Value {shown} at '{where}' failed to satisfy constraint: {text}"


def validation_errors(problems: list[str], code: str = "ValidationException") -> AwsError:
    """Several constraint violations in one error: ``N validation error(s) detected: a; b``.

    The one place that builds this text. The control plane's code is ``ValidationException``;
    the runtime's is ``ValidationError``.
    """
    noun = "error" if len(problems) == 1 else "errors"
    return AwsError(code, f"{len(problems)} validation {noun} detected: " + "; ".join(problems))
