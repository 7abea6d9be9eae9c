"""Many clients at once, load curves and bursts (utils/concurrency.py), on scripted runtime clients."""

from __future__ import annotations

import time
from typing import Any

import pytest
from endpoint_fakes import FakeRuntime, ThrottlingRuntime

from utils import concurrency
from utils.concurrency import clients_calling, run_concurrent_clients


def test_run_concurrent_clients_counts_requests_variants_and_errors() -> None:
    runtime = FakeRuntime(fail_every=10)
    result = run_concurrent_clients(runtime, "ep", "1,2\n", "text/csv", clients=4,
                                    requests_per_client=10)
    assert result.requests == 40 and len(runtime.calls) == 40
    assert result.errors == 4
    assert result.variants == {"AllTraffic": 36}
    assert len(result.latencies_ms) == 36
    assert result.throughput == pytest.approx(36 / result.seconds)
    text = str(result)
    assert text.startswith("4 clients sent 40 requests in ")
    assert "requests/s, 4 errors" in text and "latency under load: p50" in text


def test_clients_calling_keep_calling_until_the_block_ends() -> None:
    runtime = FakeRuntime(fail_every=5)
    with clients_calling(runtime, "ep", "1,2\n", "text/csv", clients=2) as traffic:
        deadline = time.monotonic() + 5
        while len(runtime.calls) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
    sent = len(runtime.calls)
    assert sent >= 20
    assert traffic.requests == sent and traffic.clients == 2
    assert traffic.errors == len(traffic.error_messages) == sent // 5
    assert traffic.variants == {"AllTraffic": sent - traffic.errors}
    assert traffic.seconds > 0
    time.sleep(0.05)
    assert len(runtime.calls) == sent  # the clients stopped with the block


def test_burst_outcomes_counts_ok_error_codes_and_hung() -> None:
    errors: list[Exception] = []
    outcomes = concurrency.burst_outcomes(ThrottlingRuntime(2), "ep", "1,2\n", 5, errors=errors)
    assert outcomes == {"ok": 2, "ThrottlingException": 3, "hung": 0}
    assert list(outcomes)[-1] == "hung"
    assert [e.response["Error"]["Code"] for e in errors] == ["ThrottlingException"] * 3
    slow = concurrency.burst_outcomes(ThrottlingRuntime(1, seconds=1.0), "ep", "x", 2, timeout=0.3)
    assert slow == {"ThrottlingException": 1, "hung": 1}


def test_the_lessons_burst_views_keep_their_labels() -> None:
    from utils import mistakes, serverless

    refused: list[Exception] = []
    counted = serverless.burst(ThrottlingRuntime(2), "ep", "1,2\n", n=4, errors=refused)
    assert counted == {"result": 2, "ThrottlingException": 2, "hung": 0}
    assert list(counted)[-1] == "hung"
    assert [e.response["Error"]["Code"] for e in refused] == ["ThrottlingException"] * 2
    texts: list[str] = []
    assert mistakes.send_burst(ThrottlingRuntime(1), "ep", "1,2\n", clients=3, errors=texts) == {
        "ThrottlingException": 2, "ok": 1
    }
    assert texts == ["ThrottlingException (HTTP 400): None"] * 2
    assert mistakes.send_burst(ThrottlingRuntime(3), "ep", "1,2\n", clients=3) == {"ok": 3}


def test_load_curve_runs_each_client_count_in_turn() -> None:
    runtime = FakeRuntime()
    results = concurrency.load_curve(runtime, "ep", "1,2\n", "text/csv", clients=(1, 3),
                                   requests_per_client=5)
    assert [(r.clients, r.requests, r.errors) for r in results] == [(1, 5, 0), (3, 15, 0)]
    assert len(runtime.calls) == 20
    assert results[0].variation == 1.0  # one round: nothing to compare


def test_load_curve_rounds_take_turns_and_add_up() -> None:
    runtime = FakeRuntime(fail_every=7)
    order: list[int] = []
    original = concurrency.run_concurrent_clients

    def recording(*args: Any, **kwargs: Any) -> concurrency.ConcurrencyResult:
        result = original(*args, **kwargs)
        order.append(result.clients)
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(concurrency, "run_concurrent_clients", recording)
        results = concurrency.load_curve(runtime, "ep", "1,2\n", "text/csv", clients=(1, 2),
                                       requests_per_client=4, rounds=3)
    assert order == [1, 2, 1, 2, 1, 2]
    one, two = results
    assert (one.clients, one.requests, two.requests) == (1, 12, 24)
    assert one.errors + two.errors == 36 // 7
    assert sum(one.variants.values()) == one.requests - one.errors
    assert len(two.latencies_ms) == two.requests - two.errors
    assert len(one.round_throughputs) == 3
    assert one.variation == max(one.round_throughputs) / min(one.round_throughputs)


def test_plot_load_curve_labels_axes_and_values(monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib

    matplotlib.use("Agg")
    shown = []
    monkeypatch.setattr(concurrency.plots, "show", shown.append)
    results = concurrency.load_curve(FakeRuntime(), "ep", "1,2\n", "text/csv", clients=(1, 2),
                                   requests_per_client=4)
    concurrency.plot_load_curve(results, title="t")
    (figure,) = shown
    left, right = figure.axes
    assert left.get_ylabel() == "requests per second" and right.get_ylabel() == "p50 latency (ms)"
    assert left.get_xlabel() == right.get_xlabel() == "concurrent clients"
    labels = [t.get_text() for t in left.texts]
    assert labels == [f"{r.throughput:.0f}" for r in results]
    import matplotlib.pyplot as plt

    plt.close(figure)


def _rounds(*rates: float) -> concurrency.ConcurrencyResult:
    return concurrency.ConcurrencyResult(
        clients=8, requests=80 * len(rates), errors=0, seconds=1.0, latencies_ms=[],
        round_throughputs=list(rates),
    )


def test_compare_rounds_calls_a_change_only_when_the_rounds_do_not_overlap() -> None:
    one = _rounds(30, 34, 32, 31, 33)
    assert concurrency.compare_rounds(one, _rounds(35, 40, 38, 36, 37)) == "more"
    assert concurrency.compare_rounds(one, _rounds(20, 25, 29, 22, 21)) == "fewer"
    # the totals differ by a fifth, but one round of each overlaps the other: noise
    assert concurrency.compare_rounds(one, _rounds(33, 40, 39, 41, 40)) == "cannot tell"
    assert concurrency.compare_rounds(one, _rounds(50)) == "cannot tell"  # one round: no noise
    assert concurrency.compare_rounds(_rounds(30), one) == "cannot tell"
