"""Batch-transform data semantics for the local SageMaker, as pure functions.

* :mod:`.validation` — CreateTransformJob request checks, :class:`TransformJobSpec`.
* :mod:`.records` — gzip, SplitType (None, Line, RecordIO, TFRecord), batching.
* :mod:`.data_processing` — JSONPath filters, JoinSource, splitting MultiRecord responses.
* :mod:`.assembly` — input selection (S3Prefix, ManifestFile), ``.out`` names, AssembleWith.
* :mod:`.pipeline` — the per-object chain of the above.
"""

from .assembly import (
    InputObject,
    assemble,
    assign_to_instances,
    objects_for_prefix,
    output_uri,
    parse_manifest,
)
from .data_processing import DataProcessor, compile_jsonpath, split_response
from .errors import InvalidJsonPathError, TransformDataError, TransformValidationError
from .pipeline import prepare_batches, transform_object
from .records import Batch, Record, decompress, plan_batches, split_records
from .validation import TransformJobSpec, validate_create_transform_job

__all__ = [
    "Batch",
    "DataProcessor",
    "InputObject",
    "InvalidJsonPathError",
    "Record",
    "TransformDataError",
    "TransformJobSpec",
    "TransformValidationError",
    "assemble",
    "assign_to_instances",
    "compile_jsonpath",
    "decompress",
    "objects_for_prefix",
    "output_uri",
    "parse_manifest",
    "plan_batches",
    "prepare_batches",
    "split_records",
    "split_response",
    "transform_object",
    "validate_create_transform_job",
]
