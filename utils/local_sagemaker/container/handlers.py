"""The user-module handler chain of the scikit-learn serving container.

Mirrors aws/sagemaker-scikit-learn-container ``serving.py`` on sagemaker-containers 2.8.6
``_transformer.py``: the user's ``model_fn``/``input_fn``/``predict_fn``/``output_fn`` (or one
``transform_fn``) with the sklearn defaults for the ones it omits. The sklearn container hands its
defaults to the Transformer *as user functions*, so every handler error (an unsupported content
type included) is wrapped in ``ClientError`` and ends as a plain 500: the 415/406 branches of
sagemaker-containers are never reached. We keep that, because it is what a learner sees on AWS.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import encoders


class UserError(Exception):
    """Raised for an unusable user module (sagemaker_sklearn_container.exceptions.UserError)."""


def default_model_fn(model_dir: str) -> Any:
    """sagemaker-containers' default: there is no default way to load a scikit-learn model."""
    raise NotImplementedError(
        "\n    Please provide a model_fn implementation.\n"
        "    See documentation for model_fn at https://github.com/aws/sagemaker-python-sdk\n"
    )


def default_input_fn(input_data: Any, content_type: str) -> NDArray[Any]:
    """Decode the body; text types are cast to float32 (the sklearn container's default)."""
    array = encoders.decode(input_data, content_type)
    return array.astype(np.float32) if content_type in encoders.UTF8_TYPES else array


def default_predict_fn(input_data: Any, model: Any) -> Any:
    """``model.predict`` on the decoded data."""
    return model.predict(input_data)


@dataclass
class Reply:
    """What a handler chain produced: body bytes, status and Content-Type."""

    body: bytes
    status: int = 200
    content_type: str | None = None
    headers: dict[str, str] | None = None


def _mimetype(content_type: str) -> str:
    """Content-Type as Flask's ``Response(mimetype=...)`` renders it (charset added for text)."""
    if content_type.startswith("text/") and "charset" not in content_type:
        return f"{content_type}; charset=utf-8"
    return content_type


def default_output_fn(prediction: Any, accept: str) -> Reply:
    """Encode by Accept, as ``worker.Response(encoders.encode(prediction, accept), mimetype=accept)``."""
    body = encoders.encode(prediction, accept)
    return Reply(body.encode() if isinstance(body, str) else body, 200, _mimetype(accept))


def _wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
    """sagemaker-containers ``error_wrapper``: re-raise anything as ClientError(original)."""
    # FIDELITY container.wrapped-errors CONFIRMED: how a handler's exception reaches the container log
    #   local: every handler error (the user's or a default's) is re-raised as
    #     sagemaker_containers._errors.ClientError with the original traceback, so the log shows
    #     the handler's exception, "During handling of the above exception, another exception
    #     occurred:", and "sagemaker_containers._errors.ClientError: <message>" last; the same
    #     for endpoints and transform jobs.
    #   source: aws/sagemaker-containers v2.8.6.post2 _functions.error_wrapper
    #     (six.reraise(error_class, error_class(e), sys.exc_info()[2]) inside the except block).

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise encoders.ClientError(exc).with_traceback(exc.__traceback__)  # noqa: B904

    return wrapper


def to_reply(result: Any) -> Reply:
    """Turn whatever ``output_fn``/``transform_fn`` returned into a response, as Flask would.

    A ``(body, content_type)`` tuple becomes a response with that mimetype (sagemaker-containers
    ``Transformer.transform``); a ``Reply`` or Flask/werkzeug response passes through; a bare
    ``str``/``bytes`` gets Flask's default ``text/html; charset=utf-8``; a dict or list is
    JSON-encoded like Flask's ``jsonify``. Anything else is a TypeError, hence a 500.
    """
    if isinstance(result, Reply):
        return result
    if isinstance(result, tuple) and len(result) >= 2:
        body = result[0]
        body = body.encode() if isinstance(body, str) else bytes(body)
        return Reply(body, 200, _mimetype(str(result[1])))
    if hasattr(result, "get_data") and hasattr(result, "status_code"):
        headers = {
            k: v
            for k, v in result.headers.items()
            if k.lower() not in ("content-type", "content-length")
        }
        return Reply(
            result.get_data(), result.status_code, result.headers.get("Content-Type"), headers
        )
    if isinstance(result, str):
        return Reply(result.encode(), 200, "text/html; charset=utf-8")
    if isinstance(result, bytes | bytearray):
        return Reply(bytes(result), 200, "text/html; charset=utf-8")
    if isinstance(result, dict | list):
        return Reply((encoders.array_to_json(result) + "\n").encode(), 200, encoders.JSON)
    raise TypeError(
        "The view function did not return a valid response. The return type must be a string, "
        f"dict, list, tuple with headers or status, Response instance, or WSGI callable, but it "
        f"was a {type(result).__name__}."
    )


class Transformer:
    """Loads the model once and runs the handler chain per request."""

    def __init__(self, module: ModuleType) -> None:
        model_fn = getattr(module, "model_fn", None)
        input_fn = getattr(module, "input_fn", None)
        predict_fn = getattr(module, "predict_fn", None)
        output_fn = getattr(module, "output_fn", None)
        transform_fn = getattr(module, "transform_fn", None)
        if transform_fn and (input_fn or predict_fn or output_fn):
            raise UserError(
                "Cannot use transform_fn implementation with input_fn, predict_fn, and/or output_fn"
            )
        # The sklearn container passes its defaults as user functions: everything is wrapped.
        self._model_fn = _wrap(model_fn) if model_fn else default_model_fn
        self._transform_fn = _wrap(transform_fn) if transform_fn else None
        self._input_fn = _wrap(input_fn or default_input_fn)
        self._predict_fn = _wrap(predict_fn or default_predict_fn)
        self._output_fn = _wrap(output_fn or default_output_fn)
        self.model: Any = None

    def initialize(self, model_dir: str) -> None:
        """Load the model (called on the worker's first request, usually ``/ping``)."""
        self.model = self._model_fn(model_dir)

    def transform(self, content: Any, content_type: str, accept: str) -> Reply:
        """Run the handler chain on one request body."""
        if self._transform_fn is not None:
            return to_reply(self._transform_fn(self.model, content, content_type, accept))
        data = self._input_fn(content, content_type)
        prediction = self._predict_fn(data, self.model)
        return to_reply(self._output_fn(prediction, accept))


def import_module_named(module_name: str | None) -> ModuleType:
    """``importlib.import_module`` as the container calls it: with ``SAGEMAKER_PROGRAM`` unset
    its module name is None, and this raises what the container's import raises then."""
    return importlib.import_module(module_name)  # type: ignore[arg-type]


def load_user_module(module_dir: str, program: str) -> ModuleType:
    """Import the user's module (``SAGEMAKER_PROGRAM`` without ``.py``) from ``module_dir``."""
    module_name = program[:-3] if program.endswith(".py") else program
    if module_dir not in sys.path:
        sys.path.insert(0, module_dir)
    if not os.path.isdir(module_dir):
        raise ImportError(f"No module named '{module_name}' (no directory {module_dir})")
    return importlib.import_module(module_name)
