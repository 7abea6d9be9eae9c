"""CreateTransformJob validation: shape constraints from the botocore model, cross-field rules."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from utils.local_sagemaker.core.errors import AwsError
from utils.local_sagemaker.services.transform import validation
from utils.local_sagemaker.services.transform.validation import validate_create_transform_job


def request(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "TransformJobName": "loan-batch-1",
        "ModelName": "loan-model",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": "s3://b/out/", "Accept": "text/csv"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    result = copy.deepcopy(base)
    for path, value in overrides.items():
        target = result
        *parents, leaf = path.split("__")
        for p in parents:
            target = target.setdefault(p, {})
        if value is None:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    return result


def error_of(req: dict[str, Any]) -> str:
    with pytest.raises(AwsError) as info:
        validate_create_transform_job(req)
    assert info.value.code == "ValidationException"
    return info.value.message


def test_defaults_are_resolved() -> None:
    spec = validate_create_transform_job(request())
    assert spec.max_payload_mb == 6
    assert spec.max_concurrent_transforms == 0
    assert spec.batch_strategy is None
    assert spec.compression_type == "None"
    assert spec.assemble_with == "None"
    assert (spec.input_filter, spec.output_filter, spec.join_source) == ("$", "$", "None")
    assert spec.invocations_timeout_seconds == 600
    assert spec.invocations_max_retries == 3
    assert not spec.uses_data_processing


@pytest.mark.parametrize("name", ["a_b", "-abc", "abc-", "a" * 64, ""])
def test_bad_job_name(name: str) -> None:
    message = error_of(request(TransformJobName=name))
    # Each failed constraint is its own error: "" fails both the length and the pattern.
    assert re.match(r"[12] validation errors? detected: Value ", message)
    assert "at 'transformJobName' failed to satisfy constraint" in message


def test_name_pattern_text() -> None:
    assert error_of(request(TransformJobName="a_b")) == (
        "1 validation error detected: Value 'a_b' at 'transformJobName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
        "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    )


@pytest.mark.parametrize("name", ["a", "a-b", "a--b", "A1" * 31 + "z"])
def test_good_job_name(name: str) -> None:
    assert validate_create_transform_job(request(TransformJobName=name)).name == name


def test_missing_required_member() -> None:
    message = error_of(request(TransformOutput__S3OutputPath=None))
    assert message == (
        "1 validation error detected: Value null at 'transformOutput.s3OutputPath' failed to "
        "satisfy constraint: Member must not be null"
    )


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        ("TransformInput__SplitType", "Lines", "transformInput.splitType"),
        ("TransformInput__CompressionType", "gzip", "transformInput.compressionType"),
        ("TransformOutput__AssembleWith", "Newline", "transformOutput.assembleWith"),
        ("BatchStrategy", "Multi", "batchStrategy"),
        ("DataProcessing__JoinSource", "Output", "dataProcessing.joinSource"),
        (
            "TransformInput__DataSource__S3DataSource__S3DataType",
            "Prefix",
            "transformInput.dataSource.s3DataSource.s3DataType",
        ),
    ],
)
def test_enums(path: str, value: str, where: str) -> None:
    message = error_of(request(**{path: value}))
    assert f"Value '{value}' at '{where}' failed to satisfy constraint: " in message
    assert "Member must satisfy enum value set: [" in message


def test_split_type_enum_lists_all_values() -> None:
    assert error_of(request(TransformInput__SplitType="Lines")).endswith(
        "Member must satisfy enum value set: [None, Line, RecordIO, TFRecord]"
    )


def test_several_errors_are_reported_together() -> None:
    message = error_of(request(TransformJobName="a_b", TransformInput__SplitType="x"))
    assert message.startswith("2 validation errors detected: ")
    assert message.count("; Value ") == 1


@pytest.mark.parametrize("value", [0, 1, 6, 100])
def test_max_payload_in_range(value: int) -> None:
    req = request(MaxPayloadInMB=value)
    assert validate_create_transform_job(req).max_payload_mb == value


def test_max_payload_above_100() -> None:
    assert error_of(request(MaxPayloadInMB=101)) == (
        "1 validation error detected: Value '101' at 'maxPayloadInMB' failed to satisfy "
        "constraint: Member must have value less than or equal to 100"
    )


def test_max_payload_negative_is_a_constraint_error() -> None:
    assert "Member must have value greater than or equal to 0" in error_of(
        request(MaxPayloadInMB=-1)
    )


def test_concurrency_times_payload() -> None:
    validate_create_transform_job(request(MaxConcurrentTransforms=10, MaxPayloadInMB=10))
    validate_create_transform_job(request(MaxConcurrentTransforms=16))  # 16 x 6 = 96
    message = error_of(request(MaxConcurrentTransforms=17))  # default 6 MB: 102
    assert "MaxConcurrentTransforms (17)" in message and "102 MB" in message
    assert "exceeds the maximum of 100 MB" in error_of(
        request(MaxConcurrentTransforms=2, MaxPayloadInMB=51)
    )
    # 0 means "ask the container", so no product applies; MaxPayloadInMB=0 is chunked.
    validate_create_transform_job(request(MaxConcurrentTransforms=0, MaxPayloadInMB=100))
    validate_create_transform_job(request(MaxConcurrentTransforms=500, MaxPayloadInMB=0))


@pytest.mark.parametrize("split", [None, "None"])
def test_batch_strategy_needs_split_type(split: str | None) -> None:
    message = error_of(request(BatchStrategy="MultiRecord", TransformInput__SplitType=split))
    assert message == (
        "BatchStrategy MultiRecord requires SplitType to be Line, RecordIO or TFRecord, but "
        "SplitType is None."
    )


def test_batch_strategy_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "REJECT_BATCH_STRATEGY_WITHOUT_SPLIT", False)
    req = request(BatchStrategy="SingleRecord", TransformInput__SplitType="None")
    assert validate_create_transform_job(req).batch_strategy == "SingleRecord"


@pytest.mark.parametrize("split", ["Line", "RecordIO", "TFRecord"])
@pytest.mark.parametrize("strategy", ["MultiRecord", "SingleRecord"])
def test_batch_strategy_with_split(split: str, strategy: str) -> None:
    spec = validate_create_transform_job(
        request(BatchStrategy=strategy, TransformInput__SplitType=split)
    )
    assert (spec.split_type, spec.batch_strategy) == (split, strategy)


def test_jsonpath_length_limit() -> None:
    ok = "$['" + "a" * 58 + "']"  # 63 characters
    assert len(ok) == 63
    validate_create_transform_job(
        request(DataProcessing={"InputFilter": ok}, TransformOutput__AssembleWith="Line")
    )
    message = error_of(request(DataProcessing={"OutputFilter": "$" + "[0]" * 21}))
    assert "at 'dataProcessing.outputFilter'" in message
    assert "Member must have length less than or equal to 63" in message


def test_model_client_config_limits() -> None:
    spec = validate_create_transform_job(
        request(ModelClientConfig={"InvocationsTimeoutInSeconds": 3600, "InvocationsMaxRetries": 0})
    )
    assert (spec.invocations_timeout_seconds, spec.invocations_max_retries) == (3600, 0)
    assert "Member must have value less than or equal to 3600" in error_of(
        request(ModelClientConfig={"InvocationsTimeoutInSeconds": 3601})
    )
    assert "Member must have value less than or equal to 3" in error_of(
        request(ModelClientConfig={"InvocationsMaxRetries": 4})
    )
    assert "greater than or equal to 1" in error_of(
        request(ModelClientConfig={"InvocationsTimeoutInSeconds": 0})
    )


def test_environment_at_most_16_entries() -> None:
    env = {f"K{i}": "v" for i in range(16)}
    assert len(validate_create_transform_job(request(Environment=env)).environment) == 16
    env["K16"] = "v"
    message = error_of(request(Environment=env))
    assert "at 'environment'" in message
    assert "Member must have length less than or equal to 16" in message


def test_environment_key_pattern() -> None:
    assert "Map keys must satisfy constraint" in error_of(request(Environment={"1BAD": "x"}))


def test_instance_count() -> None:
    validate_create_transform_job(request(TransformResources__InstanceCount=100))
    assert error_of(request(TransformResources__InstanceCount=101)) == (
        "1 validation error detected: Value '101' at 'transformResources.instanceCount' failed "
        "to satisfy constraint: Member must have value less than or equal to 100"
    )
    assert "greater than or equal to 1" in error_of(request(TransformResources__InstanceCount=0))


def test_instance_type_enum() -> None:
    assert "at 'transformResources.instanceType'" in error_of(
        request(TransformResources__InstanceType="ml.t2.medium")
    )


def test_data_processing_content_types() -> None:
    dp = {"InputFilter": "$[1:]", "JoinSource": "Input"}
    validate_create_transform_job(request(DataProcessing=dp, TransformOutput__AssembleWith="Line"))
    message = error_of(
        request(DataProcessing=dp, TransformInput__ContentType="application/x-parquet")
    )
    assert message.startswith("When DataProcessing is used, ContentType must be one of")
    message = error_of(request(DataProcessing=dp, TransformOutput__Accept=None))
    assert "Accept must be one of" in message and "but it is null" in message
    # Default DataProcessing ("$", "$", "None") imposes nothing.
    validate_create_transform_job(
        request(
            DataProcessing={"InputFilter": "$", "OutputFilter": "$", "JoinSource": "None"},
            TransformInput__ContentType="image/jpeg",
        )
    )


def test_csv_data_processing_needs_line_split_and_assembly() -> None:
    dp = {"JoinSource": "Input"}
    message = error_of(request(DataProcessing=dp))  # AssembleWith defaults to None
    assert message == (
        "When DataProcessing is used with text/csv data, SplitType and AssembleWith must both "
        "be Line (SplitType is Line, AssembleWith is None)."
    )
    assert "SplitType is None" in error_of(
        request(
            DataProcessing=dp,
            TransformInput__SplitType="None",
            TransformOutput__AssembleWith="Line",
        )
    )
    jsonl = request(
        DataProcessing=dp,
        TransformInput__ContentType="application/jsonlines",
        TransformOutput__Accept="application/jsonlines",
        TransformInput__SplitType="None",
    )
    assert validate_create_transform_job(jsonl).uses_data_processing


def test_content_type_parameters_are_ignored_for_matching() -> None:
    validate_create_transform_job(
        request(
            DataProcessing={"JoinSource": "Input"},
            TransformInput__ContentType="text/csv; charset=utf-8",
            TransformOutput__AssembleWith="Line",
        )
    )


def test_s3_data_types() -> None:
    spec = validate_create_transform_job(
        request(TransformInput__DataSource__S3DataSource__S3DataType="ManifestFile")
    )
    assert spec.s3_data_type == "ManifestFile"
    assert "AugmentedManifestFile is not supported" in error_of(
        request(TransformInput__DataSource__S3DataSource__S3DataType="AugmentedManifestFile")
    )


def test_s3_uri_pattern() -> None:
    assert "at 'transformInput.dataSource.s3DataSource.s3Uri'" in error_of(
        request(TransformInput__DataSource__S3DataSource__S3Uri="/local/path")
    )
