"""DataProcessing on CSV bytes gives exactly what the library gives, record by record.

:func:`agent.prepare_quick` and :func:`agent.finish_quick` filter, join and batch CSV records as
bytes (:mod:`utils.local_sagemaker.services.transform.csv_bytes`) where they can, and answer None
where they cannot. Whatever they answer must equal the library's per-record path: records split
by :func:`split_records`, each filtered, joined and written by :class:`DataProcessor`, batched by
:func:`plan_batches`, assembled by :func:`assemble`; where the library raises, they must decline
(the runner then takes the library's path, which raises). The inputs are random: quoted fields
with commas and quotes, needless quotes, stray quotes, empty lines, CRLF, a last line with or
without its newline, non-ASCII text, records over the payload limit (with the limit's unit made
small, so that a record of a few bytes is over it). The runs are derandomized (the same examples
every time).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from utils.local_sagemaker.services.transform import agent, records
from utils.local_sagemaker.services.transform.assembly import assemble
from utils.local_sagemaker.services.transform.data_processing import DataProcessor, split_response
from utils.local_sagemaker.services.transform.errors import TransformDataError
from utils.local_sagemaker.services.transform.records import (
    Batch,
    Record,
    plan_batches,
    split_records,
)
from utils.local_sagemaker.services.transform.validation import TransformJobSpec

PROPERTY = settings(
    derandomize=True,
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SPEC = TransformJobSpec(
    name="job",
    model_name="model",
    s3_data_type="S3Prefix",
    s3_uri="s3://bucket/in/",
    s3_output_path="s3://bucket/out",
    instance_type="ml.m5.large",
    instance_count=1,
    content_type="text/csv",
    split_type="Line",
    accept="text/csv",
    assemble_with="Line",
)
#: Filters: by position (the bytes path), and some it leaves to the library (names, wildcards,
#: indexes that some records do not have: the library raises for those).
PATHS = [
    "$",
    "$[1:]",
    "$[0,-1]",
    "$[0]",
    "$[-1]",
    "$[1]",
    "$[2]",
    "$[0:1]",
    "$[:1]",
    "$[1:2]",
    "$[-2:]",
    "$[0:-2]",
    "$[0,2]",
    "$[2,0]",
    "$[0,0]",
    "$[1,-1]",
    "$[5:]",
    "$[*]",
    "$.a",
]
#: The unit of MaxPayloadInMB during these tests, so that a record of a few bytes can be over it.
SMALL_MIB = 24

FIELD = st.text(alphabet=st.sampled_from(["a", "b", " ", ",", '"', "é", "1"]), max_size=5)
#: A record as csv.writer writes it, or any text (needless or stray quotes), or an empty line.
RECORD = st.one_of(
    st.lists(FIELD, min_size=1, max_size=5).map(lambda fields: _write(fields)),
    st.text(alphabet=st.sampled_from(["a", ",", '"', " ", "é"]), max_size=10),
    st.just(""),
)


def _write(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


@st.composite
def objects(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(RECORD, min_size=1, max_size=12))
    newline = draw(st.sampled_from(["\n", "\n", "\n", "\r\n"]))
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    return text.encode("utf-8")


def _processor(spec: TransformJobSpec) -> DataProcessor:
    return DataProcessor.from_spec(spec)


def _library_prepare(
    data: bytes, spec: TransformJobSpec, processor: DataProcessor
) -> tuple[list[bytes], list[Batch]] | str:
    """The per-record path: the reference behaviour (or its error text)."""
    try:
        split = split_records(data, spec.split_type, source="s")
        to_send = [
            Record(r.index, f, f)
            for r, f in ((r, processor.filter_input(r.payload, index=r.index)) for r in split)
        ]
        batches = plan_batches(
            to_send,
            split_type=spec.split_type,
            batch_strategy=spec.batch_strategy,
            max_payload_mb=spec.max_payload_mb,
            source="s",
        )
    except TransformDataError as err:
        return err.message
    return [r.payload for r in split], batches


@PROPERTY
@given(
    data=objects(),
    path=st.sampled_from(PATHS),
    join=st.sampled_from(["None", "Input"]),
    max_payload_mb=st.sampled_from([0, 1, 2, 3]),
)
def test_prepare_on_bytes_equals_the_library(
    data: bytes, path: str, join: str, max_payload_mb: int
) -> None:
    spec = dataclasses.replace(
        SPEC, input_filter=path, join_source=join, max_payload_mb=max_payload_mb
    )
    processor = _processor(spec)
    with mock.patch.object(records, "MIB", SMALL_MIB):
        expected = _library_prepare(data, spec, processor)
        quick = agent.prepare_quick(data, spec, processor)
        event("bytes path" if quick is not None else "declined")
        if isinstance(expected, str):
            assert quick is None
            with pytest.raises(TransformDataError) as raised:
                agent.prepare(data, spec, processor, "s")
            assert raised.value.message == expected
            return
        if quick is not None:
            assert quick == expected
        assert agent.prepare(data, spec, processor, "s") == expected


@st.composite
def responses(draw: st.DrawFn, count: int) -> bytes:
    """A model's CSV answer for ``count`` records: one line each, the last newline optional;
    sometimes one line too many (a model that writes a header), which the library refuses."""
    lines = draw(st.lists(RECORD, min_size=count, max_size=count + 1))
    return ("\n".join(lines) + ("\n" if draw(st.booleans()) else "")).encode("utf-8")


@PROPERTY
@given(
    data=st.data(),
    originals=st.lists(RECORD.filter(lambda r: "\r" not in r), min_size=1, max_size=8),
    path=st.sampled_from(PATHS),
    join=st.sampled_from(["None", "Input"]),
    assemble_with=st.sampled_from(["Line", "None"]),
)
def test_finish_on_bytes_equals_the_library(
    data: st.DataObject, originals: list[str], path: str, join: str, assemble_with: str
) -> None:
    spec = dataclasses.replace(
        SPEC, output_filter=path, join_source=join, assemble_with=assemble_with
    )
    processor = _processor(spec)
    count = len(originals)
    body = data.draw(responses(count))
    kept = [o.encode("utf-8") for o in originals]
    pieces = [body]  # without a join or an OutputFilter the response is written as it is
    try:
        if processor.transforms_output:
            predictions = split_response(body, count, spec.accept, first_index=7, source="s")
            pieces = [
                processor.finish(o, p, index=7 + n)
                for n, (o, p) in enumerate(zip(kept, predictions, strict=True))
            ]
        expected: bytes | str = assemble(pieces, assemble_with)
    except TransformDataError as err:
        expected = err.message
    if isinstance(expected, str):
        # the bytes path raises the library's error (the response's record count) or declines
        try:
            assert agent.finish_quick(body, 7, count, kept, spec, processor, "s") is None
        except TransformDataError as err:
            assert err.message == expected
        with pytest.raises(TransformDataError) as raised:
            agent.finish(body, 7, count, kept, spec, processor, "s")
        assert raised.value.message == expected
        return
    quick = agent.finish_quick(body, 7, count, kept, spec, processor, "s")
    event("bytes path" if quick is not None else "declined")
    if quick is not None:
        assert assemble(quick, assemble_with) == expected
    finished = agent.finish(body, 7, count, kept, spec, processor, "s")
    assert assemble(finished, assemble_with) == expected


def test_the_notebooks_records_take_the_bytes_path() -> None:
    """Records as pandas writes them (text with commas quoted) are filtered, joined and batched
    as bytes, and the result is the library's."""
    rows = [
        ["APP-1", "0 <= ... < 200 DM", "9", "yes, registered under the customers name", "é"],
        ["APP-2", "no checking account", "10", "none", ""],
        ["APP-3", 'a "quoted" word', "11", "none", "x"],
    ]
    data = "".join(_write(row) + "\n" for row in rows).encode("utf-8")
    spec = dataclasses.replace(
        SPEC, input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]"
    )
    processor = _processor(spec)
    prepared = agent.prepare_quick(data, spec, processor)
    assert prepared is not None and prepared == _library_prepare(data, spec, processor)
    originals, batches = prepared
    assert [b.body for b in batches] == [
        b'0 <= ... < 200 DM,9,"yes, registered under the customers name",\xc3\xa9\n'
        b"no checking account,10,none,\n"
        b'"a ""quoted"" word",11,none,x'
    ]
    body = b'0.1,approve\n0.9,"no, decline"\n0.5,""""\n'
    piece = agent.finish_quick(body, 0, 3, originals, spec, processor, "s")
    assert piece == [b'APP-1,approve\nAPP-2,"no, decline"\nAPP-3,""""\n']
    assert piece == [
        b"".join(
            r + b"\n" for r in agent.finish_records(body, 0, 3, originals, spec, processor, "s")
        )
    ]


