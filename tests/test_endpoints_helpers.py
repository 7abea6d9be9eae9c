"""The notebook-facing endpoint helpers (utils/endpoints.py), without a running SageMaker.

Waiting and clean-up are driven by scripted fakes of the SageMaker client and a fake clock;
logs and metrics use moto's CloudWatch Logs and CloudWatch in-process (real API shapes, the
same calls the helpers make on AWS).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from utils import endpoints
from utils.endpoints import (
    EndpointFailed,
    clients_calling,
    delete_endpoint_resources,
    format_cost_rows,
    format_latency,
    latency_stats,
    measure_latency,
    read_endpoint_logs,
    read_endpoint_metrics,
    requests_per_instance,
    run_concurrent_clients,
    wait_for_endpoint,
)


def not_found(kind: str, name: str) -> ClientError:
    message = f'Could not find {kind} "arn:aws:sagemaker:us-east-1:123456789012:{kind}/{name}".'
    return ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "Describe")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedSageMaker:
    """DescribeEndpoint answers from a script of statuses (an exception ends the endpoint)."""

    def __init__(self, statuses: list[Any], reason: str = "") -> None:
        self.statuses = list(statuses)
        self.reason = reason
        self.deleted: list[tuple[str, str]] = []
        self.missing: set[tuple[str, str]] = set()

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if isinstance(status, Exception):
            raise status
        out = {"EndpointName": EndpointName, "EndpointStatus": status}
        if status == "Failed":
            out["FailureReason"] = self.reason
        return out

    def _delete(self, kind: str, name: str) -> None:
        if (kind, name) in self.missing:
            raise not_found(kind, name)
        self.deleted.append((kind, name))

    def delete_endpoint(self, EndpointName: str) -> None:
        self._delete("endpoint", EndpointName)

    def delete_endpoint_config(self, EndpointConfigName: str) -> None:
        self._delete("endpoint-config", EndpointConfigName)

    def delete_model(self, ModelName: str) -> None:
        self._delete("model", ModelName)


# --- wait_for_endpoint -----------------------------------------------------------------------


def test_wait_prints_each_status_change_once_and_returns_the_description() -> None:
    sm = ScriptedSageMaker(["Creating", "Creating", "Creating", "InService"])
    clock, lines = FakeClock(), []
    described = wait_for_endpoint(
        sm, "ep", show=lines.append, sleep=clock.sleep, clock=clock
    )
    assert described["EndpointStatus"] == "InService"
    assert [line.split()[0] for line in lines] == ["Creating", "InService"]
    assert lines[0] == "Creating   0.0 s"
    assert lines[1].endswith(f"{sum(clock.sleeps):.1f} s")


def test_default_polling_starts_fast_and_slows_down_to_a_cap() -> None:
    sm = ScriptedSageMaker(["Creating"] * 30 + ["InService"])
    clock = FakeClock()
    wait_for_endpoint(sm, "ep", show=None, sleep=clock.sleep, clock=clock)
    assert clock.sleeps[0] == pytest.approx(endpoints.FIRST_POLL_SECONDS)
    assert clock.sleeps == sorted(clock.sleeps)
    assert max(clock.sleeps) == endpoints.MAX_POLL_SECONDS


def test_fixed_poll_interval() -> None:
    sm = ScriptedSageMaker(["Updating"] * 3 + ["InService"])
    clock = FakeClock()
    wait_for_endpoint(sm, "ep", poll_seconds=1, show=None, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [1, 1, 1]


def test_failed_endpoint_raises_with_its_failure_reason() -> None:
    reason = "The primary container for production variant AllTraffic did not pass the ping"
    sm = ScriptedSageMaker(["Creating", "Failed"], reason=reason)
    clock = FakeClock()
    with pytest.raises(EndpointFailed, match="did not pass the ping"):
        wait_for_endpoint(sm, "ep", show=None, sleep=clock.sleep, clock=clock)


def test_timeout() -> None:
    sm = ScriptedSageMaker(["Creating"])
    clock = FakeClock()
    with pytest.raises(TimeoutError, match="still Creating"):
        wait_for_endpoint(sm, "ep", timeout=10, show=None, sleep=clock.sleep, clock=clock)


def test_wait_until_deleted_ends_when_describe_no_longer_finds_it() -> None:
    sm = ScriptedSageMaker(["Deleting", "Deleting", not_found("endpoint", "ep")])
    clock, lines = FakeClock(), []
    assert wait_for_endpoint(
        sm, "ep", until="Deleted", show=lines.append, sleep=clock.sleep, clock=clock
    ) == {}
    assert [line.split()[0] for line in lines] == ["Deleting", "Deleted"]


def test_other_errors_are_not_swallowed() -> None:
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Describe")
    sm = ScriptedSageMaker([denied])
    with pytest.raises(ClientError, match="AccessDenied"):
        wait_for_endpoint(sm, "ep", until="Deleted", show=None)
    sm = ScriptedSageMaker([not_found("endpoint", "ep")])
    with pytest.raises(ClientError, match="Could not find"):
        wait_for_endpoint(sm, "ep", show=None)  # waiting for InService: not found is an error


# --- latency -----------------------------------------------------------------------------------


def test_latency_stats_percentiles() -> None:
    stats = latency_stats(range(1, 101))
    assert stats["n"] == 100
    assert stats["mean"] == pytest.approx(50.5)
    assert stats["p50"] == pytest.approx(50.5)
    assert stats["p95"] == pytest.approx(95.05)
    assert stats["p99"] == pytest.approx(99.01)
    assert stats["max"] == 100
    assert format_latency(stats) == (
        "100 calls: p50 50.5 ms, p95 95.0 ms, p99 99.0 ms (max 100.0 ms)"
    )
    with pytest.raises(ValueError):
        latency_stats([])


class FakeBody:
    def read(self) -> bytes:
        return b"0.1,approve\n"


class FakeRuntime:
    """InvokeEndpoint that records calls (thread-safe) and fails every ``fail_every``-th call."""

    def __init__(self, fail_every: int = 0) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.fail_every = fail_every

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            self.calls.append(kwargs)
            count = len(self.calls)
        if self.fail_every and count % self.fail_every == 0:
            raise RuntimeError("ThrottlingException")
        return {"Body": FakeBody(), "InvokedProductionVariant": "AllTraffic"}


def test_measure_latency_warms_up_then_times_each_call() -> None:
    runtime = FakeRuntime()
    samples = measure_latency(runtime, "ep", "1,2\n", "text/csv", n=20, accept="text/csv")
    assert len(samples) == 20 and all(s >= 0 for s in samples)
    assert len(runtime.calls) == 23
    assert runtime.calls[0] == {
        "EndpointName": "ep", "Body": "1,2\n", "ContentType": "text/csv", "Accept": "text/csv"
    }


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


def test_poll_intervals_grow_to_a_cap_or_stay_fixed() -> None:
    from itertools import islice

    from utils.polling import poll_intervals

    assert list(islice(poll_intervals(0.1, 1.0), 8)) == pytest.approx(
        [0.1, 0.15, 0.225, 0.3375, 0.50625, 0.759375, 1.0, 1.0]
    )
    assert list(islice(poll_intervals(2.0, 2.0), 3)) == [2.0, 2.0, 2.0]
    assert next(poll_intervals()) == endpoints.FIRST_POLL_SECONDS


def test_timed_invoke_reads_the_body() -> None:
    runtime = FakeRuntime()
    assert endpoints.timed_invoke(runtime, "ep", "1,2\n") >= 0
    assert runtime.calls == [{"EndpointName": "ep", "Body": "1,2\n", "ContentType": "text/csv"}]


class ThrottlingRuntime:
    """Admits ``slots`` requests at a time (each takes ``seconds``); throttles the rest at once."""

    exceptions = None

    def __init__(self, slots: int, seconds: float = 0.2) -> None:
        self.slots = threading.Semaphore(slots)
        self.seconds = seconds

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        if not self.slots.acquire(blocking=False):
            raise ClientError(
                {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                "InvokeEndpoint",
            )
        try:
            time.sleep(self.seconds)
            return {"Body": FakeBody()}
        finally:
            self.slots.release()


def test_burst_outcomes_counts_ok_error_codes_and_hung() -> None:
    errors: list[Exception] = []
    outcomes = endpoints.burst_outcomes(ThrottlingRuntime(2), "ep", "1,2\n", 5, errors=errors)
    assert outcomes == {"ok": 2, "ThrottlingException": 3, "hung": 0}
    assert list(outcomes)[-1] == "hung"
    assert [e.response["Error"]["Code"] for e in errors] == ["ThrottlingException"] * 3
    slow = endpoints.burst_outcomes(ThrottlingRuntime(1, seconds=1.0), "ep", "x", 2, timeout=0.3)
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


def test_plot_latency_marks_the_percentiles() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = endpoints.plot_latency(list(range(1, 101)), title="test", show=False)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["p50 50.5 ms", "p95 95.0 ms", "p99 99.0 ms"]
    assert ax.get_title() == "test (100 requests)"
    plt.close(ax.figure)


# --- logs and metrics (moto) -------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LOGS", "AWS_ENDPOINT_URL_CLOUDWATCH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


def _put_lines(logs: Any, endpoint: str, stream: str, lines: list[tuple[int, str]]) -> None:
    group = f"/aws/sagemaker/Endpoints/{endpoint}"
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": ts, "message": message} for ts, message in lines],
    )


ACCESS = '127.0.0.1 - - [29/Nov/2026 20:15:41] "POST /invocations HTTP/1.1" 200 -'
PING = '127.0.0.1 - - [29/Nov/2026 20:15:41] "GET /ping HTTP/1.1" 200 -'


def test_read_endpoint_logs_merges_streams_in_time_order_and_filters(aws: None) -> None:
    logs = boto3.client("logs")
    base = int(time.time() * 1000) - 60_000  # AWS (and moto) refuse events from the future
    _put_lines(logs, "ep", "AllTraffic/i-aaa", [(base + 1, "Loaded"), (base + 30, ACCESS)])
    _put_lines(logs, "ep", "AllTraffic/i-bbb", [(base + 2, "Loaded"), (base + 20, ACCESS),
                                                (base + 25, PING), (base + 40, ACCESS)])
    events = read_endpoint_logs(logs, "ep")
    assert [e.timestamp_ms - base for e in events] == [1, 2, 20, 25, 30, 40]
    assert events[0].stream == "AllTraffic/i-aaa" and events[0].message == "Loaded"

    assert len(read_endpoint_logs(logs, "ep", contains="POST /invocations")) == 3
    assert len(read_endpoint_logs(logs, "ep", since_ms=base + 25)) == 3
    assert [e.timestamp_ms - base for e in read_endpoint_logs(logs, "ep", limit=2)] == [30, 40]
    assert requests_per_instance(events) == {"AllTraffic/i-aaa": 1, "AllTraffic/i-bbb": 2}


def test_read_endpoint_logs_polls_until_enough_lines_or_timeout(aws: None) -> None:
    logs = boto3.client("logs")
    sleeps: list[float] = []
    # No log group yet: keeps polling until the timeout, then returns nothing.
    assert read_endpoint_logs(logs, "missing", timeout=0.5, sleep=sleeps.append) == []
    assert sleeps

    # Lines arrive while waiting: the second poll finds them.
    def arrive(seconds: float) -> None:
        if not arrivals:
            _put_lines(logs, "late", "AllTraffic/i-ccc", [(int(time.time() * 1000), ACCESS)] * 2)
        arrivals.append(seconds)

    arrivals: list[float] = []

    events = read_endpoint_logs(logs, "late", min_events=2, timeout=30, sleep=arrive)
    assert len(events) == 2


def _publish(cloudwatch: Any, endpoint: str, metric: str, values: list[float], unit: str) -> None:
    """As the local SageMaker (and AWS) publish them: statistic sets per endpoint variant."""
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[{
            "MetricName": metric,
            "Dimensions": [
                {"Name": "EndpointName", "Value": endpoint},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ],
            "StatisticValues": {
                "SampleCount": float(len(values)),
                "Sum": float(sum(values)),
                "Minimum": float(min(values)),
                "Maximum": float(max(values)),
            },
            "Unit": unit,
        }],
    )


def test_read_endpoint_metrics_sums_counts_and_averages_latency_in_ms(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    _publish(cloudwatch, "ep", "Invocations", [1, 1, 1], "None")
    _publish(cloudwatch, "ep", "Invocations", [1, 1], "None")
    _publish(cloudwatch, "ep", "Invocation4XXErrors", [0, 1, 0, 0, 0], "None")
    _publish(cloudwatch, "ep", "ModelLatency", [10_000, 20_000, 30_000], "Microseconds")
    _publish(cloudwatch, "ep", "ModelLatency", [40_000, 50_000], "Microseconds")
    _publish(cloudwatch, "other", "Invocations", [1] * 7, "None")
    metrics = read_endpoint_metrics(cloudwatch, "ep", min_invocations=5)
    assert metrics["Invocations"] == 5
    assert metrics["Invocation4XXErrors"] == 1
    assert metrics["Invocation5XXErrors"] == 0
    assert metrics["ModelLatency_ms"] == pytest.approx(30.0)  # over requests, not per batch


def test_read_endpoint_metrics_gives_up_after_the_timeout(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    sleeps: list[float] = []
    shown: list[str] = []
    metrics = read_endpoint_metrics(cloudwatch, "ep", min_invocations=1, timeout=0.3,
                                    sleep=sleeps.append, show=shown.append, announce_after=0.1)
    assert metrics["Invocations"] == 0 and sleeps
    assert metrics["ModelLatency_ms"] != metrics["ModelLatency_ms"]  # NaN: no requests
    assert shown == [
        "CloudWatch has 0 of 1 invocations so far (on AWS metrics arrive about a minute after "
        "the requests); waiting at most 0 s in all."
    ]


def test_read_endpoint_metrics_says_nothing_when_the_metrics_are_there(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    _publish(cloudwatch, "ep", "Invocations", [1, 1], "None")
    shown: list[str] = []
    metrics = read_endpoint_metrics(cloudwatch, "ep", min_invocations=2, show=shown.append,
                                    announce_after=0.0)
    assert metrics["Invocations"] == 2 and shown == []


# --- cost and clean-up -------------------------------------------------------------------------


def _row(name: str, running: bool, count: int, seconds: float, price: float | None) -> dict:
    return {
        "EndpointName": name,
        "VariantName": "AllTraffic",
        "InstanceType": "ml.m5.large",
        "InstanceCount": count if running else 0,
        "Running": running,
        "InstanceSeconds": seconds,
        "UsdPerHour": price,
        "CostUsd": None if price is None else round(seconds * price / 3600, 6),
    }


def test_format_cost_rows() -> None:
    rows = [
        _row("loan-endpoint-1a2b3c4d", True, 2, 72.0, 0.115),
        _row("loan-sdk-endpoint-5e6f7a8b", False, 1, 9.5, 0.115),
        _row("someone-elses", True, 1, 3600.0, 0.115),
    ]
    text = format_cost_rows(rows, {"loan-endpoint-1a2b3c4d", "loan-sdk-endpoint-5e6f7a8b"})
    lines = text.splitlines()
    assert lines[0].split() == ["endpoint", "instances", "now", "price", "billed", "so", "far"]
    assert lines[1].split() == [
        "loan-endpoint-1a2b3c4d", "2", "×", "ml.m5.large", "$0.115/h", "72.0", "instance-seconds",
        "=", "$0.002300"
    ]
    assert lines[2].split()[1:3] == ["deleted", "$0.115/h"]
    assert lines[3] == "total so far: $0.002603"
    assert "someone-elses" not in text
    unknown = format_cost_rows([_row("x", True, 1, 5.0, None)])
    assert "unknown" in unknown
    assert format_cost_rows([], set()).splitlines()[1] == "(no endpoint has run yet)"


def test_cost_so_far_reads_the_local_meter(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from utils import local_sagemaker as meter

    asked = []

    def fake_costs(url: str) -> dict:
        asked.append(url)
        return {"Endpoints": [_row("ep", True, 1, 36.0, 0.115)]}

    monkeypatch.setattr(meter, "current_costs", fake_costs)
    tut = SimpleNamespace(is_local=True, endpoint_url="http://127.0.0.1:1", sagemaker=None)
    text = endpoints.cost_so_far(tut, endpoints=["ep"])
    assert asked == ["http://127.0.0.1:1"]
    assert "$0.001150" in text


def test_delete_endpoint_resources_skips_what_is_gone_and_waits() -> None:
    sm = ScriptedSageMaker([not_found("endpoint", "ep")])
    sm.missing = {("endpoint-config", "old-config")}
    deleted = delete_endpoint_resources(
        sm, endpoints=["ep"], endpoint_configs=["cfg", "old-config"], models=["model"]
    )
    assert deleted == ["endpoint ep", "endpoint config cfg", "model model"]
    assert sm.deleted == [("endpoint", "ep"), ("endpoint-config", "cfg"), ("model", "model")]


def test_plot_latency_shows_the_figure_once_and_closes_it(capsys: pytest.CaptureFixture) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    assert endpoints.plot_latency([1.0, 2.0, 3.0]) is None
    assert "800x300" in capsys.readouterr().out  # outside IPython display() prints the figure
    assert set(plt.get_fignums()) == before


def test_load_curve_runs_each_client_count_in_turn() -> None:
    runtime = FakeRuntime()
    results = endpoints.load_curve(runtime, "ep", "1,2\n", "text/csv", clients=(1, 3),
                                   requests_per_client=5)
    assert [(r.clients, r.requests, r.errors) for r in results] == [(1, 5, 0), (3, 15, 0)]
    assert len(runtime.calls) == 20
    assert results[0].variation == 1.0  # one round: nothing to compare


def test_load_curve_rounds_take_turns_and_add_up() -> None:
    runtime = FakeRuntime(fail_every=7)
    order: list[int] = []
    original = endpoints.run_concurrent_clients

    def recording(*args: Any, **kwargs: Any) -> endpoints.ConcurrencyResult:
        result = original(*args, **kwargs)
        order.append(result.clients)
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(endpoints, "run_concurrent_clients", recording)
        results = endpoints.load_curve(runtime, "ep", "1,2\n", "text/csv", clients=(1, 2),
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
    monkeypatch.setattr(endpoints.plots, "show", shown.append)
    results = endpoints.load_curve(FakeRuntime(), "ep", "1,2\n", "text/csv", clients=(1, 2),
                                   requests_per_client=4)
    endpoints.plot_load_curve(results, title="t")
    (figure,) = shown
    left, right = figure.axes
    assert left.get_ylabel() == "requests per second" and right.get_ylabel() == "p50 latency (ms)"
    assert left.get_xlabel() == right.get_xlabel() == "concurrent clients"
    labels = [t.get_text() for t in left.texts]
    assert labels == [f"{r.throughput:.0f}" for r in results]
    import matplotlib.pyplot as plt

    plt.close(figure)


def test_plots_show_displays_once_and_closes(capsys: pytest.CaptureFixture) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from utils import plots

    figure, _ = plt.subplots(figsize=(2, 1))
    plots.show(figure)
    assert "200x100" in capsys.readouterr().out  # outside IPython, display() prints it
    assert figure.number not in plt.get_fignums()
