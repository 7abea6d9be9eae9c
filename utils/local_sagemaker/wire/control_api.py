"""The SageMaker control plane's wire protocol: JSON 1.1 requests in, JSON responses out.

``POST /`` with ``X-Amz-Target: SageMaker.<Operation>``: the body is validated against the
botocore model (the one shape validator, :mod:`...core.shapes`), the operation runs
(:mod:`.endpoint_operations`, :mod:`.transform_operations`), and its result is answered as JSON.
Errors become ``{"__type": code, "message": text}`` with their HTTP status; a failure of ours is
an AWS-style 500, never a dropped connection. How to add an operation: ARCHITECTURE.md.
"""

from __future__ import annotations

import json

from ..core.errors import AwsError
from ..core.shapes import operation_model, validate
from .control_plane import ControlPlane, Handler
from .endpoint_operations import OPERATIONS as ENDPOINT_OPERATIONS
from .transform_operations import OPERATIONS as TRANSFORM_OPERATIONS

OPERATIONS: dict[str, Handler] = {**ENDPOINT_OPERATIONS, **TRANSFORM_OPERATIONS}


def handle(control: ControlPlane, target: str, body: bytes) -> tuple[int, bytes]:
    """Run one JSON 1.1 request; returns (HTTP status, JSON body). Never raises."""
    operation = target.partition(".")[2]
    try:
        handler = OPERATIONS.get(operation)
        if handler is None:
            if operation_model(operation) is None:
                raise AwsError(
                    "UnknownOperationException", f"Unknown operation {operation or target!r}."
                )
            # A real SageMaker operation this emulator does not offer: say so plainly, in the
            # words every unimplemented call gets (.unimplemented).
            raise AwsError(
                "UnknownOperationException",
                f"The local SageMaker does not implement SageMaker {operation} yet.",
            )
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise AwsError("SerializationException", "Request body is not valid JSON.") from None
        validate(operation, params)
        result = handler(control, params)
        return 200, json.dumps(result).encode()
    except AwsError as err:
        return err.status, json.dumps({"__type": err.code, "message": err.message}).encode()
    except Exception as exc:  # a bug of ours: AWS-style 500, never a dropped connection
        return 500, json.dumps(
            {"__type": "InternalFailure", "message": f"{type(exc).__name__}: {exc}"}
        ).encode()
