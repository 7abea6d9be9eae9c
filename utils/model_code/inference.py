"""Request handlers for the loan-approval model, run by the SageMaker scikit-learn container.

This file travels inside ``model.tar.gz`` as ``code/inference.py``. The serving container
imports it and calls, in this order:

1. ``model_fn(model_dir)`` once per worker, with the unpacked archive (``/opt/ml/model``);
2. for every request: ``input_fn(body, content_type)`` -> ``predict_fn(data, model)`` ->
   ``output_fn(prediction, accept)``.

It must stand alone: the container has the standard library, numpy, pandas, scikit-learn and
joblib, and nothing from this project.

Requests
    ``text/csv``: one application per line, **no header row**, the 20 inputs in the order of
    :data:`FEATURE_COLUMNS`. Text values containing commas must be quoted, as CSV requires.
    ``application/json``: one object, or a list of objects, with all 20 fields by name. Other
    fields are ignored, except ``application_id``, which is echoed back next to its prediction.
    A request without a Content-Type is read as JSON, as the container does.

    Content types are matched on the media type only, so ``text/csv; charset=utf-8`` works
    (the charset is used to decode the body). This is a choice of this script: the container's
    *default* handlers compare the whole header string and fail on any parameter.

Responses
    ``application/json`` (the default, also for a missing Accept or ``*/*``)::

        {"predictions": [{"probability_of_default": 0.1234, "decision": "approve"}, ...]}

    ``text/csv``: ``probability,decision`` per line, in request order, no header, e.g.
    ``0.1234,approve``. Probabilities are rounded to 4 decimals.

Decision
    ``decline`` when the probability of default is at least :data:`DECISION_THRESHOLD` (1/6),
    ``approve`` below it. The threshold comes from the cost matrix published with the German
    Credit data: approving a bad risk costs 5, declining a good one costs 1, so declining is the
    cheaper choice once ``5 * p >= 1 * (1 - p)``, that is ``p >= 1/6``. Set the environment
    variable ``DECISION_THRESHOLD`` on the model to use another value without retraining.

Errors
    Every problem raises an exception whose message says what was wrong and how to fix it.
    The container turns any exception into an HTTP 500 and logs the message; on SageMaker the
    caller sees a ``ModelError`` and the message lands in CloudWatch Logs.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import math
import os
from typing import Any

import joblib
import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: Files this script expects at the root of the unpacked model archive.
MODEL_FILE = "model.joblib"
VERSIONS_FILE = "versions.json"

#: The model inputs, in the order a ``text/csv`` row carries them (same list as utils.data).
FEATURE_COLUMNS = [
    "status_of_existing_checking_account",
    "duration_in_month",
    "credit_history",
    "purpose",
    "credit_amount",
    "savings_account_and_bonds",
    "present_employment_since",
    "installment_rate_in_percentage_of_disposable_income",
    "personal_status_and_sex",
    "other_debtors_or_guarantors",
    "present_residence_since",
    "property",
    "age_in_years",
    "other_installment_plans",
    "housing",
    "number_of_existing_credits_at_this_bank",
    "job",
    "number_of_people_being_liable_to_provide_maintenance_for",
    "telephone",
    "foreign_worker",
]
NUMERIC_COLUMNS = [
    "duration_in_month",
    "credit_amount",
    "installment_rate_in_percentage_of_disposable_income",
    "present_residence_since",
    "age_in_years",
    "number_of_existing_credits_at_this_bank",
    "number_of_people_being_liable_to_provide_maintenance_for",
]
LABEL = "creditability"
POSITIVE_CLASS = "bad"
ID_COLUMN = "application_id"

#: Decline at or above this probability of default (see the module docstring for why 1/6).
DECISION_THRESHOLD = 1 / 6
THRESHOLD_ENV_VAR = "DECISION_THRESHOLD"

CSV = "text/csv"
JSON = "application/json"
SUPPORTED_CONTENT_TYPES = (CSV, JSON)
SUPPORTED_ACCEPTS = (JSON, CSV)


class InvalidRequestError(ValueError):
    """The request body cannot be turned into model inputs."""


class UnsupportedContentTypeError(ValueError):
    """The request's Content-Type or Accept is not one this script handles."""


class ModelLoadError(RuntimeError):
    """The model archive cannot be served by this container."""


