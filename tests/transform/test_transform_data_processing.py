"""JSONPath filters, JoinSource, response splitting, and the per-object pipeline."""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest

from utils.local_sagemaker.services.transform import agent, data_processing
from utils.local_sagemaker.services.transform.assembly import assemble
from utils.local_sagemaker.services.transform.data_processing import (
    DataProcessor,
    compile_jsonpath,
    split_response,
)
from utils.local_sagemaker.services.transform.errors import InvalidJsonPathError, TransformDataError
from utils.local_sagemaker.services.transform.validation import (
    TransformJobSpec,
    validate_create_transform_job,
)

ROW = ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]


# -- JSONPath ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("$", ROW),
        ("", ROW),
        ("$[0]", "c0"),
        ("$[-1]", "c6"),
        ("$[0,-1]", ["c0", "c6"]),
        ("$[1,3,5]", ["c1", "c3", "c5"]),
        ("$[1:]", ROW[1:]),
        ("$[:2]", ["c0", "c1", "c2"]),  # inclusive end
        ("$[1:4]", ["c1", "c2", "c3", "c4"]),  # "second through fifth columns"
        ("$[-2:]", ["c5", "c6"]),
        ("$[0,5:]", ["c0", "c5", "c6"]),  # API reference example
        ("$[2:100]", ROW[2:]),  # slices are clamped
        ("$[*]", ROW),
    ],
)
def test_index_paths(expr: str, expected: Any) -> None:
    assert compile_jsonpath(expr).apply(list(ROW)) == expected


def test_slice_end_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_processing, "SLICE_END_INCLUSIVE", False)
    assert compile_jsonpath("$[1:4]").apply(ROW) == ["c1", "c2", "c3"]
    assert compile_jsonpath("$[1:]").apply(ROW) == ROW[1:]


DOC = {"id": 7, "features": [1, 2, 3], "meta": {"a": 1, "b": {"c": 2}}, "SageMakerOutput": 0.4}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("$.features", [1, 2, 3]),
        ("$.meta.b.c", 2),
        ("$.features[0]", 1),
        ("$['id','SageMakerOutput']", {"id": 7, "SageMakerOutput": 0.4}),
        ('$["id"]', 7),
        ("$.meta['a','b']", {"a": 1, "b": {"c": 2}}),
        ("$.meta.['a']", 1),  # $.field1.['child1'] form from the docs
        ("$.SageMakerOutput", 0.4),
        ("$.meta.*", [1, {"c": 2}]),
        ("$['id','missing']", {"id": 7}),
    ],
)
def test_name_paths(expr: str, expected: Any) -> None:
    assert compile_jsonpath(expr).apply(DOC) == expected


@pytest.mark.parametrize(
    ("expr", "detail"),
    [
        ("$..id", "recursive descent"),
        ("$[?(@.a > 1)]", "filter and script expressions"),
        (
            "$[0:2,246:]",
            "only single range filters of format (eg: [1:5]) are supported. Format [0:2,246:] is not supported",
        ),
        ("$[::2]", "slice steps are not supported"),
        ("id", "must start with $"),
        ("$[0", "missing closing bracket"),
        ("$['a.b']", "nested children inside brackets are not supported"),
        ("$[0,'a']", "is not supported"),
        ("$.", "expected an attribute name"),
    ],
)
def test_unsupported_expressions(expr: str, detail: str) -> None:
    with pytest.raises(InvalidJsonPathError) as info:
        compile_jsonpath(expr)
    assert str(info.value).startswith(f"Invalid JsonPath: {expr}: ")
    assert detail in str(info.value)


def test_observed_aws_text_for_several_ranges() -> None:
    with pytest.raises(InvalidJsonPathError) as info:
        compile_jsonpath("$[0:2,246:]")
    assert str(info.value) == (
        "Invalid JsonPath: $[0:2,246:]: only single range filters of format (eg: [1:5]) are "
        "supported. Format [0:2,246:] is not supported"
    )


def test_index_outside_the_record_is_an_error() -> None:
    with pytest.raises(InvalidJsonPathError, match="index 9 is outside the record, which has 7"):
        compile_jsonpath("$[0,9]").apply(ROW)
    with pytest.raises(InvalidJsonPathError, match="no attribute 'nope'"):
        compile_jsonpath("$.nope").apply(DOC)
    with pytest.raises(InvalidJsonPathError, match="not an array"):
        compile_jsonpath("$[0]").apply(DOC)


# -- CSV filters and joins --------------------------------------------------------------------


def csv_processor(**kwargs: str) -> DataProcessor:
    return DataProcessor.create(content_type="text/csv", accept="text/csv", **kwargs)


def test_csv_input_filter_keeps_strings_and_quoting() -> None:
    p = csv_processor(input_filter="$[1:]")
    assert p.filter_input(b'id-1,"1,5",007,x') == b'"1,5",007,x'
    assert csv_processor().filter_input(b" raw , bytes ") == b" raw , bytes "