def _model(body: bytes) -> bytes:
    """One CSV prediction per line of ``body``; some quoted for their comma, some needlessly."""
    out = []
    for line in body.split(b"\n"):
        size = len(line)
        out.append([b"%d,ok" % size, b'%d,"a,b"' % size, b'"%d",ok' % size, b""][size % 4])
    return b"\n".join(out) + b"\n"


def _library_object(data: bytes, spec: TransformJobSpec, processor: DataProcessor) -> bytes | str:
    """The whole object through the library, record by record, or its error text."""
    prepared = _library_prepare(data, spec, processor)
    if isinstance(prepared, str):
        return prepared
    originals, batches = prepared
    pieces = []
    try:
        for batch in batches:
            body = _model(batch.body)
            if not processor.transforms_output:
                pieces.append(body)
                continue
            predictions = split_response(
                body, batch.count, spec.accept, first_index=batch.first, source="s"
            )
            kept = originals[batch.first : batch.first + batch.count]
            pieces += [
                processor.finish(o, p, index=batch.first + n)
                for n, (o, p) in enumerate(zip(kept, predictions, strict=True))
            ]
        return assemble(pieces, spec.assemble_with)
    except TransformDataError as err:
        return err.message


def _runners_object(data: bytes, spec: TransformJobSpec, processor: DataProcessor) -> bytes:
    """The whole object as the runner does it (the runner's ``_prepare`` and ``_finish``):
    ``agent.prepare`` keeping the joined records in csv_bytes' form, then ``agent.finish``; the
    record forms run here instead of in a batch agent (test_transform_agent: the same results)."""
    originals, batches = agent.prepare(data, spec, processor, "s", keep_hidden=True)
    pieces: list[bytes] = []
    for batch in batches:
        body = _model(batch.body)
        kept = (
            agent.records_part(originals, batch.first, batch.count)
            if processor.transforms_output
            else []
        )
        args = (body, batch.first, batch.count, kept, spec, processor, "s")
        pieces += agent.finish(*args)
    return assemble(pieces, spec.assemble_with)


