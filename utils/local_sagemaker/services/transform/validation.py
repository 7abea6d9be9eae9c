"""Validate a CreateTransformJob request the way the SageMaker service does.

Two layers, in the order AWS applies them:

1. **Shape constraints** (required members, ``min``/``max``, string length, ``pattern``,
   ``enum``, map and list sizes). These are read from the botocore service model installed with
   boto3 rather than copied by hand, by the one shape validator (ARCHITECTURE.md, "Layers"); reported
   in the generic AWS (Coral) format that every AWS JSON service uses::

       1 validation error detected: Value 'a_b' at 'transformJobName' failed to satisfy
       constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}

   All constraint violations are collected and reported together ("2 validation errors
   detected: ...; ..."), as AWS does. boto3 itself already rejects missing required members,
   wrong types and values below ``min`` on the client side; the server checks them too, so a
   raw HTTP client gets the same answer here.
2. **Cross-field rules** documented in the API reference but not expressible in the model
   (MaxPayloadInMB <= 100, MaxConcurrentTransforms x MaxPayloadInMB <= 100, BatchStrategy needs
   a SplitType, the DataProcessing content-type rules, ...). The first one that fails is
   reported. The texts live in :data:`MESSAGES` (the ``transform.validation-texts`` marker) so
   they are easy to correct.

The result of a successful validation is a :class:`TransformJobSpec`: the request with every
default resolved, which is what the transform-job runner consumes.

RecordIO / TFRecord: both SplitTypes are *accepted* and implemented by
:mod:`.records` (their framings are fully specified by MXNet and TensorFlow), so the local
SageMaker behaves like AWS here instead of refusing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...core.errors import AwsError, constraint, validation, validation_errors

__all__ = [
    "CSV",
    "DATA_PROCESSING_CONTENT_TYPES",
    "DEFAULT_INVOCATIONS_MAX_RETRIES",
    "DEFAULT_INVOCATIONS_TIMEOUT_SECONDS",
    "DEFAULT_MAX_PAYLOAD_MB",
    "JSON",
    "JSONLINES",
    "MESSAGES",
    "TransformJobSpec",
    "media_type",
    "validate_create_transform_job",
]

DEFAULT_MAX_PAYLOAD_MB = 6  # API reference, MaxPayloadInMB
MAX_PAYLOAD_MB = 100  # API reference, MaxPayloadInMB ("cannot be greater than 100 MB")
MAX_CONCURRENCY_TIMES_PAYLOAD_MB = 100  # API reference, MaxPayloadInMB
MAX_INSTANCE_COUNT = 100  # API reference, TransformResources.InstanceCount ("the maximum is 100")
DEFAULT_INVOCATIONS_TIMEOUT_SECONDS = 600  # API reference, ModelClientConfig
DEFAULT_INVOCATIONS_MAX_RETRIES = 3  # API reference, ModelClientConfig

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
# [DG:batch-transform-data-processing]: with DataProcessing, ContentType and Accept must each be
# one of these.
DATA_PROCESSING_CONTENT_TYPES = (CSV, JSON, JSONLINES)

# FIDELITY transform.batch-strategy-without-split UNCONFIRMED: BatchStrategy with SplitType None
#   local: CreateTransformJob is refused ("BatchStrategy <strategy> requires SplitType to be Line,
#     RecordIO or TFRecord, but SplitType is None.").
#   source: the API reference: "To enable the batch strategy, you must set the SplitType property
#     to Line, RecordIO, or TFRecord".
#   why: "must" reads as a rule the service checks; it may instead ignore the strategy. Set
#     REJECT_BATCH_STRATEGY_WITHOUT_SPLIT to False to do that.
#   notice: AWS may accept such a job and send each whole object in one request.
REJECT_BATCH_STRATEGY_WITHOUT_SPLIT = True

# FIDELITY transform.validation-texts UNCONFIRMED: texts of CreateTransformJob's cross-field rules
#   local: MaxPayloadInMB over 100 and InstanceCount over 100 (in the validator's "N validation
#     error(s) detected" form), MaxConcurrentTransforms x MaxPayloadInMB over 100 MB, the
#     DataProcessing content-type and Line rules, and AugmentedManifestFile are refused with
#     ValidationException texts written in the service's style (MESSAGES).
#   source: the rules themselves are AWS's (the API reference and the developer guide).
#   why: AWS's sentences for these cases are not on record.
#   notice: the message wording can differ on AWS; the refusals are the same.
#: Messages for the cross-field rules (the marker above).
MESSAGES: dict[str, str] = {
    "concurrency_times_payload": (
        "The product of MaxConcurrentTransforms ({concurrency}) and MaxPayloadInMB ({payload}) "
        "is {product} MB, which exceeds the maximum of 100 MB. Reduce MaxConcurrentTransforms "
        "or MaxPayloadInMB."
    ),
    "batch_strategy_needs_split": (
        "BatchStrategy {strategy} requires SplitType to be Line, RecordIO or TFRecord, but "
        "SplitType is {split}."
    ),
    "dp_content_type": (
        "When DataProcessing is used, {member} must be one of [text/csv, application/json, "
        "application/jsonlines], but it is {value}."
    ),
    "dp_csv_line": (
        "When DataProcessing is used with text/csv data, SplitType and AssembleWith must both be "
        "Line (SplitType is {split}, AssembleWith is {assemble})."
    ),
    # The API reference lists AugmentedManifestFile as "not compatible" with transform jobs.
    "augmented_manifest": (
        "S3DataType AugmentedManifestFile is not supported for transform jobs. Use S3Prefix or "
        "ManifestFile."
    ),
    # FIDELITY transform.converse-data-type DIFFERS: S3DataType Converse is not implemented
    #   local: A transform job with it is refused: "S3DataType Converse is not implemented by the
    #     local SageMaker. Use S3Prefix or ManifestFile."
    #   why: the tutorial's batch jobs read CSV objects; the Converse format is for large language
    #     models.
    #   notice: On AWS such a job runs.
    "converse": (
        "S3DataType Converse is not implemented by the local SageMaker. Use S3Prefix or "
        "ManifestFile."
    ),
}


@dataclass(frozen=True)
class TransformJobSpec:
    """A validated CreateTransformJob request with every default resolved.

    ``max_concurrent_transforms`` keeps 0 when the request left it unset or 0: AWS then asks the
    container's ``GET /execution-parameters`` and falls back to 1, which only the runner can do.
    ``batch_strategy`` keeps ``None`` when unset; :func:`.records.plan_batches` treats that as
    MultiRecord, which is what AWS logs for such jobs (``BatchStrategy=MULTI_RECORD``).
    """

    name: str
    model_name: str
    s3_data_type: str
    s3_uri: str
    s3_output_path: str
    instance_type: str
    instance_count: int
    content_type: str | None = None
    compression_type: str = "None"
    split_type: str = "None"
    batch_strategy: str | None = None
    max_payload_mb: int = DEFAULT_MAX_PAYLOAD_MB
    max_concurrent_transforms: int = 0
    invocations_timeout_seconds: int = DEFAULT_INVOCATIONS_TIMEOUT_SECONDS
    invocations_max_retries: int = DEFAULT_INVOCATIONS_MAX_RETRIES
    accept: str | None = None
    assemble_with: str = "None"
    input_filter: str = "$"
    output_filter: str = "$"
    join_source: str = "None"
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def uses_data_processing(self) -> bool:
        """True when records must be parsed (filters or a join), not passed through as bytes."""
        return _uses_data_processing(self.input_filter, self.output_filter, self.join_source)


def media_type(content_type: str | None) -> str | None:
    """The bare, lower-cased media type: ``"Text/CSV; charset=utf-8"`` -> ``"text/csv"``.

    Parameters after ``;`` are ignored when matching the DataProcessing content types.
    """
    # FIDELITY transform.content-type-parameters UNCONFIRMED: parameters in DataProcessing content types
    #   local: "text/csv; charset=utf-8" counts as text/csv for the DataProcessing rules.
    #   why: the lenient choice; the rules are about the format, not its parameters.
    #   notice: AWS may refuse such a content type with DataProcessing.
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower()


def _invalid(message: str) -> AwsError:
    return validation(message)


def _above_maximum(value: int, where: str, maximum: int) -> AwsError:
    """A limit the API reference states but the botocore model does not carry, reported in the
    shape validator's form, built by the one error builder of the core."""
    text = f"Member must have value less than or equal to {maximum}"
    return validation_errors([constraint(f"'{value}'", where, text)])