# --------------------------------------------------------------------------------------------
# model_fn: load the model, after checking it was trained with this container's scikit-learn
# --------------------------------------------------------------------------------------------


def model_fn(model_dir: str) -> Any:
    """Load the pipeline from ``model_dir``; refuse it if scikit-learn versions differ.

    The check runs *before* unpickling: a pickle from another scikit-learn may fail to load,
    or worse, load and predict differently. Because the container calls ``model_fn`` on the
    first request a worker sees (normally the ``/ping`` health check), a mismatch shows up on
    SageMaker as an endpoint that fails its health check, with this message in the logs.
    """
    versions = read_versions(model_dir)
    check_scikit_learn_version(versions)

    model = joblib.load(_file_in_model_dir(model_dir, MODEL_FILE))
    check_model_inputs(model)
    logger.info(
        "Loaded %s trained with scikit-learn %s; decision threshold %.4f",
        type(model).__name__,
        versions["scikit-learn"],
        decision_threshold(),
    )
    return model


def read_versions(model_dir: str) -> dict[str, Any]:
    """Return the ``versions.json`` the packaging step wrote next to the model."""
    path = _file_in_model_dir(model_dir, VERSIONS_FILE)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def running_scikit_learn_version() -> str:
    """The scikit-learn installed where this script runs (the serving container)."""
    import sklearn

    return sklearn.__version__


def check_scikit_learn_version(versions: dict[str, Any]) -> None:
    """Raise :class:`ModelLoadError` unless the model was trained with the running scikit-learn."""
    trained_with = versions.get("scikit-learn")
    serving_with = running_scikit_learn_version()
    if trained_with == serving_with:
        return
    if not trained_with:
        raise ModelLoadError(
            f"{VERSIONS_FILE} does not say which scikit-learn trained this model, so it cannot "
            "be checked against this container's; package the model with its versions file."
        )
    container = versions.get("target_container", {}).get("image", "a matching container")
    raise ModelLoadError(
        f"scikit-learn version mismatch: this model was trained with scikit-learn "
        f"{trained_with}, but this container runs scikit-learn {serving_with}. A pickled "
        f"model only loads reliably with the scikit-learn that saved it. Serve it with "
        f"{container} (scikit-learn {trained_with}), or retrain it with "
        f"scikit-learn {serving_with}."
    )


def check_model_inputs(model: Any) -> None:
    """Raise :class:`ModelLoadError` if the model expects other columns than this script sends."""
    trained_on = list(getattr(model, "feature_names_in_", []))
    if trained_on != FEATURE_COLUMNS:
        raise ModelLoadError(
            "the model was trained on different input columns than this script sends.\n"
            f"model:  {trained_on}\nscript: {FEATURE_COLUMNS}"
        )
    if POSITIVE_CLASS not in list(getattr(model, "classes_", [])):
        raise ModelLoadError(
            f"the model has no class {POSITIVE_CLASS!r} to score "
            f"(its classes are {list(getattr(model, 'classes_', []))})"
        )


def _file_in_model_dir(model_dir: str, name: str) -> str:
    path = os.path.join(model_dir, name)
    if os.path.isfile(path):
        return path
    found = sorted(
        os.path.relpath(os.path.join(root, f), model_dir)
        for root, _dirs, files in os.walk(model_dir)
        for f in files
    )
    raise ModelLoadError(
        f"{name} not found at the root of the model archive. Files found: {found[:20]}. "
        "Build model.tar.gz so that model.joblib, versions.json and code/inference.py sit at "
        "its top level (tar from inside the folder, not the folder itself)."
    )


# --------------------------------------------------------------------------------------------
# input_fn: request body -> DataFrame of model inputs
# --------------------------------------------------------------------------------------------


def input_fn(request_body: str | bytes, request_content_type: str | None) -> pd.DataFrame:
    """Parse a ``text/csv`` or ``application/json`` body into a DataFrame of model inputs."""
    media_type, params = parse_media_type(request_content_type or JSON)
    if media_type not in SUPPORTED_CONTENT_TYPES:
        raise UnsupportedContentTypeError(
            f"Content type {request_content_type} is not supported by this script; "
            f"use text/csv or application/json"
        )
    text = _decode(request_body, params.get("charset", "utf-8"))
    if not text.strip():
        raise InvalidRequestError("the request body is empty; send at least one application")
    if media_type == CSV:
        return _frame_from_csv(text)
    return _frame_from_json(text)