@PROPERTY
@given(
    data=objects(),
    input_filter=st.sampled_from(PATHS),
    output_filter=st.sampled_from(PATHS),
    join=st.sampled_from(["None", "Input"]),
    assemble_with=st.sampled_from(["Line", "None"]),
    max_payload_mb=st.sampled_from([0, 1, 3]),
)
def test_the_runners_path_equals_the_library(
    data: bytes,
    input_filter: str,
    output_filter: str,
    join: str,
    assemble_with: str,
    max_payload_mb: int,
) -> None:
    spec = dataclasses.replace(
        SPEC,
        input_filter=input_filter,
        output_filter=output_filter,
        join_source=join,
        assemble_with=assemble_with,
        max_payload_mb=max_payload_mb,
    )
    processor = _processor(spec)
    with mock.patch.object(records, "MIB", SMALL_MIB):
        expected = _library_object(data, spec, processor)
        if isinstance(expected, str):
            with pytest.raises(TransformDataError) as raised:
                _runners_object(data, spec, processor)
            assert raised.value.message == expected
            event("error")
            return
        hidden = agent.prepare_quick(data, spec, processor, keep_hidden=True)
        event("joined records kept hidden" if hidden and hidden[0].__class__ is not list else "-")
        assert _runners_object(data, spec, processor) == expected
