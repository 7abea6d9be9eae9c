"""code/inference.py answers exactly as its earlier, slower code did.

The handler once built its frame with pandas one column at a time (``.str.strip`` and
``pd.to_numeric`` per column, a fixed cost of about half a millisecond per column, paid by every
one-row request). It now parses all cells at once; this file keeps the earlier parser as the
reference and checks, on generated bodies that follow, bend and break the contract, that the two
give the same frame (the same values, down to the bits of every number) or fail with the same
message, and on batches that the predictions match to the bit. ``output_fn``, which now reads
its columns in one call each, is checked against its earlier form byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from utils import data

#: The same examples on every run, a bounded number of them, no per-example deadline.
EXAMPLES = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- the reference: the parser as it was ------------------------------------------------------


def reference_frame_from_csv(handlers: ModuleType, text: str) -> pd.DataFrame:
    """``_frame_from_csv`` before it parsed all cells at once (pandas, column by column)."""
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise handlers.InvalidRequestError(
            "the CSV body has no values; send one application per line"
        )
    if handlers._looks_like_header(rows[0]):
        shown = ", ".join(repr(cell) for cell in rows[0][:3])
        raise handlers.InvalidRequestError(
            f"the first row looks like a header ({shown}, ...): this script reads columns by "
            f"position, so send rows without a header (pandas: to_csv(header=False, index=False))"
        )
    for number, row in enumerate(rows, start=1):
        if len(row) != len(handlers.FEATURE_COLUMNS):
            raise handlers.InvalidRequestError(
                f"row {number}: {handlers._column_count_problem(row)}"
            )
    columns = handlers.FEATURE_COLUMNS
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    problems = []
    for position, column in enumerate(columns, start=1):
        values = frame[column].str.strip()
        empty = (values == "").to_numpy()
        if column in handlers.NUMERIC_COLUMNS:
            numbers = pd.to_numeric(values, errors="coerce").astype(np.float64)
            bad = ~np.isfinite(numbers.to_numpy()) & ~empty
            if bad.any():
                first = int(np.argmax(bad))
                problems.append((first, position, f"must be a number, got {values.iloc[first]!r}"))
            values = numbers
        if empty.any():
            problems.append(
                (int(np.argmax(empty)), position, "is empty; every input needs a value")
            )
        frame[column] = values
    if problems:
        row, position, problem = min(problems)
        raise handlers.InvalidRequestError(
            f"row {row + 1}, column {position} ({columns[position - 1]}) {problem}"
        )
    return frame


def reference_frame_from_records(
    handlers: ModuleType, records: list[dict[str, Any]]
) -> pd.DataFrame:
    """``_frame_from_records`` before it shared the CSV path's frame builder."""
    columns: dict[str, list[Any]] = {c: [] for c in handlers.FEATURE_COLUMNS}
    for number, record in enumerate(records, start=1):
        for position, column in enumerate(handlers.FEATURE_COLUMNS, start=1):
            value = record[column]
            place = f"record {number}, column {position} ({column})"
            if isinstance(value, str):
                value = value.strip()
            if value is None or value == "":
                raise handlers.InvalidRequestError(f"{place} is empty; every input needs a value")
            if column in handlers.NUMERIC_COLUMNS:
                number_value = handlers._as_number(value)
                if number_value is None:
                    raise handlers.InvalidRequestError(f"{place} must be a number, got {value!r}")
                value = number_value
            elif not isinstance(value, str):
                raise handlers.InvalidRequestError(f"{place} must be text, got {value!r}")
            columns[column].append(value)
    return pd.DataFrame(columns)


# --- comparing ---------------------------------------------------------------------------------


