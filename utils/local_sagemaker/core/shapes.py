"""Request validation driven by the botocore service models, with AWS's message format.

The one shape validator of the local SageMaker: the control plane's JSON 1.1 operations, the
runtime's InvokeEndpointAsync headers and CreateTransformJob all go through it.

Limits, patterns and enums are read from the service model installed with botocore rather than
copied by hand, so they follow AWS when botocore is upgraded. boto3 itself only checks required
members, types and minimums on the client side; maximums, patterns and enums are the server's
job, and their errors look like::

    1 validation error detected: Value 'a_b' at 'endpointName' failed to satisfy constraint:
    Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}

(paths use lower-camel member names, list items are ``productionVariants.1.member.x``).
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

import regex  # the model's patterns use \p{L}-style classes, which `re` does not support
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape
from botocore.session import get_session

from .errors import AwsError, constraint, validation_errors


@functools.cache
def service_model(service: str = "sagemaker") -> ServiceModel:
    """The botocore service model (loaded once; it is large)."""
    return get_session().get_service_model(service)


def operation_model(operation: str, service: str = "sagemaker") -> OperationModel | None:
    """The operation's model, or None for an operation the service does not have."""
    model = service_model(service)
    if operation not in model.operation_names:
        return None
    return model.operation_model(operation)


@functools.cache
def _compiled(pattern: str) -> Any:
    try:
        return regex.compile(pattern)
    except regex.error:
        return None


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_render(v)}" for k, v in value.items()) + "}"
    return str(value)


def _pattern_text(pattern: str) -> str:
    # AWS prints the pattern anchored; botocore stores it unanchored.
    return pattern if pattern.startswith("^") else f"^{pattern}"


def _scalar_constraints(shape: Shape, value: Any) -> list[str]:
    """Constraint texts ``value`` violates for a string, number, list or map shape."""
    meta = shape.metadata
    problems: list[str] = []
    kind = shape.type_name
    if kind == "string" and isinstance(value, str):
        if "enum" in meta and value not in meta["enum"]:
            problems.append(f"Member must satisfy enum value set: [{', '.join(meta['enum'])}]")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"Member must have length less than or equal to {meta['max']}")
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"Member must have length greater than or equal to {meta['min']}")
        pattern = meta.get("pattern")
        compiled = _compiled(pattern) if pattern else None
        if compiled is not None and compiled.fullmatch(value) is None:
            problems.append(
                f"Member must satisfy regular expression pattern: {_pattern_text(pattern)}"
            )
    elif kind in ("integer", "long", "float", "double") and isinstance(value, int | float):
        if "max" in meta and value > meta["max"]:
            problems.append(f"Member must have value less than or equal to {meta['max']}")
        if "min" in meta and value < meta["min"]:
            problems.append(f"Member must have value greater than or equal to {meta['min']}")
    elif kind in ("list", "map") and isinstance(value, list | dict):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"Member must have length less than or equal to {meta['max']}")
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"Member must have length greater than or equal to {meta['min']}")
    return problems


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "structure": (dict,),
    "list": (list,),
    "map": (dict,),
    "timestamp": (int, float, str),
    "blob": (str, bytes),
}


def timestamp_seconds(value: Any) -> float | None:
    """A JSON timestamp member as epoch seconds: a number (botocore sends these), or a string
    holding a number or an ISO 8601 time; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.UTC)
        return parsed.timestamp()
    return None


def _check(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    """Append to ``errors`` every constraint ``value`` breaks; raise on a wrong type."""
    expected = _PY_TYPES.get(shape.type_name)
    if expected and (
        not isinstance(value, expected)
        or (shape.type_name in ("integer", "long", "float", "double") and isinstance(value, bool))
        or (shape.type_name == "timestamp" and timestamp_seconds(value) is None)
    ):
        raise AwsError(
            "SerializationException",
            f"Unexpected value type for '{path or 'request'}': expected {shape.type_name}",
        )
    for problem in _scalar_constraints(shape, value):
        errors.append(constraint(f"'{_render(value)}'", path, problem))
    if isinstance(shape, StructureShape):
        for name in shape.required_members:
            if value.get(name) is None:
                where = f"{path}.{_camel(name)}" if path else _camel(name)
                errors.append(constraint("null", where, "Member must not be null"))
        for name, member_value in value.items():
            member = shape.members.get(name)
            # Unknown members are ignored: a newer SDK may send members this botocore lacks.
            if member is None or member_value is None:
                continue
            _check(member, member_value, f"{path}.{_camel(name)}" if path else _camel(name), errors)
    elif isinstance(shape, ListShape):
        for index, item in enumerate(value, start=1):
            _check(shape.member, item, f"{path}.{index}.member", errors)
    elif isinstance(shape, MapShape):
        for key, item in value.items():
            key_problems = _scalar_constraints(shape.key, key)
            if key_problems:
                errors.append(
                    constraint(
                        f"'{_render(value)}'",
                        path,
                        f"Map keys must satisfy constraint: [{', '.join(key_problems)}]",
                    )
                )
            item_problems = _scalar_constraints(shape.value, item)
            if item_problems:
                errors.append(
                    constraint(
                        f"'{_render(value)}'",
                        path,
                        f"Map value must satisfy constraint: [{', '.join(item_problems)}]",
                    )
                )


def validate(
    operation: str,
    params: Any,
    service: str = "sagemaker",
    code: str = "ValidationException",
) -> None:
    """Raise ``code`` (or ``SerializationException``) if ``params`` break the operation's model.

    ``service`` is ``sagemaker`` (code ``ValidationException``) or ``sagemaker-runtime`` (code
    ``ValidationError``). An operation the model does not know is not checked here.
    """
    op = operation_model(operation, service)
    if op is None or op.input_shape is None:
        return
    if not isinstance(params, dict):
        raise AwsError("SerializationException", "The request body must be a JSON object")
    errors: list[str] = []
    _check(op.input_shape, params, "", errors)
    if errors:
        raise validation_errors(errors, code)
