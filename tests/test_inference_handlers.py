"""code/inference.py, called the way the scikit-learn container calls it.

The module under test is the copy inside the artifact, imported by file (see conftest.py), so
these tests exercise exactly what SageMaker would run.
"""

from __future__ import annotations

import ast
import json
import shutil
import sys

import numpy as np
import pytest

from utils import data
from utils.artifact import HANDLER_SOURCE, import_handlers
from utils.model import build_pipeline

EXPECTED_20 = "expected 20 columns in documented order"


@pytest.fixture(scope="module")
def apps():
    return data.generate_applications(5, seed=21)


@pytest.fixture(scope="module")
def csv_body(apps):
    return data.to_csv_rows(apps)


def call(handlers, model, body, content_type="text/csv", accept="application/json"):
    frame = handlers.input_fn(body, content_type)
    return handlers.output_fn(handlers.predict_fn(frame, model), accept)


# --- the script stands alone -----------------------------------------------------------------


def test_imports_only_what_the_container_has():
    allowed = set(sys.stdlib_module_names) | {"numpy", "pandas", "sklearn", "joblib"}
    imported = set()
    for node in ast.walk(ast.parse(HANDLER_SOURCE.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert imported <= allowed, imported - allowed
    assert "utils" not in imported


def test_column_contract_matches_utils(handlers):
    assert handlers.FEATURE_COLUMNS == data.FEATURE_COLUMNS
    assert handlers.NUMERIC_COLUMNS == data.NUMERIC_COLUMNS
    assert handlers.LABEL == data.LABEL
    assert handlers.POSITIVE_CLASS == data.POSITIVE_CLASS
    assert handlers.ID_COLUMN == data.ID_COLUMN


# --- model_fn --------------------------------------------------------------------------------


def test_model_fn_loads_the_pipeline(served_model, trained, apps):
    np.testing.assert_array_equal(
        served_model.predict_proba(apps[data.FEATURE_COLUMNS]),
        trained.pipeline.predict_proba(apps[data.FEATURE_COLUMNS]),
    )


def test_model_fn_refuses_another_scikit_learn(handlers, model_dir, monkeypatch):
    monkeypatch.setattr(handlers, "running_scikit_learn_version", lambda: "1.5.0")
    with pytest.raises(handlers.ModelLoadError) as raised:
        handlers.model_fn(str(model_dir))
    message = str(raised.value)
    assert message.startswith(
        "scikit-learn version mismatch: this model was trained with "
        "scikit-learn 1.4.2, but this container runs scikit-learn 1.5.0."
    )
    assert "sagemaker-scikit-learn:1.4-2-py312-cpu-py3" in message


def test_model_fn_reads_the_recorded_version(model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    versions = json.loads((copy / "versions.json").read_text())
    (copy / "versions.json").write_text(json.dumps({**versions, "scikit-learn": "1.2.1"}))
    module = import_handlers(copy)
    with pytest.raises(module.ModelLoadError, match=r"trained with scikit-learn 1\.2\.1, but"):
        module.model_fn(str(copy))


def test_model_fn_needs_the_recorded_version(model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    versions = json.loads((copy / "versions.json").read_text())
    del versions["scikit-learn"]
    (copy / "versions.json").write_text(json.dumps(versions))
    module = import_handlers(copy)
    with pytest.raises(module.ModelLoadError, match="does not say which scikit-learn"):
        module.model_fn(str(copy))


def test_the_first_bad_cell_is_reported(handlers, apps):
    body = apps.head(3).drop(columns="application_id").astype(object)
    body.loc[1, "age_in_years"] = "old"
    body.loc[2, "purpose"] = ""
    body.loc[1, "credit_amount"] = "lots"
    assert raises(handlers, body.to_csv(header=False, index=False)) == (
        "row 2, column 5 (credit_amount) must be a number, got 'lots'"
    )


def test_model_fn_explains_a_nested_archive(model_dir, tmp_path):
    nested = tmp_path / "opt-ml-model"
    shutil.copytree(model_dir, nested / "model")
    module = import_handlers(nested / "model")
    with pytest.raises(module.ModelLoadError) as raised:
        module.model_fn(str(nested))
    message = str(raised.value)
    assert message.startswith("versions.json not found at the root of the model archive.")
    assert "model/model.joblib" in message and "tar from inside the folder" in message


@pytest.mark.filterwarnings("ignore:.*L-BFGS-B:DeprecationWarning")
def test_model_fn_checks_the_input_columns(handlers, trained):
    wrong = build_pipeline().fit(trained.x_test.iloc[:, ::-1], trained.y_test)
    with pytest.raises(handlers.ModelLoadError, match="different input columns"):
        handlers.check_model_inputs(wrong)


# --- input_fn --------------------------------------------------------------------------------


def test_csv_many_rows(handlers, served_model, csv_body, trained, apps):
    body, content_type = call(handlers, served_model, csv_body)
    assert content_type == "application/json"
    predictions = json.loads(body)["predictions"]
    expected = trained.probability_of_default(apps)
    assert [p["probability_of_default"] for p in predictions] == [
        round(float(p), 4) for p in expected
    ]


def test_csv_one_row(handlers, csv_body):
    frame = handlers.input_fn(csv_body.splitlines()[0], "text/csv")
    assert frame.shape == (1, 20) and list(frame.columns) == data.FEATURE_COLUMNS


@pytest.mark.parametrize("encode", [str, str.encode, lambda s: bytearray(s.encode())])
def test_csv_body_as_text_or_bytes(handlers, csv_body, encode):
    assert handlers.input_fn(encode(csv_body), "text/csv").shape == (5, 20)


def test_csv_tolerates_crlf_blank_lines_bom_and_spaces(handlers, csv_body, apps):
    messy = "\ufeff" + csv_body.replace("\n", "\r\n") + "\r\n\r\n"
    messy = messy.replace(",", ", ", 1)
    frame = handlers.input_fn(messy.encode("utf-8"), "text/csv")
    assert frame.shape == (5, 20)
    assert frame.iloc[0, 1] == apps.iloc[0]["duration_in_month"]


def test_csv_with_charset_parameter(handlers, csv_body):
    assert handlers.input_fn(csv_body, "text/csv; charset=utf-8").shape == (5, 20)
    latin = csv_body.replace("none", "nöne", 1).encode("latin-1")
    assert handlers.input_fn(latin, "Text/CSV; charset=ISO-8859-1").shape == (5, 20)


def test_csv_parses_numbers_and_text(handlers, csv_body, apps):
    frame = handlers.input_fn(csv_body, "text/csv")
    for column in data.NUMERIC_COLUMNS:
        assert frame[column].tolist() == apps[column].astype(float).tolist()
    assert frame["telephone"].tolist() == apps["telephone"].tolist()  # quoted commas survive


def test_json_one_object_and_list(handlers, served_model, apps):
    records = data.to_json_records(apps)
    one = json.loads(call(handlers, served_model, json.dumps(records[0]), "application/json")[0])
    many = json.loads(
        call(handlers, served_model, json.dumps(records).encode(), "application/json")[0]
    )
    assert len(one["predictions"]) == 1 and len(many["predictions"]) == 5
    assert one["predictions"][0] == many["predictions"][0]
    assert set(one["predictions"][0]) == {"probability_of_default", "decision"}


def test_json_same_answer_as_csv(handlers, served_model, apps, csv_body):
    from_json = call(
        handlers, served_model, json.dumps(data.to_json_records(apps)), "application/json"
    )
    assert from_json == call(handlers, served_model, csv_body, "text/csv")


def test_json_without_content_type_and_with_extra_fields(handlers, served_model, apps):
    records = apps.head(2).to_dict(orient="records")  # includes application_id
    for record in records:
        record["note"] = "ignored"
    body = json.loads(call(handlers, served_model, json.dumps(records), None)[0])
    assert [p["application_id"] for p in body["predictions"]] == ["APP-0000001", "APP-0000002"]
    assert list(body["predictions"][0]) == ["application_id", "probability_of_default", "decision"]


def test_records_without_an_id_answer_with_none(handlers, served_model, apps):
    records = apps.head(3).to_dict(orient="records")
    del records[1]["application_id"]
    json_body, _ = call(handlers, served_model, json.dumps(records), "application/json")
    assert [p["application_id"] for p in json.loads(json_body)["predictions"]] == [
        "APP-0000001",
        None,
        "APP-0000003",
    ]
    csv_body, _ = call(handlers, served_model, json.dumps(records), "application/json", "text/csv")
    assert [line.split(",")[0] for line in csv_body.splitlines()] == [
        "APP-0000001",
        "",
        "APP-0000003",
    ]


def test_json_numbers_as_strings_are_accepted(handlers, apps):
    record = data.to_json_records(apps)[0]
    record["credit_amount"] = str(record["credit_amount"])
    assert handlers.input_fn(json.dumps(record), "application/json")["credit_amount"].iloc[0] > 0


# --- predict_fn and output_fn ----------------------------------------------------------------


def test_decisions_follow_the_threshold(handlers, served_model, apps):
    frame = handlers.input_fn(data.to_csv_rows(data.generate_applications(400, seed=2)), "text/csv")
    prediction = handlers.predict_fn(frame, served_model)
    assert pytest.approx(1 / 6) == handlers.DECISION_THRESHOLD
    declined = prediction["probability_of_default"] >= handlers.DECISION_THRESHOLD
    assert (prediction["decision"] == np.where(declined, "decline", "approve")).all()
    assert 0 < declined.mean() < 1


def test_threshold_from_the_environment(handlers, served_model, csv_body, monkeypatch):
    frame = handlers.input_fn(csv_body, "text/csv")
    monkeypatch.setenv("DECISION_THRESHOLD", "0.999")
    assert (handlers.predict_fn(frame, served_model)["decision"] == "approve").all()
    monkeypatch.setenv("DECISION_THRESHOLD", "1.5")
    with pytest.raises(
        ValueError, match=r"DECISION_THRESHOLD=.1\.5. must be a number between 0 and 1"
    ):
        handlers.predict_fn(frame, served_model)


def test_csv_output(handlers, served_model, csv_body):
    body, content_type = call(handlers, served_model, csv_body, accept="text/csv")
    assert content_type == "text/csv"
    lines = body.split("\n")
    assert lines[-1] == "" and len(lines) == 6
    for line in lines[:-1]:
        probability, decision = line.split(",")
        assert len(probability.split(".")[1]) == 4 and 0 <= float(probability) <= 1
        assert decision in ("approve", "decline")


def test_csv_output_with_ids(handlers, served_model, apps):
    records = apps.head(2).to_dict(orient="records")
    body, _ = call(handlers, served_model, json.dumps(records), "application/json", "text/csv")
    assert body.startswith("APP-0000001,0.")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("text/csv", "text/csv"),
        ("text/csv; charset=utf-8", "text/csv"),
        ("text/html, text/csv;q=0.5, application/json;q=0.9", "application/json"),
        ("text/csv;q=0, application/json", "application/json"),
        ("text/*", "text/csv"),
        ("application/*", "application/json"),
    ],
)
def test_accept_negotiation(handlers, accept, expected):
    assert handlers.choose_response_type(accept) == expected


# --- errors, with the message a learner will read ---------------------------------------------


def raises(handlers, body, content_type="text/csv"):
    with pytest.raises(ValueError) as raised:
        handlers.input_fn(body, content_type)
    return str(raised.value)


def test_unknown_content_type(handlers, csv_body):
    with pytest.raises(handlers.UnsupportedContentTypeError) as raised:
        handlers.input_fn(csv_body, "text/plain")
    assert str(raised.value) == (
        "Content type text/plain is not supported by this script; use text/csv or application/json"
    )


def test_unknown_accept(handlers, served_model, csv_body):
    frame = handlers.predict_fn(handlers.input_fn(csv_body, "text/csv"), served_model)
    with pytest.raises(handlers.UnsupportedContentTypeError) as raised:
        handlers.output_fn(frame, "text/html")
    assert str(raised.value) == (
        "Accept type text/html is not supported by this script; use application/json or text/csv"
    )


def test_header_row(handlers, apps):
    message = raises(handlers, apps[data.FEATURE_COLUMNS].to_csv(index=False))
    assert message.startswith(
        "the first row looks like a header ('status_of_existing_checking_account', "
        "'duration_in_month', 'credit_history', ...)"
    )
    assert "send rows without a header" in message


def test_header_row_with_other_names(handlers, csv_body):
    header = ",".join(f"col{i}" for i in range(20))
    assert "looks like a header" in raises(handlers, header + "\n" + csv_body)


def test_label_column_still_in(handlers):
    row = data.load_german_credit().head(1).to_csv(header=False, index=False)
    assert raises(handlers, row) == (
        f"row 1: {EXPECTED_20}, got 21 — is the label column (creditability) still in? "
        "Drop it before sending."
    )


def test_id_column_still_in(handlers, apps):
    message = raises(handlers, apps.head(1).to_csv(header=False, index=False))
    assert message.startswith(
        f"row 1: {EXPECTED_20}, got 21 — is the application_id column still in?"
    )
    assert 'InputFilter "$[1:]"' in message


def test_unquoted_commas(handlers, apps):
    row = ",".join(str(v) for v in data.to_json_records(apps)[0].values())
    row = row.replace('"', "")
    message = raises(handlers, row + "\n")
    assert EXPECTED_20 in message and "quoted" in message


def test_too_few_columns_on_a_later_row(handlers, csv_body):
    lines = csv_body.splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]
    assert raises(handlers, "\n".join(lines)) == (
        f"row 3: {EXPECTED_20}, got 19; a value is missing "
        "(the order is FEATURE_COLUMNS in code/inference.py)"
    )


def test_non_numeric_value(handlers, apps):
    records = data.to_json_records(apps)
    records[1]["duration_in_month"] = "six"
    body = apps.head(2).drop(columns="application_id").assign(duration_in_month=[6, "six"])
    assert raises(handlers, body.to_csv(header=False, index=False)) == (
        "row 2, column 2 (duration_in_month) must be a number, got 'six'"
    )
    assert raises(handlers, json.dumps(records), "application/json") == (
        "record 2, column 2 (duration_in_month) must be a number, got 'six'"
    )


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity"])
def test_non_finite_numbers(handlers, apps, value):
    body = apps.head(1).drop(columns="application_id").astype(object)
    body["age_in_years"] = value
    assert "(age_in_years) must be a number" in raises(
        handlers, body.to_csv(header=False, index=False)
    )


def test_empty_cell(handlers, apps):
    body = apps.head(1).drop(columns="application_id").astype(object)
    body["purpose"] = ""
    assert raises(handlers, body.to_csv(header=False, index=False)) == (
        "row 1, column 4 (purpose) is empty; every input needs a value"
    )


@pytest.mark.parametrize("body", ["", "   \n", b"", "\n\n"])
def test_empty_body(handlers, body):
    assert raises(handlers, body) == "the request body is empty; send at least one application"


def test_csv_with_only_separators(handlers):
    assert "has no values" in raises(handlers, ",,,\n,,\n")


def test_invalid_utf8(handlers):
    assert "is not valid utf-8 text" in raises(handlers, b"\xff\xfe\xfa,1\n")


def test_unknown_charset(handlers, csv_body):
    assert "unknown charset 'klingon'" in raises(handlers, csv_body, "text/csv; charset=klingon")


def test_missing_json_fields(handlers, apps):
    record = data.to_json_records(apps)[0]
    del record["purpose"], record["age_in_years"]
    assert raises(
        handlers, json.dumps([data.to_json_records(apps)[1], record]), "application/json"
    ) == ("record 2 is missing 2 of the 20 required fields: purpose, age_in_years")


def test_invalid_json(handlers):
    assert raises(handlers, "{not json", "application/json").startswith(
        "the body is not valid JSON: Expecting property name enclosed in double quotes"
    )


def test_json_lines_get_a_hint(handlers, apps):
    lines = "\n".join(json.dumps(r) for r in data.to_json_records(apps.head(2)))
    message = raises(handlers, lines, "application/json")
    assert "Extra data" in message and "one JSON list" in message


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ("42", "expected a JSON object or a list of objects with named fields, got int"),
        ("[[1, 2]]", "expected a JSON object or a list of objects with named fields, got list"),
        ("[]", "the JSON list is empty"),
    ],
)
def test_json_of_the_wrong_shape(handlers, payload, fragment):
    assert fragment in raises(handlers, payload, "application/json")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("credit_amount", None, "record 1, column 5 (credit_amount) is empty"),
        ("credit_amount", True, "record 1, column 5 (credit_amount) must be a number, got True"),
        ("purpose", 3, "record 1, column 4 (purpose) must be text, got 3"),
    ],
)
def test_json_values_of_the_wrong_kind(handlers, apps, field, value, expected):
    record = data.to_json_records(apps)[0]
    record[field] = value
    assert raises(handlers, json.dumps(record), "application/json").startswith(expected)


def test_predict_fn_wants_a_dataframe(handlers, served_model):
    with pytest.raises(
        handlers.InvalidRequestError, match="expects the DataFrame that input_fn returns"
    ):
        handlers.predict_fn(np.zeros((1, 20)), served_model)
