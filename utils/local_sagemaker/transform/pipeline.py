"""The whole per-object data path, as a reference for the transform-job runner.

:func:`transform_object` chains the pure steps of this package for one input object, calling
``invoke`` once per mini-batch. The runner may instead call the same steps itself to send
batches concurrently (``MaxConcurrentTransforms``): :class:`~.records.Batch` carries the record
indices, so predictions can be put back in input order whatever order responses arrive in.
"""

from __future__ import annotations

from collections.abc import Callable

from .assembly import assemble
from .data_processing import DataProcessor, split_response
from .records import Batch, Record, decompress, plan_batches, split_records
from .validation import TransformJobSpec

__all__ = ["prepare_batches", "transform_object"]


def prepare_batches(
    data: bytes, spec: TransformJobSpec, processor: DataProcessor, *, source: str
) -> tuple[list[Record], list[Batch]]:
    """Decompress, split, InputFilter and batch one object.

    Returns the *original* records (needed for JoinSource=Input) and the request batches.
    """
    records = split_records(
        decompress(data, spec.compression_type, source=source), spec.split_type, source=source
    )
    if processor.input_filter.is_root:
        to_send = records
    else:
        to_send = []
        for r in records:
            filtered = processor.filter_input(r.payload, index=r.index)
            to_send.append(Record(r.index, filtered, filtered))
    batches = plan_batches(
        to_send,
        split_type=spec.split_type,
        batch_strategy=spec.batch_strategy,
        max_payload_mb=spec.max_payload_mb,
        source=source,
    )
    return records, batches


def transform_object(
    data: bytes,
    spec: TransformJobSpec,
    invoke: Callable[[bytes], bytes],
    *,
    source: str = "input object",
    processor: DataProcessor | None = None,
) -> bytes:
    """Run one object through the job and return the bytes of its ``.out``.

    ``invoke(body)`` sends one request (ContentType/Accept from ``spec``) and returns the
    response body; it raises to fail the object. Data errors raise
    :class:`~.errors.TransformDataError`.
    """
    processor = processor or DataProcessor.from_spec(spec)
    records, batches = prepare_batches(data, spec, processor, source=source)
    per_record = processor.transforms_output or spec.assemble_with == "Line"
    outputs: list[bytes] = []
    for batch in batches:
        response = invoke(batch.body)
        if not per_record:
            outputs.append(response)  # AssembleWith None, no join/filter: bytes as returned
            continue
        predictions = split_response(
            response, batch.count, spec.accept, first_index=batch.first, source=source
        )
        for index, prediction in zip(batch.record_indices, predictions, strict=True):
            outputs.append(processor.finish(records[index].payload, prediction, index=index))
    return assemble(outputs, spec.assemble_with)
