"""The batch agent process gives the runner exactly what the in-process functions give.

:mod:`utils.local_sagemaker.services.transform.agent` runs :func:`prepare` and :func:`finish` in a
separate process for jobs with DataProcessing: results, and the data errors that fail an object
(message and ``failure_kind``), must cross the pipe unchanged.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

from utils.local_sagemaker.services.transform import agent as work
from utils.local_sagemaker.services.transform.agent import AgentError, BatchAgent
from utils.local_sagemaker.services.transform.data_processing import DataProcessor
from utils.local_sagemaker.services.transform.errors import TransformDataError
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
    expected = work.prepare(DATA, SPEC, processor, "s3://bucket/in/a.csv")
    assert agent.call("prepare", DATA, SPEC, processor, "s3://bucket/in/a.csv") == expected
    originals, batches = expected
    assert [b.body for b in batches] == [b"1,2\n3,4\n5,6"]
    args = (b"3,big\n7,big\n11,big\n", 0, 3, originals, SPEC, processor, "s3://bucket/in/a.csv")
    assert agent.call("finish", *args) == work.finish(*args)
    assert agent.call("finish", *args) == [b"id-0,big", b'"id,1",big', b'"id ""2""",big']


def test_data_errors_cross_unchanged(agent: BatchAgent) -> None:
    processor = DataProcessor.from_spec(SPEC)
    args = (b"3,big\n", 0, 3, [b"a", b"b", b"c"], SPEC, processor, "s3://bucket/in/a.csv")
    with pytest.raises(TransformDataError) as in_process:
        work.finish(*args)
    with pytest.raises(TransformDataError) as crossed:
        agent.call("finish", *args)
    assert type(crossed.value) is type(in_process.value)
    assert crossed.value.message == in_process.value.message
    assert crossed.value.failure_kind == in_process.value.failure_kind
    # the agent keeps serving after an error
    originals, batches = agent.call("prepare", b"x,1\n", SPEC, processor, "s")
    assert originals == [b"x,1"] and [b.body for b in batches] == [b"1"]


def test_a_stopped_agent_raises_agent_error(agent: BatchAgent) -> None:
    agent.stop()
    with pytest.raises(AgentError):
        agent.call("prepare", DATA, SPEC, None, "s")
