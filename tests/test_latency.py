"""Timed calls, percentiles and latency plots (utils/latency.py), on a scripted runtime client."""

from __future__ import annotations

import pytest
from endpoint_fakes import FakeRuntime

from utils.latency import (
    format_latency,
    latency_stats,
    measure_latency,
    plot_latency,
    timed_invoke,
)


def test_latency_stats_percentiles() -> None:
    stats = latency_stats(range(1, 101))
    assert stats["n"] == 100
    assert stats["mean"] == pytest.approx(50.5)
    assert stats["p50"] == pytest.approx(50.5)
    assert stats["p90"] == pytest.approx(90.1)
    assert stats["p95"] == pytest.approx(95.05)
    assert stats["p99"] == pytest.approx(99.01)
    assert stats["max"] == 100
    assert format_latency(stats) == (
        "100 calls: p50 50.5 ms, p95 95.0 ms, p99 99.0 ms (max 100.0 ms)"
    )
    with pytest.raises(ValueError):
        latency_stats([])


def test_measure_latency_warms_up_then_times_each_call() -> None:
    runtime = FakeRuntime()
    samples = measure_latency(runtime, "ep", "1,2\n", "text/csv", n=20, accept="text/csv")
    assert len(samples) == 20 and all(s >= 0 for s in samples)
    assert len(runtime.calls) == 23
    assert runtime.calls[0] == {
        "EndpointName": "ep", "Body": "1,2\n", "ContentType": "text/csv", "Accept": "text/csv"
    }


def test_timed_invoke_reads_the_body() -> None:
    runtime = FakeRuntime()
    assert timed_invoke(runtime, "ep", "1,2\n") >= 0
    assert runtime.calls == [{"EndpointName": "ep", "Body": "1,2\n", "ContentType": "text/csv"}]


def test_plot_latency_marks_the_percentiles() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = plot_latency(list(range(1, 101)), title="test", show=False)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["p50 50.5 ms", "p95 95.0 ms", "p99 99.0 ms"]
    assert ax.get_title() == "test (100 requests)"
    plt.close(ax.figure)


def test_plot_latency_shows_the_figure_once_and_closes_it(capsys: pytest.CaptureFixture) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    assert plot_latency([1.0, 2.0, 3.0]) is None
    assert "800x300" in capsys.readouterr().out  # outside IPython display() prints the figure
    assert set(plt.get_fignums()) == before