def outcome(parse: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "frame", parse(*args)
    except ValueError as error:
        return type(error).__name__, str(error)


def assert_same_outcome(got: tuple[str, Any], expected: tuple[str, Any]) -> None:
    """The same kind of outcome, and then the same frame or the same error message."""
    assert got[0] == expected[0]
    if got[0] == "frame":
        assert_same_frame(got[1], expected[1])
    else:
        assert got[1] == expected[1]


def assert_same_frame(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns) == data.FEATURE_COLUMNS
    assert got.index.equals(expected.index) and isinstance(got.index, pd.RangeIndex)
    for column in data.FEATURE_COLUMNS:
        mine, theirs = got[column].to_numpy(), expected[column].to_numpy()
        if column in data.NUMERIC_COLUMNS:
            assert got[column].dtype == np.float64 == expected[column].dtype
            # Bits, not ==: -0.0 and 0.0 are equal but not the same input.
            assert mine.view(np.int64).tolist() == theirs.view(np.int64).tolist(), column
        else:
            assert got[column].dtype == object, column
            assert [type(v) for v in mine] == [str] * len(mine)
            assert mine.tolist() == [str(v) for v in theirs], column


def assert_same_predictions(
    handlers: ModuleType, model: Any, got: pd.DataFrame, expected: pd.DataFrame
) -> None:
    mine = outcome(handlers.predict_fn, got, model)
    theirs = outcome(handlers.predict_fn, expected, model)
    assert mine[0] == theirs[0]
    if mine[0] != "frame":
        assert mine[1] == theirs[1]
        return
    probabilities = [p["probability_of_default"].to_numpy() for p in (mine[1], theirs[1])]
    assert probabilities[0].view(np.int64).tolist() == probabilities[1].view(np.int64).tolist()
    assert mine[1]["decision"].tolist() == theirs[1]["decision"].tolist()


# --- what the bodies are made of ---------------------------------------------------------------

CATEGORIES = {
    column: sorted(data.load_german_credit()[column].astype(str).unique())
    for column in data.CATEGORICAL_COLUMNS
}
SPACE = st.sampled_from(["", "", "", " ", "  ", "\t", "\u00a0", "\u2003", "\x0b"])
#: Numbers pandas reads, in the forms a client may send (integers and decimals go different
#: ways through ``pd.to_numeric``; big ones and long ones are where parsers round differently).
GOOD_NUMBER = st.one_of(
    st.integers(0, 20000).map(str),
    st.integers(10**14, 10**16).map(str),  # up to 15 digits the handler converts them itself
    st.integers(-(10**20), 10**20).map(str),
    st.floats(-1e30, 1e30).map(repr),  # larger ones overflow the scaler (in both parsers alike)
    st.floats(-1e4, 1e4).map(lambda x: f"{x:.3f}"),
    st.sampled_from(
        [
            "0",
            "-0",
            "+0",
            "-0.0",
            "00012",
            "+7",
            ".5",
            "5.",
            "1e3",
            "1E-2",
            "2.675",
            "0.1",
            "12345678901234567890",
            "99999999999999999999999",
            "1.00000000000000000001",
            "9007199254740993",
            "123456789012345678",
            "4.35",
        ]
    ),
)
BAD_NUMBER = st.sampled_from(
    [
        "1e400",
        "-1e400",
        "1_000",
        "\uff11\uff12",
        "\u0661",
        "0x10",
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        "1,5",
        "1e",
        "e3",
        "--1",
        "1.2.3",
        "",
        " ",
        "True",
        "six",
        "1 2",
    ]
)
TEXT = st.one_of(
    st.sampled_from(sorted({v for values in CATEGORIES.values() for v in values})),
    st.text(alphabet=st.sampled_from('ab ,"\t\u00a0é1.-'), max_size=8),
)


#: Per column: what a valid cell holds, and what a broken one may hold instead.
CSV_GOOD = {
    column: GOOD_NUMBER if column in data.NUMERIC_COLUMNS else st.sampled_from(CATEGORIES[column])
    for column in data.FEATURE_COLUMNS
}
CSV_WRONG = {
    column: st.one_of(BAD_NUMBER, TEXT)
    if column in data.NUMERIC_COLUMNS
    else st.one_of(TEXT, GOOD_NUMBER, st.just(""))
    for column in data.FEATURE_COLUMNS
}
BLANK_ROW = st.lists(SPACE, max_size=21)
WRONG_LENGTH = st.one_of(
    st.integers(1, 19).map(lambda n: ("cut", n)),
    st.sampled_from(["APP-0000001", "x", " "]).map(lambda v: ("first", v)),
    st.sampled_from(["good", "bad", "x", ""]).map(lambda v: ("last", v)),
)


@st.composite
def csv_row(draw: st.DrawFn, broken: bool) -> list[str]:
    wrong = draw(st.lists(st.integers(0, 19), min_size=20, max_size=20)) if broken else [1] * 20
    row = [
        draw(SPACE) + draw(CSV_WRONG[column] if flag == 0 else CSV_GOOD[column]) + draw(SPACE)
        for column, flag in zip(data.FEATURE_COLUMNS, wrong, strict=True)
    ]
    shape = draw(st.integers(0, 15)) if broken else draw(st.integers(0, 29))
    if shape == 0:
        return draw(BLANK_ROW)
    if broken and shape <= 3:
        how, value = draw(WRONG_LENGTH)
        row = row[:value] if how == "cut" else [value, *row] if how == "first" else [*row, value]
    return row


@st.composite
def csv_body(draw: st.DrawFn) -> str:
    broken = draw(st.booleans())
    rows = draw(st.lists(csv_row(broken), min_size=1, max_size=6))
    if broken and draw(st.integers(0, 9)) == 0:
        rows.insert(
            0, draw(st.sampled_from([data.FEATURE_COLUMNS, [f"col{i}" for i in range(20)]]))
        )
    buffer = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    csv.writer(buffer, quoting=quoting, lineterminator=ending).writerows(rows)
    return buffer.getvalue() + draw(st.sampled_from(["", ending, ending * 2, " "]))


JSON_GOOD = {
    column: st.one_of(st.integers(0, 20000), st.floats(-1e30, 1e30), GOOD_NUMBER)
    if column in data.NUMERIC_COLUMNS
    else st.tuples(SPACE, st.sampled_from(CATEGORIES[column])).map("".join)
    for column in data.FEATURE_COLUMNS
}
JSON_WRONG = {
    column: st.one_of(BAD_NUMBER, TEXT, st.sampled_from([None, True, False]))
    if column in data.NUMERIC_COLUMNS
    else st.one_of(TEXT, st.sampled_from([None, "", 3, 1.5, True, [], {}]))
    for column in data.FEATURE_COLUMNS
}


@st.composite
def json_record(draw: st.DrawFn, broken: bool) -> dict[str, Any]:
    wrong = draw(st.lists(st.integers(0, 19), min_size=20, max_size=20)) if broken else [1] * 20
    return {
        column: draw(JSON_WRONG[column] if flag == 0 else JSON_GOOD[column])
        for column, flag in zip(data.FEATURE_COLUMNS, wrong, strict=True)
    }


#: One body of each outcome, run besides the generated ones.
VALID_ROWS = data.to_csv_rows(data.generate_applications(2, seed=0)).splitlines()
VALID_RECORD = data.to_json_records(data.generate_applications(1, seed=0))[0]
CSV_EXAMPLES = [
    "\n".join(VALID_ROWS),
    " , ,\n\n",
    ",".join(data.FEATURE_COLUMNS) + "\n" + VALID_ROWS[0],
    VALID_ROWS[0] + ",bad",
    VALID_ROWS[0].replace(",", ", ", 3) + "\n" + VALID_ROWS[1].replace(",", ",x", 1),
    VALID_ROWS[0].split(",", 1)[0] + ", ," + VALID_ROWS[0].split(",", 2)[2],
]
JSON_EXAMPLES = [
    [VALID_RECORD, VALID_RECORD],
    [VALID_RECORD, {**VALID_RECORD, "credit_amount": "1_000"}],
    [{**VALID_RECORD, "purpose": 3}],
    [{**VALID_RECORD, "purpose": " "}],
]


def kind_of(result: tuple[str, Any]) -> str:
    kind, value = result
    if kind == "frame":
        return "frame"
    for fragment, name in [
        ("has no values", "blank"),
        ("looks like a header", "header"),
        ("expected 20 columns", "column count"),
        ("must be a number", "number"),
        ("must be text", "text"),
        ("is empty", "empty"),
    ]:
        if fragment in value:
            return name
    return value


def examples(values: list[Any], name: str) -> Any:
    """Hypothesis's ``@example`` for each of ``values`` (as argument ``name``)."""

    def decorate(test: Any) -> Any:
        for value in reversed(values):
            test = example(**{name: value})(test)
        return test

    return decorate


# --- the properties ----------------------------------------------------------------------------


def test_csv_frame_or_message_matches_the_reference(handlers):
    seen = set()

    @EXAMPLES
    @given(body=csv_body())
    @examples(CSV_EXAMPLES, "body")
    def check(body: str) -> None:
        got = outcome(handlers._frame_from_csv, body)
        expected = outcome(reference_frame_from_csv, handlers, body)
        seen.add(kind_of(got))
        assert_same_outcome(got, expected)

    check()
    # The generated bodies are worth something only if they make frames and every kind of error.
    assert seen == {"frame", "blank", "header", "column count", "number", "empty"}


def test_json_frame_or_message_matches_the_reference(handlers):
    seen = set()

    @EXAMPLES
    @given(
        records=st.booleans().flatmap(
            lambda broken: st.lists(json_record(broken), min_size=1, max_size=6)
        )
    )
    @examples(JSON_EXAMPLES, "records")
    def check(records: list[dict[str, Any]]) -> None:
        records = json.loads(json.dumps(records))  # what input_fn has after json.loads
        got = outcome(handlers._frame_from_records, records, "record")
        expected = outcome(reference_frame_from_records, handlers, records)
        seen.add(kind_of(got))
        assert_same_outcome(got, expected)

    check()
    assert seen == {"frame", "number", "text", "empty"}


@pytest.mark.parametrize("rows", [1, 10, 3000])
def test_csv_batches_match_the_reference(handlers, served_model, rows):
    frame = data.generate_applications(rows, seed=rows)
    body = data.to_csv_rows(frame).replace(",", " , ", 7)
    got, expected = handlers._frame_from_csv(body), reference_frame_from_csv(handlers, body)
    assert_same_frame(got, expected)
    assert_same_predictions(handlers, served_model, got, expected)


@pytest.mark.parametrize("rows", [1, 10, 3000])
def test_json_batches_match_the_reference(handlers, served_model, rows):
    records = data.to_json_records(data.generate_applications(rows, seed=rows))
    got = handlers._frame_from_records(records, "record")
    expected = reference_frame_from_records(handlers, records)
    assert_same_frame(got, expected)
    assert_same_predictions(handlers, served_model, got, expected)


def reference_output_fn(
    handlers: ModuleType, prediction: pd.DataFrame, accept: str
) -> tuple[str, str]:
    """``output_fn`` before it read the columns with ``tolist()``."""
    media_type = handlers.choose_response_type(accept)
    rounded = [round(float(p), 4) for p in prediction["probability_of_default"]]
    decisions = [str(d) for d in prediction["decision"]]
    ids = list(prediction["application_id"]) if "application_id" in prediction.columns else None
    if media_type == "application/json":
        predictions = [
            {"probability_of_default": p, "decision": d}
            for p, d in zip(rounded, decisions, strict=True)
        ]
        if ids is not None:
            predictions = [
                {"application_id": i, **p} for i, p in zip(ids, predictions, strict=True)
            ]
        return json.dumps({"predictions": predictions}), media_type
    lines = [f"{p:.4f},{d}" for p, d in zip(rounded, decisions, strict=True)]
    if ids is not None:
        lines = [f"{'' if i is None else i},{line}" for i, line in zip(ids, lines, strict=True)]
    return "".join(line + "\n" for line in lines), media_type


@pytest.mark.parametrize("accept", ["application/json", "text/csv"])
@pytest.mark.parametrize("with_ids", [False, True])
def test_output_matches_the_reference(handlers, served_model, accept, with_ids):
    records = data.generate_applications(3000, seed=4).to_dict(orient="records")
    records = [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()} for r in records
    ]
    for record in records[::7]:
        record.pop("application_id")
    if not with_ids:
        for record in records:
            record.pop("application_id", None)
    prediction = handlers.predict_fn(
        handlers.input_fn(json.dumps(records), "application/json"), served_model
    )
    assert handlers.output_fn(prediction, accept) == reference_output_fn(
        handlers, prediction, accept
    )
