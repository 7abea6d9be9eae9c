"""Default (de)serialisers of the scikit-learn serving container.

They reproduce sagemaker-containers 2.8.6 ``_encoders.py`` / ``_content_types.py`` behaviour,
including its rough edges, because learners meet exactly those on AWS:

* content types are matched as exact strings, so ``text/csv; charset=utf-8`` is "unsupported";
* CSV goes through ``csv.reader`` and ``np.array(...).squeeze()``, so a single row becomes 1-D
  and scikit-learn then refuses it ("Expected 2D array, got 1D array instead");
* a CSV cell that is not a number survives decoding as a string and fails later, at the float32
  cast, with "could not convert string to float: 'a'".
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
ANY = "*/*"
#: Requests with these exact types reach ``input_fn`` as ``str``; all others as ``bytes``.
UTF8_TYPES = (JSON, CSV)


class ClientError(Exception):
    """Wraps every error raised by a handler, as sagemaker-containers' ``error_wrapper`` does."""


class UnsupportedFormatError(Exception):
    """A content type the default handlers cannot decode or encode."""

    def __init__(self, content_type: str) -> None:
        # Same wording (and the same "to to" typo) as sagemaker-containers, because it is what
        # appears in the container's log on AWS.
        super().__init__(
            f"Content type {content_type} is not supported by this framework.\n\n"
            "            Please implement input_fn to to deserialize the request data or an "
            "output_fn to\n            serialize the response. For more information, see the "
            "SageMaker Python SDK README."
        )


# Tracebacks in the container log name exception classes by module: on AWS these two live in
# sagemaker_containers._errors, so the log lines a learner reads say so here too.
ClientError.__module__ = UnsupportedFormatError.__module__ = "sagemaker_containers._errors"


def _npy_to_numpy(data: Any) -> NDArray[Any]:
    array: NDArray[Any] = np.load(io.BytesIO(data), allow_pickle=True)
    return array


def _json_to_numpy(data: Any) -> NDArray[Any]:
    return np.array(json.loads(data))


def _csv_to_numpy(data: Any, dtype: Any = None) -> NDArray[Any]:
    # Same control flow as sagemaker-containers: with dtype None a ValueError is swallowed, so
    # non-numeric cells stay strings (and fail at the caller's float32 cast), and a ragged CSV
    # ends in an UnboundLocalError; both surface as a 500 like on AWS.
    try:
        reader = csv.reader(
            io.StringIO(data), delimiter=",", quotechar='"', doublequote=True, strict=True
        )
        array = np.array(list(reader)).squeeze()
        array = array.astype(dtype)
    except ValueError as exc:
        if dtype is not None:
            raise ClientError(f"Error while writing numpy array: {exc}. dtype is: {dtype}") from exc
    except Exception as exc:
        raise ClientError(f"Error while decoding csv: {exc}") from exc
    return array


def _array_to_npy(array_like: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array_like)
    return buffer.getvalue()


def array_to_json(array_like: Any) -> str:
    def default(value: Any) -> Any:
        if hasattr(value, "tolist"):
            return value.tolist()
        return json.JSONEncoder().default(value)

    return json.dumps(array_like, default=default)


def _array_to_csv(array_like: Any) -> str:
    array = np.array(array_like)
    if len(array.shape) == 1:
        array = np.reshape(array, (array.shape[0], 1))
    try:
        stream = io.StringIO()
        writer = csv.writer(
            stream, lineterminator="\n", delimiter=",", quotechar='"', doublequote=True, strict=True
        )
        writer.writerows(array)
        return stream.getvalue()
    except csv.Error as exc:
        raise ClientError(f"Error while encoding csv: {exc}") from exc


_DECODERS = {NPY: _npy_to_numpy, CSV: _csv_to_numpy, JSON: _json_to_numpy}
_ENCODERS: dict[str, Callable[[Any], str | bytes]] = {NPY: _array_to_npy, CSV: _array_to_csv, JSON: array_to_json}


def decode(data: Any, content_type: str) -> NDArray[Any]:
    """Decode a request body of one of the three default content types into a numpy array."""
    decoder = _DECODERS.get(content_type)
    if decoder is None:
        raise UnsupportedFormatError(content_type)
    return decoder(data)


def encode(array_like: Any, content_type: str) -> str | bytes:
    """Encode a prediction into one of the three default content types."""
    encoder = _ENCODERS.get(content_type)
    if encoder is None:
        raise UnsupportedFormatError(content_type)
    return encoder(array_like)