def test_csv_join_appends_to_the_original_row() -> None:
    p = csv_processor(input_filter="$[1:]", join_source="Input")
    assert p.finish(b"1,2,3", b"0.1,approve") == b"1,2,3,0.1,approve"
    assert csv_processor(join_source="Input").finish(b"1,2,3", b"1") == b"1,2,3,1"


def test_documented_id_column_example() -> None:
    # InputFilter "$[1:]", JoinSource Input, OutputFilter "$[0,-1]" -> "id,prediction".
    p = csv_processor(input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")
    row = b"A17,35,4200,12"
    assert p.filter_input(row) == b"35,4200,12"  # what the model sees
    assert p.finish(row, b"0.83") == b"A17,0.83"


def test_id_column_with_two_prediction_columns() -> None:
    # The prediction is "probability,decision": $[0,-1] keeps only the last column ...
    row = b"A17,35,4200,12"
    last = csv_processor(input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")
    assert last.finish(row, b"0.83,approve") == b"A17,approve"
    # ... while $[0,-2:] keeps both prediction columns.
    both = csv_processor(input_filter="$[1:]", join_source="Input", output_filter="$[0,-2:]")
    assert both.finish(row, b"0.83,approve") == b"A17,0.83,approve"


def test_output_filter_without_join_applies_to_the_prediction() -> None:
    assert csv_processor(output_filter="$[1]").finish(b"ignored", b"0.83,approve") == b"approve"


def test_output_filter_outside_joined_row_is_an_error() -> None:
    p = csv_processor(join_source="Input", output_filter="$[0,10]")
    with pytest.raises(InvalidJsonPathError, match="outside the record"):
        p.finish(b"1,2", b"0")


def test_header_row_goes_through_like_any_record() -> None:
    p = csv_processor(input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")
    assert p.filter_input(b"id,age,income") == b"age,income"
    assert p.finish(b"id,age,income", b"label") == b"id,label"


# -- JSON / JSON Lines ------------------------------------------------------------------------


def jsonl_processor(**kwargs: str) -> DataProcessor:
    return DataProcessor.create(
        content_type="application/jsonlines", accept="application/jsonlines", **kwargs
    )


def test_json_object_join_adds_sagemaker_output() -> None:
    p = jsonl_processor(join_source="Input")
    assert p.finish(b'{"key":1}', b'{"label":1}') == b'{"key":1,"SageMakerOutput":{"label":1}}'


def test_json_non_object_join_is_wrapped() -> None:
    p = jsonl_processor(join_source="Input")
    assert p.finish(b"[1,2,3]", b"0.5") == b'{"SageMakerInput":[1,2,3],"SageMakerOutput":0.5}'


def test_json_reserved_key_is_overwritten() -> None:
    p = jsonl_processor(join_source="Input")
    assert p.finish(b'{"SageMakerOutput":"old","a":1}', b"2") == b'{"SageMakerOutput":2,"a":1}'


def test_json_documented_id_attribute_example() -> None:
    p = jsonl_processor(
        input_filter="$.features", join_source="Input", output_filter="$['id','SageMakerOutput']"
    )
    record = b'{"id":"A17","features":[35,4200],"note":"x"}'
    assert p.filter_input(record) == b"[35,4200]"
    assert p.finish(record, b'{"score":0.8}') == b'{"id":"A17","SageMakerOutput":{"score":0.8}}'


def test_json_errors_are_clear() -> None:
    p = jsonl_processor(input_filter="$.features")
    with pytest.raises(TransformDataError, match="record 3 is not valid JSON"):
        p.filter_input(b"{nope", index=2)


def test_unsupported_path_fails_when_the_processor_is_built() -> None:
    with pytest.raises(InvalidJsonPathError):
        jsonl_processor(output_filter="$..x")


# -- splitting responses ----------------------------------------------------------------------


def test_split_response_lines() -> None:
    assert split_response(b"0\n1\n1\n", 3, "text/csv") == [b"0", b"1", b"1"]
    assert split_response(b"0\r\n1", 2, "text/csv") == [b"0", b"1"]
    assert split_response(b'{"a":1}\n{"a":2}\n', 2, "application/jsonlines") == [
        b'{"a":1}',
        b'{"a":2}',
    ]


def test_split_response_json_array() -> None:
    assert split_response(b'[0.1, [1,2], {"x":1}]', 3, "application/json") == [
        b"0.1",
        b"[1,2]",
        b'{"x":1}',
    ]
    # JSON documents one per line are split by line.
    assert split_response(b'{"a":1}\n{"a":2}', 2, "application/json") == [b'{"a":1}', b'{"a":2}']


def test_split_response_single_record_keeps_body() -> None:
    assert split_response(b"[0.1, 0.9]\n", 1, "application/json") == [b"[0.1, 0.9]"]


def test_split_response_count_mismatch() -> None:
    with pytest.raises(TransformDataError) as info:
        split_response(b"0\n1\n", 3, "text/csv", first_index=10, source="s3://b/in/f.csv")
    assert info.value.failure_kind == "AlgorithmError"
    assert str(info.value).startswith(
        "s3://b/in/f.csv: the model returned 2 lines for a mini-batch of 3 records (records 11 to 13)."
    )
    with pytest.raises(TransformDataError, match="returned 2 array elements"):
        split_response(b"[1,2]", 3, "application/json")


# -- the per-object pipeline ------------------------------------------------------------------


def job(**extra: Any) -> dict[str, Any]:
    req: dict[str, Any] = {
        "TransformJobName": "j",
        "ModelName": "m",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": "s3://b/out/",
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    req.update(extra)
    return req


def transform_object(data: bytes, spec: TransformJobSpec, invoke: Callable[[bytes], bytes]) -> bytes:
    """One object through the runner's own steps: prepare, the model per mini-batch, finish,
    assemble (in-process, as the runner calls them for a job without a batch agent)."""
    processor = DataProcessor.from_spec(spec) if spec.uses_data_processing else None
    joins = processor is not None and processor.transforms_output
    source = "s3://b/in/object"
    originals, batches = agent.prepare(data, spec, processor, source)
    outputs: list[bytes] = []
    for batch in batches:
        kept = originals[batch.first : batch.first + batch.count] if joins else []
        outputs += agent.finish(
            invoke(batch.body), batch.first, batch.count, kept, spec, processor, source
        )
    return assemble(outputs, spec.assemble_with)


def fake_model(body: bytes) -> bytes:
    """Scores each CSV row: '<sum of columns>,<approve|deny>' per line."""
    out = []
    for line in body.decode().split("\n"):
        total = sum(float(v) for v in line.split(","))
        out.append(f"{total:g},{'approve' if total > 10 else 'deny'}")
    return ("\n".join(out) + "\n").encode()


def test_pipeline_id_column_multirecord() -> None:
    spec = validate_create_transform_job(
        job(
            BatchStrategy="MultiRecord",
            DataProcessing={
                "InputFilter": "$[1:]",
                "JoinSource": "Input",
                "OutputFilter": "$[0,-1]",
            },
        )
    )
    sent: list[bytes] = []

    def invoke(body: bytes) -> bytes:
        sent.append(body)
        return fake_model(body)

    data = gzip.compress(b"a,1,2\nb,5,9\nc,0,1\n")
    spec = dataclasses.replace(spec, compression_type="Gzip")
    out = transform_object(data, spec, invoke)
    assert sent == [b"1,2\n5,9\n0,1"]
    assert out == b"a,deny\nb,approve\nc,deny\n"


def test_pipeline_assemble_line_adds_one_newline_per_record_not_per_response() -> None:
    spec = validate_create_transform_job(job(BatchStrategy="MultiRecord"))
    out = transform_object(b"1,2\n5,9\n", spec, lambda body: b"0\n2\n")
    assert out == b"0\n2\n"  # SDK local mode would write "0\n2\n\n"


def test_pipeline_assemble_none_concatenates_responses_as_is() -> None:
    spec = validate_create_transform_job(
        job(
            BatchStrategy="SingleRecord",
            TransformOutput={"S3OutputPath": "s3://b/o", "Accept": "text/csv"},
        )
    )
    out = transform_object(b"1\n2\n", spec, lambda body: b"[" + body + b"]")
    assert out == b"[1][2]"


def test_pipeline_single_record_json_join() -> None:
    spec = validate_create_transform_job(
        job(
            BatchStrategy="SingleRecord",
            TransformInput={
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}},
                "ContentType": "application/jsonlines",
                "SplitType": "Line",
            },
            TransformOutput={
                "S3OutputPath": "s3://b/o",
                "Accept": "application/json",
                "AssembleWith": "Line",
            },
            DataProcessing={"InputFilter": "$.x", "JoinSource": "Input"},
        )
    )
    out = transform_object(
        b'{"id":1,"x":[1,2]}\n{"id":2,"x":[3]}\n',
        spec,
        lambda body: json.dumps(sum(json.loads(body))).encode() + b"\n",
    )
    assert out == b'{"id":1,"x":[1,2],"SageMakerOutput":3}\n{"id":2,"x":[3],"SageMakerOutput":3}\n'


def test_pipeline_output_is_in_input_order_across_batches() -> None:
    spec = validate_create_transform_job(job(BatchStrategy="MultiRecord", MaxPayloadInMB=1))
    rows = [f"{i},{'9' * 5000}".encode() for i in range(600)]  # about 3 MB: several batches
    calls = []

    def invoke(body: bytes) -> bytes:
        calls.append(body.count(b"\n") + 1)
        return b"\n".join(line.split(b",")[0] for line in body.split(b"\n"))

    out = transform_object(b"\n".join(rows), spec, invoke)
    assert len(calls) > 1 and sum(calls) == 600
    assert out.split(b"\n")[:-1] == [str(i).encode() for i in range(600)]
    assert assemble([], "Line") == b""