def _uses_data_processing(input_filter: str, output_filter: str, join_source: str) -> bool:
    return input_filter not in ("", "$") or output_filter not in ("", "$") or join_source == "Input"


def _render(value: Any) -> str:
    """A value as the service prints it in messages (``null`` for a missing one)."""
    return "null" if value is None else str(value)


# --------------------------------------------------------------------------------------------
# Layer 2: cross-field rules
# --------------------------------------------------------------------------------------------


def validate_create_transform_job(request: Mapping[str, Any]) -> TransformJobSpec:
    """Validate a CreateTransformJob request; return it with defaults resolved.

    Shape constraints first (the botocore model, through the one validator of
    :mod:`...core.shapes`), then the cross-field rules (:func:`transform_spec`). Raises
    :class:`~...core.errors.AwsError` (code ``ValidationException``) with the message AWS would
    send. Checks that need other resources (the model exists, the name is not taken, account
    quotas) belong to the service, not here.
    """
    # Imported here: the batch agent imports this module for the spec and its types, and the
    # botocore models behind the validator were most of its start (about 0.2 s of 0.25 s).
    from ...core.shapes import validate

    validate("CreateTransformJob", request)
    return transform_spec(request)


def transform_spec(request: Mapping[str, Any]) -> TransformJobSpec:
    """The cross-field rules of a request that already fits the botocore model, and its spec."""

    tin = request["TransformInput"]
    tout = request["TransformOutput"]
    resources = request["TransformResources"]
    s3 = tin["DataSource"]["S3DataSource"]
    client = request.get("ModelClientConfig") or {}
    dp = request.get("DataProcessing") or {}

    max_payload = request.get("MaxPayloadInMB")
    if max_payload is not None and max_payload > MAX_PAYLOAD_MB:
        raise _above_maximum(max_payload, "maxPayloadInMB", MAX_PAYLOAD_MB)
    effective_payload = DEFAULT_MAX_PAYLOAD_MB if max_payload is None else max_payload

    instance_count = resources["InstanceCount"]
    if instance_count > MAX_INSTANCE_COUNT:
        raise _above_maximum(instance_count, "transformResources.instanceCount", MAX_INSTANCE_COUNT)

    concurrency = request.get("MaxConcurrentTransforms") or 0
    if concurrency and concurrency * effective_payload > MAX_CONCURRENCY_TIMES_PAYLOAD_MB:
        raise _invalid(
            MESSAGES["concurrency_times_payload"].format(
                concurrency=concurrency,
                payload=effective_payload,
                product=concurrency * effective_payload,
            )
        )

    split_type = tin.get("SplitType") or "None"
    strategy = request.get("BatchStrategy")
    if strategy and split_type == "None" and REJECT_BATCH_STRATEGY_WITHOUT_SPLIT:
        raise _invalid(
            MESSAGES["batch_strategy_needs_split"].format(strategy=strategy, split=split_type)
        )

    data_type = s3["S3DataType"]
    if data_type == "AugmentedManifestFile":
        raise _invalid(MESSAGES["augmented_manifest"])
    if data_type == "Converse":
        raise _invalid(MESSAGES["converse"])

    input_filter = dp.get("InputFilter") or "$"
    output_filter = dp.get("OutputFilter") or "$"
    join_source = dp.get("JoinSource") or "None"
    assemble_with = tout.get("AssembleWith") or "None"
    content_type = tin.get("ContentType")
    accept = tout.get("Accept")
    if _uses_data_processing(input_filter, output_filter, join_source):
        for member, value in (("ContentType", content_type), ("Accept", accept)):
            if media_type(value) not in DATA_PROCESSING_CONTENT_TYPES:
                raise _invalid(
                    MESSAGES["dp_content_type"].format(member=member, value=_render(value))
                )
        if CSV in (media_type(content_type), media_type(accept)) and (
            split_type != "Line" or assemble_with != "Line"
        ):
            raise _invalid(
                MESSAGES["dp_csv_line"].format(split=split_type, assemble=assemble_with)
            )

    return TransformJobSpec(
        name=request["TransformJobName"],
        model_name=request["ModelName"],
        s3_data_type=data_type,
        s3_uri=s3["S3Uri"],
        s3_output_path=tout["S3OutputPath"],
        instance_type=resources["InstanceType"],
        instance_count=instance_count,
        content_type=content_type,
        compression_type=tin.get("CompressionType") or "None",
        split_type=split_type,
        batch_strategy=strategy,
        max_payload_mb=effective_payload,
        max_concurrent_transforms=concurrency,
        invocations_timeout_seconds=client.get(
            "InvocationsTimeoutInSeconds", DEFAULT_INVOCATIONS_TIMEOUT_SECONDS
        ),
        invocations_max_retries=client.get(
            "InvocationsMaxRetries", DEFAULT_INVOCATIONS_MAX_RETRIES
        ),
        accept=accept,
        assemble_with=assemble_with,
        input_filter=input_filter,
        output_filter=output_filter,
        join_source=join_source,
        environment=dict(request.get("Environment") or {}),
    )
