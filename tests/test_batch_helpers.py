"""utils.batch without a running SageMaker: waiting for a transform job, and its metered cost."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from utils import batch


class ScriptedTransformJobs:
    """DescribeTransformJob answers from a script of statuses (the last one repeats)."""

    def __init__(self, statuses: list[str]) -> None:
        self.statuses = list(statuses)
        self.calls = 0

    def describe_transform_job(self, TransformJobName: str) -> dict[str, Any]:
        self.calls += 1
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"TransformJobName": TransformJobName, "TransformJobStatus": status}


def _tut(statuses: list[str]) -> Any:
    # is_local False: no progress lines from the local SageMaker, only DescribeTransformJob.
    return SimpleNamespace(is_local=False, endpoint_url=None, sagemaker=ScriptedTransformJobs(statuses))


@pytest.fixture()
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    sleeps: list[float] = []
    monkeypatch.setattr(batch.time, "sleep", sleeps.append)
    return sleeps


def test_wait_prints_each_status_once_and_returns_the_description(
    no_sleep: list[float], capsys: pytest.CaptureFixture
) -> None:
    tut = _tut(["InProgress", "InProgress", "InProgress", "Completed"])
    described = batch.wait_for_transform_job(tut, "job")
    assert described["TransformJobStatus"] == "Completed"
    assert capsys.readouterr().out == "InProgress\nCompleted\n"
    assert no_sleep == pytest.approx([0.1, 0.15, 0.225])


@pytest.mark.parametrize("end", ["Failed", "Stopped"])
def test_wait_quietly_ends_on_any_final_status(
    end: str, no_sleep: list[float], capsys: pytest.CaptureFixture
) -> None:
    assert batch.wait_for_transform_job(_tut(["InProgress", end]), "job", quiet=True)[
        "TransformJobStatus"
    ] == end
    assert capsys.readouterr().out == ""


def test_wait_polls_up_to_the_cap_and_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(batch.time, "sleep", sleep)
    monkeypatch.setattr(batch.time, "monotonic", lambda: now[0])
    with pytest.raises(TimeoutError, match="still InProgress"):
        batch.wait_for_transform_job(_tut(["InProgress"]), "job", quiet=True, timeout=60)
    assert max(sleeps) == 15.0 and sleeps == sorted(sleeps)


def test_transform_cost_reads_the_local_meter(monkeypatch: pytest.MonkeyPatch) -> None:
    from utils import local_sagemaker as meter

    rows = [
        {"TransformJobName": name, "InstanceCount": 1, "InstanceType": "ml.m5.large",
         "InstanceSeconds": 12.0, "CostUsd": 0.000383}
        for name in ("mine", "someone-elses")
    ]
    monkeypatch.setattr(meter, "current_costs", lambda url: {"Endpoints": [], "TransformJobs": rows})
    tut = SimpleNamespace(is_local=True, endpoint_url="http://127.0.0.1:1", sagemaker=None)
    cost = batch.transform_cost(tut, ["mine"])
    assert cost.to_dict("records") == [
        {"job": "mine", "instances": "1 × ml.m5.large", "instance_seconds": 12.0, "usd": 0.000383}
    ]
