"""The batch agent process gives the runner exactly what the in-process functions give.

:mod:`utils.local_sagemaker.services.transform.agent` runs :func:`prepare` and :func:`finish` in a
separate process for jobs with DataProcessing: results, and the data errors that fail an object
(message and ``failure_kind``), must cross the pipe unchanged.
"""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
from collections.abc import Iterator

import pytest

from utils.local_sagemaker.services.transform import agent as work
from utils.local_sagemaker.services.transform.agent import AgentError, BatchAgent
from utils.local_sagemaker.services.transform.data_processing import DataProcessor
from utils.local_sagemaker.services.transform.errors import TransformDataError
from utils.local_sagemaker.services.transform.records import (
    MIB,
    Batch,
    plan_batches,
    split_records,
)
from utils.local_sagemaker.services.transform.validation import TransformJobSpec

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
    input_filter="$[1:]",
    output_filter="$[0,-1]",
    join_source="Input",
)
DATA = b'id-0,1,2\n"id,1",3,4\n"id ""2""",5,"6"\n'


@pytest.fixture
def agent() -> Iterator[BatchAgent]:
    started = BatchAgent()
    yield started
    started.stop()
    assert started.process.returncode is not None


@pytest.mark.skipif(sys.platform == "win32", reason="sessions are POSIX")
def test_the_agent_is_scheduled_apart_from_the_gateway(agent: BatchAgent) -> None:
    """Its own session: Linux schedules each session as one group (autogroup)."""
    assert os.getsid(agent.process.pid) == agent.process.pid != os.getsid(0)


def test_agent_results_equal_in_process(agent: BatchAgent) -> None:
    processor = DataProcessor.from_spec(SPEC)
    expected = work.prepare_records(DATA, SPEC, processor, "s3://bucket/in/a.csv")
    assert agent.call("prepare_records", DATA, SPEC, processor, "s3://bucket/in/a.csv") == expected
    originals, batches = expected
    assert [b.body for b in batches] == [b"1,2\n3,4\n5,6"]
    args = (b"3,big\n7,big\n11,big\n", 0, 3, originals, SPEC, processor, "s3://bucket/in/a.csv")
    assert agent.call("finish_records", *args) == work.finish_records(*args)
    assert agent.call("finish_records", *args) == [b"id-0,big", b'"id,1",big', b'"id ""2""",big']


def test_data_errors_cross_unchanged(agent: BatchAgent) -> None:
    processor = DataProcessor.from_spec(SPEC)
    args = (b"3,big\n", 0, 3, [b"a", b"b", b"c"], SPEC, processor, "s3://bucket/in/a.csv")
    with pytest.raises(TransformDataError) as in_process:
        work.finish_records(*args)
    with pytest.raises(TransformDataError) as crossed:
        agent.call("finish_records", *args)
    assert type(crossed.value) is type(in_process.value)
    assert crossed.value.message == in_process.value.message
    assert crossed.value.failure_kind == in_process.value.failure_kind
    # the agent keeps serving after an error
    originals, batches = agent.call("prepare_records", b"x,1\n", SPEC, processor, "s")
    assert originals == [b"x,1"] and [b.body for b in batches] == [b"1"]


def test_a_stopped_agent_raises_agent_error(agent: BatchAgent) -> None:
    agent.stop()
    with pytest.raises(AgentError):
        agent.call("prepare_records", DATA, SPEC, None, "s")


def _library_batches(data: bytes, max_payload_mb: int) -> list[Batch] | str:
    records = split_records(data, "Line", source="s")
    try:
        return plan_batches(
            records,
            split_type="Line",
            batch_strategy="MultiRecord",
            max_payload_mb=max_payload_mb,
            source="s",
        )
    except TransformDataError as err:
        return err.message


def test_plain_line_batches_equal_the_library() -> None:
    """A job without DataProcessing batches Line records on the object's bytes (no split into
    records), and the batch agent batches a job's records held one by one (a join with no
    input filter here) with the same packer: the same bodies, first records and counts as the
    library's, and the library's error when a record alone is over the limit."""
    spec = dataclasses.replace(SPEC, input_filter="$", output_filter="$", join_source="None")
    joined = dataclasses.replace(spec, join_source="Input")
    rng = random.Random(0)
    sizes = [0, 1, 5, MIB // 3, MIB // 2 - 1, MIB // 2, MIB - 1, MIB, MIB + 1]
    compared = 0
    for _ in range(150):
        big = rng.random() < 0.5
        records = [
            b"x" * (rng.choice(sizes) if big else rng.randint(0, 20))
            for _ in range(rng.randint(0, 30))
        ]
        data = b"\n".join(records) + (b"\n" if rng.random() < 0.6 else b"")
        for max_payload_mb in (0, 1, 2):
            expected = _library_batches(data, max_payload_mb)
            plain = dataclasses.replace(spec, max_payload_mb=max_payload_mb)
            by_record = dataclasses.replace(joined, max_payload_mb=max_payload_mb)
            processor = DataProcessor.from_spec(by_record)
            if isinstance(expected, str):
                with pytest.raises(TransformDataError) as raised:
                    work.prepare(data, plain, None, "s")
                assert raised.value.message == expected
                with pytest.raises(TransformDataError) as raised:
                    work.prepare_records(data, by_record, processor, "s")
                assert raised.value.message == expected
                continue
            assert work.prepare(data, plain, None, "s") == ([], expected)
            records, batches = work.prepare_records(data, by_record, processor, "s")
            text = data[:-1] if data.endswith(b"\n") else data
            assert records == (text.split(b"\n") if data else [])
            assert batches == expected
            compared += 1
    assert compared > 100


def test_the_agent_imports_no_botocore() -> None:
    """An agent starts when a job's first object needs it, so its imports are on the job's
    path: botocore (the request validator's models) was most of its start."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, utils.local_sagemaker.services.transform.agent; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('botocore', 'boto3')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
