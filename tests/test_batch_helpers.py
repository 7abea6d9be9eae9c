"""utils.batch without a running SageMaker: waiting for a transform job, and its metered cost."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from endpoint_fakes import FakeClock

from utils import batch


class ScriptedTransformJobs:
    """DescribeTransformJob answers from a script of statuses (the last one repeats)."""

    meta = SimpleNamespace(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com")

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
    clock = FakeClock()
    monkeypatch.setattr(batch.time, "sleep", clock.sleep)
    monkeypatch.setattr(batch.time, "monotonic", clock)
    with pytest.raises(TimeoutError, match="still InProgress"):
        batch.wait_for_transform_job(_tut(["InProgress"]), "job", quiet=True, timeout=60)
    assert max(clock.sleeps) == 15.0 and clock.sleeps == sorted(clock.sleeps)


def test_wait_on_the_local_sagemaker_polls_at_most_every_quarter_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from utils.polling import LOCAL_MAX_POLL_SECONDS

    clock = FakeClock()
    monkeypatch.setattr(batch.time, "sleep", clock.sleep)
    monkeypatch.setattr(batch.time, "monotonic", clock)
    tut = _tut(["InProgress"] * 20 + ["Completed"])
    tut.sagemaker.meta = SimpleNamespace(endpoint_url="http://127.0.0.1:8765")
    batch.wait_for_transform_job(tut, "job", quiet=True)
    assert clock.sleeps[0] == pytest.approx(0.1)
    assert max(clock.sleeps) == LOCAL_MAX_POLL_SECONDS


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


def test_compare_jobs_puts_jobs_on_the_same_input_side_by_side(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import datetime, timedelta

    start = datetime(2026, 1, 1)
    seconds = {"base": 10.0, "two": 5.0}

    class Jobs:
        def describe_transform_job(self, TransformJobName: str) -> dict[str, Any]:
            return {
                "CreationTime": start,
                "TransformStartTime": start,
                "TransformEndTime": start + timedelta(seconds=seconds[TransformJobName]),
            }

    billed = batch.pd.DataFrame(
        [{"job": "base", "instances": "1 × ml.m5.large", "instance_seconds": 10.0, "usd": 0.0003},
         {"job": "two", "instances": "2 × ml.m5.large", "instance_seconds": 10.0, "usd": 0.0003}]
    )
    monkeypatch.setattr(batch, "transform_cost", lambda tut, names: billed)
    frame = batch.compare_jobs(SimpleNamespace(sagemaker=Jobs()), {"defaults": "base",
                                                                 "InstanceCount=2": "two"}, 1000)
    assert frame.to_dict("records") == [
        {"setting": "defaults", "seconds": 10.0, "rows_per_s": 100.0, "instance_seconds": 10.0,
         "usd": 0.0003, "speed_vs_first": 1.0},
        {"setting": "InstanceCount=2", "seconds": 5.0, "rows_per_s": 200.0,
         "instance_seconds": 10.0, "usd": 0.0003, "speed_vs_first": 2.0},
    ]


def test_plot_job_speeds_labels_every_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from utils import plots

    shown = []
    monkeypatch.setattr(plots, "show", shown.append)
    frame = batch.pd.DataFrame({"setting": ["a", "b"], "rows_per_s": [1234.0, 20000.0]})
    batch.plot_job_speeds(frame, title="t")
    (figure,) = shown
    (ax,) = figure.axes
    assert [t.get_text() for t in ax.texts] == ["1,234", "20,000"]
    assert "per second" in ax.get_xlabel()
    plt.close(figure)
