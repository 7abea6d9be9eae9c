"""InvokeEndpointAsync's request headers: which ones, their members, and their checks.

The runtime model's members arrive as ``X-Amzn-SageMaker-*`` headers; they are read into the
operation's members and validated against the botocore runtime model (``RequestTTLSeconds``
60-21600, ``InvocationTimeoutSeconds`` 1-3600, ...), with AWS's message and code
``ValidationError``.
"""

from __future__ import annotations

from typing import Any

from ...core.errors import AwsError, constraint
from ...core.instance_client import InvalidHeader, header_block
from ...core.messages import header_not_sendable
from ...core.shapes import validate

#: InvokeEndpointAsync member -> the header that carries it.
MEMBER_HEADERS = {
    "ContentType": "X-Amzn-SageMaker-Content-Type",
    "Accept": "X-Amzn-SageMaker-Accept",
    "CustomAttributes": "X-Amzn-SageMaker-Custom-Attributes",
    "InferenceId": "X-Amzn-SageMaker-Inference-Id",
    "InputLocation": "X-Amzn-SageMaker-InputLocation",
    "S3OutputPathExtension": "X-Amzn-SageMaker-S3OutputPathExtension",
    "Filename": "X-Amzn-SageMaker-Filename",
    "RequestTTLSeconds": "X-Amzn-SageMaker-RequestTTLSeconds",
    "InvocationTimeoutSeconds": "X-Amzn-SageMaker-InvocationTimeoutSeconds",
}
#: The headers the gateway reads for InvokeEndpointAsync (WSGI environ names derive from them).
ASYNC_HEADERS = tuple(MEMBER_HEADERS.values())

_INTEGER_MEMBERS = ("RequestTTLSeconds", "InvocationTimeoutSeconds")

#: The headers whose values go on to the container (``Job.container_headers``).
_SENT_HEADERS = frozenset(
    MEMBER_HEADERS[m] for m in ("ContentType", "Accept", "CustomAttributes", "InferenceId")
)


def request_members(endpoint_name: str, headers: dict[str, str]) -> dict[str, Any]:
    """The InvokeEndpointAsync members the headers carry, validated against the runtime model."""
    params: dict[str, Any] = {}
    for member, header in MEMBER_HEADERS.items():
        value = headers.get(header)
        if value is None:
            continue
        if member in _INTEGER_MEMBERS:
            try:
                params[member] = int(value)
            except ValueError:
                raise AwsError(
                    "ValidationError",
                    constraint(
                        f"'{value}'",
                        member[0].lower() + member[1:],
                        "Member must be an integer",
                    ),
                ) from None
        else:
            params[member] = value
    validate(
        "InvokeEndpointAsync",
        {"EndpointName": endpoint_name, **params},
        service="sagemaker-runtime",
        code="ValidationError",
    )
    try:  # what the container will be sent, refused now rather than when the job is sent
        header_block({h: v for h, v in headers.items() if h in _SENT_HEADERS})
    except InvalidHeader as exc:
        raise header_not_sendable(exc.header) from None
    return params