def parse_media_type(header: str) -> tuple[str, dict[str, str]]:
    """Split ``"text/csv; charset=utf-8"`` into ``("text/csv", {"charset": "utf-8"})``."""
    media_type, *raw_params = header.split(";")
    params = {}
    for raw in raw_params:
        key, _, value = raw.partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return media_type.strip().lower(), params


def _decode(body: str | bytes | bytearray | memoryview, charset: str) -> str:
    try:
        codec = codecs.lookup(charset).name
    except LookupError:
        raise InvalidRequestError(f"unknown charset {charset!r} in the Content-Type") from None
    if isinstance(body, str):
        return body.removeprefix("\ufeff")
    if not isinstance(body, bytes | bytearray | memoryview):
        raise InvalidRequestError(
            f"the request body must be text or bytes, got {type(body).__name__}"
        )
    try:
        return bytes(body).decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as error:
        raise InvalidRequestError(
            f"the request body is not valid {charset} text ({error}); send UTF-8 text"
        ) from None


def _frame_from_csv(text: str) -> pd.DataFrame:
    # A row is blank when none of its cells has a non-space character, that is, when the
    # cells joined have none (one string operation per row instead of one per cell).
    rows = [row for row in csv.reader(io.StringIO(text)) if "".join(row).strip()]
    if not rows:
        raise InvalidRequestError("the CSV body has no values; send one application per line")
    if _looks_like_header(rows[0]):
        shown = ", ".join(repr(cell) for cell in rows[0][:3])
        raise InvalidRequestError(
            f"the first row looks like a header ({shown}, ...): this script reads columns by "
            f"position, so send rows without a header (pandas: to_csv(header=False, index=False))"
        )
    for number, row in enumerate(rows, start=1):
        if len(row) != len(FEATURE_COLUMNS):
            raise InvalidRequestError(f"row {number}: {_column_count_problem(row)}")
    return _frame_from_csv_rows(rows)


#: ``str.strip`` applied to every cell of an object array, in numpy's loop.
_strip_cells = np.frompyfunc(str.strip, 1, 1)


def _frame_from_csv_rows(rows: list[list[str]]) -> pd.DataFrame:
    """Build and validate the frame from rows of 20 cells, all cells at once.

    The cells go into one numpy object array, stripped of surrounding spaces in numpy's loop;
    each number column is parsed by one ``pd.to_numeric`` call. A request of one row pays no
    pandas Series work per column (which cost about half a millisecond a column), and a
    100 MB batch stays vectorised.
    """
    cells = _strip_cells(np.array(rows, dtype=object))
    empty = cells == ""
    numbers = {}
    problems = []  # (row index, column position, message) of the first bad cell per column
    for index, column in enumerate(FEATURE_COLUMNS):
        position = index + 1
        if column in NUMERIC_COLUMNS:
            values = _parse_numbers(cells[:, index])
            bad = ~np.isfinite(values) & ~empty[:, index]
            if bad.any():
                first = int(np.argmax(bad))
                problems.append((first, position, f"must be a number, got {cells[first, index]!r}"))
            numbers[column] = values
        if empty[:, index].any():
            problems.append(
                (int(np.argmax(empty[:, index])), position, "is empty; every input needs a value")
            )
    if problems:
        row, position, problem = min(problems)
        raise InvalidRequestError(
            f"row {row + 1}, column {position} ({FEATURE_COLUMNS[position - 1]}) {problem}"
        )
    return _new_frame(cells, numbers)


def _parse_numbers(cells: np.ndarray) -> np.ndarray:
    """``pd.to_numeric(cells, errors="coerce")`` as float64, with a shortcut for plain integers.

    A column of digit strings none longer than 15 (every number column of this model's data)
    is converted with ``int``: pandas reads such a column as integers too, and every integer
    below 10**15 is exact in float64, so the values are the same, at a fraction of the cost.
    Anything else (a sign, a decimal point, an exponent, an empty or bad cell) goes to pandas.
    """
    texts = cells.tolist()
    joined = "".join(texts)
    lengths = list(map(len, texts))
    if joined.isascii() and joined.isdigit() and min(lengths) > 0 and max(lengths) <= 15:
        return np.array(list(map(int, texts)), dtype=np.float64)
    return pd.to_numeric(cells, errors="coerce").astype(np.float64)


_FEATURE_INDEX = pd.Index(FEATURE_COLUMNS)


def _new_frame(cells: np.ndarray, numbers: dict[str, np.ndarray]) -> pd.DataFrame:
    """The frame the pipeline gets: text columns of dtype object, number columns float64.

    ``cells`` holds every column as Python objects (rows x 20, the text already checked);
    ``numbers`` the parsed number columns. The text is kept ``object`` explicitly: pandas 3
    would infer its string dtype from a dict of lists, which costs time and gave JSON bodies
    other dtypes than CSV bodies (the pipeline encodes both alike).
    """
    # A view of an Index built once: building it from the list costs about a third of the frame
    # for one row under pandas 3 (a view keeps a caller's renaming off the shared Index).
    frame = pd.DataFrame(cells, columns=_FEATURE_INDEX.view(), dtype=object, copy=False)
    for column, values in numbers.items():
        frame[column] = values
    return frame


def _looks_like_header(row: list[str]) -> bool:
    """A header names columns and has no numbers; every real application has seven numbers."""
    known_names = {*FEATURE_COLUMNS, LABEL, ID_COLUMN}
    cells = [cell.strip() for cell in row]
    if any(cell.lower() in known_names for cell in cells):
        return True
    return not any(_as_number(cell) is not None for cell in cells)


def _column_count_problem(row: list[str]) -> str:
    expected, got = len(FEATURE_COLUMNS), len(row)
    message = f"expected {expected} columns in documented order, got {got}"
    if got == expected + 1:
        first, last = row[0].strip(), row[-1].strip()
        if last in ("good", "bad"):
            return f"{message} — is the label column ({LABEL}) still in? Drop it before sending."
        if _as_number(first) is None and first.upper().startswith("APP-"):
            return (
                f"{message} — is the {ID_COLUMN} column still in? Send only the model inputs "
                f'(a transform job drops a leading ID column with InputFilter "$[1:]").'
            )
        return (
            f"{message} — is the label column still in? Also check that text values "
            f"containing commas are quoted."
        )
    if got > expected:
        return f"{message}; text values containing commas must be quoted"
    return f"{message}; a value is missing (the order is FEATURE_COLUMNS in code/inference.py)"


def _frame_from_json(text: str) -> pd.DataFrame:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as error:
        hint = ""
        if error.msg == "Extra data":
            hint = (
                " Send several applications as one JSON list, not one object per line"
                " (a transform job that joins lines needs text/csv or SingleRecord)."
            )
        raise InvalidRequestError(f"the body is not valid JSON: {error}.{hint}") from None
    records = [payload] if isinstance(payload, dict) else payload
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InvalidRequestError(
            "expected a JSON object or a list of objects with named fields, "
            f"got {type(payload).__name__}"
        )
    if not records:
        raise InvalidRequestError("the JSON list is empty; send at least one application")
    for number, record in enumerate(records, start=1):
        missing = [c for c in FEATURE_COLUMNS if c not in record]
        if missing:
            raise InvalidRequestError(
                f"record {number} is missing {len(missing)} of the {len(FEATURE_COLUMNS)} "
                f"required fields: {', '.join(missing)}"
            )
    return _frame_from_records(records, where="record")


def _frame_from_records(records: list[dict[str, Any]], where: str) -> pd.DataFrame:
    """Validate each value by column kind and build the DataFrame the pipeline expects."""
    rows = []
    for number, record in enumerate(records, start=1):
        row = []
        for position, column in enumerate(FEATURE_COLUMNS, start=1):
            value = record[column]
            if isinstance(value, str):
                value = value.strip()
            if value is None or value == "":
                raise InvalidRequestError(
                    f"{where} {number}, column {position} ({column}) is empty; "
                    "every input needs a value"
                )
            if column in NUMERIC_COLUMNS:
                number_value = _as_number(value)
                if number_value is None:
                    raise InvalidRequestError(
                        f"{where} {number}, column {position} ({column}) must be a number, "
                        f"got {value!r}"
                    )
                value = number_value
            elif not isinstance(value, str):
                raise InvalidRequestError(
                    f"{where} {number}, column {position} ({column}) must be text, got {value!r}"
                )
            row.append(value)
        rows.append(row)
    cells = np.array(rows, dtype=object)
    numbers = {
        column: cells[:, index].astype(np.float64)
        for index, column in enumerate(FEATURE_COLUMNS)
        if column in NUMERIC_COLUMNS
    }
    frame = _new_frame(cells, numbers)
    if any(ID_COLUMN in record for record in records):
        ids = [record.get(ID_COLUMN) for record in records]
        # object, so a record without an ID keeps None (pandas 3 would make it NaN in a str column)
        frame.insert(0, ID_COLUMN, pd.Series(ids, index=frame.index, dtype=object))
    return frame


def _as_number(value: Any) -> float | None:
    """Return a finite float, or None when ``value`` is not one (bools are not numbers here)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------------------------
# predict_fn: DataFrame -> probability of default and decision per row
# --------------------------------------------------------------------------------------------


def predict_fn(input_data: pd.DataFrame, model: Any) -> pd.DataFrame:
    """Score each application: ``probability_of_default`` and ``decision`` (approve/decline)."""
    if not isinstance(input_data, pd.DataFrame):
        raise InvalidRequestError(
            f"predict_fn expects the DataFrame that input_fn returns, got {type(input_data).__name__}"
        )
    bad_column = list(model.classes_).index(POSITIVE_CLASS)
    probability = model.predict_proba(input_data[FEATURE_COLUMNS])[:, bad_column]
    threshold = decision_threshold()
    result = pd.DataFrame(
        {
            "probability_of_default": probability,
            "decision": np.where(probability >= threshold, "decline", "approve"),
        }
    )
    if ID_COLUMN in input_data.columns:
        ids = pd.Series(input_data[ID_COLUMN].to_numpy(), index=result.index, dtype=object)
        result.insert(0, ID_COLUMN, ids)
    return result


def decision_threshold() -> float:
    """The threshold in use: ``$DECISION_THRESHOLD`` if set, else :data:`DECISION_THRESHOLD`."""
    raw = os.environ.get(THRESHOLD_ENV_VAR)
    if raw is None or raw.strip() == "":
        return DECISION_THRESHOLD
    value = _as_number(raw)
    if value is None or not 0.0 < value < 1.0:
        raise ValueError(
            f"environment variable {THRESHOLD_ENV_VAR}={raw!r} must be a number between 0 and 1"
        )
    return value


# --------------------------------------------------------------------------------------------
# output_fn: predictions -> (body, content type)
# --------------------------------------------------------------------------------------------


def output_fn(prediction: pd.DataFrame, accept: str | None) -> tuple[str, str]:
    """Serialise predictions as JSON or CSV; returns ``(body, content_type)`` for the container."""
    media_type = choose_response_type(accept)
    # tolist(): plain Python values in one call (iterating a pandas 3 str column costs ~5 us each)
    rounded = [round(p, 4) for p in prediction["probability_of_default"].tolist()]
    decisions = [str(d) for d in prediction["decision"].tolist()]
    ids = prediction[ID_COLUMN].tolist() if ID_COLUMN in prediction.columns else None
    if media_type == JSON:
        predictions = [
            {"probability_of_default": p, "decision": d}
            for p, d in zip(rounded, decisions, strict=True)
        ]
        if ids is not None:
            predictions = [{ID_COLUMN: i, **p} for i, p in zip(ids, predictions, strict=True)]
        return json.dumps({"predictions": predictions}), JSON
    lines = [f"{p:.4f},{d}" for p, d in zip(rounded, decisions, strict=True)]
    if ids is not None:
        lines = [f"{'' if i is None else i},{line}" for i, line in zip(ids, lines, strict=True)]
    return "".join(line + "\n" for line in lines), CSV


def choose_response_type(accept: str | None) -> str:
    """Pick the response media type from an Accept header (highest q first; ``*/*`` is JSON)."""
    if accept is None or not accept.strip():
        return JSON
    offers = []
    for order, part in enumerate(accept.split(",")):
        media_type, params = parse_media_type(part)
        quality = _as_number(params.get("q", "1"))
        if quality is not None and quality > 0:  # q=0 means "not this one"
            offers.append((-quality, order, media_type))
    for _neg_q, _order, media_type in sorted(offers):
        if media_type in SUPPORTED_ACCEPTS:
            return media_type
        if media_type in ("*/*", "application/*"):
            return JSON
        if media_type == "text/*":
            return CSV
    raise UnsupportedContentTypeError(
        f"Accept type {accept} is not supported by this script; use application/json or text/csv"
    )
