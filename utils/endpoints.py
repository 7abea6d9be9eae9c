"""Notebook-facing helpers for real-time endpoints: waiting, measuring, logs, metrics and cost.

The lessons call these by names that say what they do, so the cells stay about the SageMaker API
and not about polling loops or percentile maths. Every helper takes ordinary boto3 clients and
works the same on the local SageMaker and on AWS: nothing here asks which backend it is on.

* :func:`wait_for_endpoint` polls DescribeEndpoint and prints each status as it changes;
* :func:`timed_invoke`, :func:`measure_latency`, :func:`latency_stats`, :func:`plot_latency`:
  client-side round trips; :func:`plot_durations`: times of different sizes side by side;
* :func:`run_concurrent_clients`: several threads invoking at once, with throughput;
  :func:`load_curve` and :func:`plot_load_curve`: the same for 1, 2, 4, 8 clients, drawn;
  :func:`clients_calling`: clients that keep calling while something else happens (an update);
* :func:`burst_outcomes`: ``n`` requests at the same moment, counted by outcome (throttles);
* :func:`read_endpoint_logs`, :func:`requests_per_instance`: the endpoint's CloudWatch Logs;
* :func:`read_endpoint_metrics`: its ``AWS/SageMaker`` metrics (Invocations, ModelLatency, ...);
* :func:`cost_so_far`: what the endpoints have cost so far, as AWS bills them;
* :func:`delete_endpoint_resources`: clean up, tolerating what is already gone.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from utils import plots
from utils.cloudwatch import metric_datapoints, wait_for_metrics
from utils.polling import FIRST_POLL_SECONDS, MAX_POLL_SECONDS, poll_intervals
from utils.progress import LiveWait

__all__ = [
    "FIRST_POLL_SECONDS",
    "MAX_POLL_SECONDS",
    "ConcurrencyResult",
    "EndpointFailed",
    "LogEvent",
    "burst_outcomes",
    "clients_calling",
    "cost_so_far",
    "delete_endpoint_resources",
    "format_cost_rows",
    "format_latency",
    "latency_stats",
    "load_curve",
    "log_group_for",
    "measure_latency",
    "plot_durations",
    "plot_latency",
    "plot_load_curve",
    "read_endpoint_logs",
    "read_endpoint_metrics",
    "requests_per_instance",
    "run_concurrent_clients",
    "timed_invoke",
    "wait_for_endpoint",
]

#: Statuses after which waiting for another status is pointless.
_TERMINAL = {"Failed", "UpdateRollbackFailed"}


def _poll_intervals(poll_seconds: float | None) -> Iterator[float]:
    """Fixed ``poll_seconds``, or (None) 0.2 s growing by half each time up to 15 s."""
    if poll_seconds is not None:
        return poll_intervals(poll_seconds, poll_seconds)
    return poll_intervals()


def _is_not_found(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    message = str(error)
    return code in ("ValidationException", "ValidationError") and "Could not find" in message


class EndpointFailed(RuntimeError):
    """The endpoint ended in ``Failed`` (or a rollback failure) instead of the wanted status."""


def wait_for_endpoint(
    sm: Any,
    name: str,
    until: str = "InService",
    poll_seconds: float | None = None,
    timeout: float = 3600.0,
    show: Callable[[str], None] | None = print,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll DescribeEndpoint until ``name`` is ``until``; print each status as it changes.

    ``until`` is an endpoint status (``InService``, ...) or ``"Deleted"`` (wait until
    DescribeEndpoint no longer finds it; returns ``{}``). By default the poll interval adapts:
    0.2 s at first, growing to 15 s, so a local endpoint is seen the moment it is ready and a
    real one (minutes) is not polled hundreds of times. Raises :class:`EndpointFailed` with
    the ``FailureReason`` if the endpoint fails, ``TimeoutError`` after ``timeout`` seconds.
    Each printed line is ``<status>  <seconds since the call> s``; in between, a live line shows
    the status and the time elapsed (:class:`utils.progress.LiveWait`).
    """
    start = clock()
    last: str | None = None
    intervals = _poll_intervals(poll_seconds)
    with LiveWait(f"endpoint {name}", show, clock) as live:

        def report(status: str, final: bool = False) -> None:
            text = f"{status:<10} {clock() - start:.1f} s"
            if final:
                live.finish(text)
            else:
                live.line(text)

        while True:
            try:
                described = sm.describe_endpoint(EndpointName=name)
            except Exception as error:
                if until == "Deleted" and _is_not_found(error):
                    report("Deleted", final=True)
                    return {}
                raise
            status = described["EndpointStatus"]
            ended = status == until or status in _TERMINAL
            if status != last or ended:
                report(status, final=ended)
                last = status
            if status == until:
                return described
            if status in _TERMINAL:
                reason = described.get("FailureReason", "no FailureReason given")
                raise EndpointFailed(f"endpoint {name} is {status}: {reason}")
            if clock() - start >= timeout:
                live.finish(f"still {status} after {timeout:.0f} s: stopped waiting")
                raise TimeoutError(f"endpoint {name} still {status} after {timeout:.0f} s")
            live.update(status)
            live.sleep(next(intervals), sleep)


# --- latency -------------------------------------------------------------------------------------


def latency_stats(samples_ms: Sequence[float]) -> dict[str, float]:
    """``n``, ``mean``, ``p50``, ``p95``, ``p99`` and ``max`` of latencies in milliseconds.

    Percentiles use linear interpolation between the closest ranks (numpy's default).
    """
    values = np.asarray(list(samples_ms), dtype=float)
    if values.size == 0:
        raise ValueError("no latency samples")
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "n": int(values.size),
        "mean": float(values.mean()),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "max": float(values.max()),
    }


def format_latency(stats: dict[str, float]) -> str:
    """One line: ``200 calls: p50 12.3 ms, p95 15.0 ms, p99 19.8 ms (max 25.1 ms)``."""
    return (
        f"{stats['n']} calls: p50 {stats['p50']:.1f} ms, p95 {stats['p95']:.1f} ms, "
        f"p99 {stats['p99']:.1f} ms (max {stats['max']:.1f} ms)"
    )


def _invoke_once(
    runtime: Any, endpoint: str, body: str | bytes, content_type: str, accept: str | None
) -> tuple[float, str]:
    """One InvokeEndpoint, body read to the end; returns (milliseconds, invoked variant)."""
    kwargs: dict[str, Any] = {"EndpointName": endpoint, "Body": body, "ContentType": content_type}
    if accept:
        kwargs["Accept"] = accept
    started = time.perf_counter()
    response = runtime.invoke_endpoint(**kwargs)
    response["Body"].read()
    elapsed_ms = (time.perf_counter() - started) * 1000
    return elapsed_ms, response.get("InvokedProductionVariant", "")


def timed_invoke(
    runtime: Any,
    endpoint: str,
    body: str | bytes,
    content_type: str = "text/csv",
    accept: str | None = None,
) -> float:
    """Milliseconds for one InvokeEndpoint round trip (the body is read to the end)."""
    return _invoke_once(runtime, endpoint, body, content_type, accept)[0]


def measure_latency(
    runtime: Any,
    endpoint: str,
    body: str | bytes,
    content_type: str,
    n: int = 200,
    accept: str | None = None,
    warmup: int = 3,
) -> list[float]:
    """Invoke ``n`` times one after another; return each round trip in milliseconds.

    Measured on the client, from sending the request to having read the whole response, so it
    includes the network and SageMaker's own overhead, not only the model. ``warmup`` calls
    first (not measured) open the connection and warm the container's caches.
    """
    for _ in range(warmup):
        _invoke_once(runtime, endpoint, body, content_type, accept)
    return [_invoke_once(runtime, endpoint, body, content_type, accept)[0] for _ in range(n)]


def plot_latency(
    samples_ms: Sequence[float],
    title: str = "Round-trip latency",
    ax: Any = None,
    show: bool = True,
) -> Any:
    """Histogram of ``samples_ms`` with the p50, p95 and p99 marked.

    With ``show`` (and no ``ax`` given) the figure is displayed once, closed, and nothing is
    returned, whatever the matplotlib backend: inline in Jupyter it shows as an image, with a
    non-interactive backend (CI) as its one-line description, so stored notebook outputs compare
    equal. Otherwise the Axes is returned for further drawing.
    """
    import matplotlib.pyplot as plt

    stats = latency_stats(samples_ms)
    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(8, 3))
    ax.hist(samples_ms, bins=40, color="#8fb3d9", edgecolor="white")
    for key, style in (("p50", "-"), ("p95", "--"), ("p99", ":")):
        ax.axvline(stats[key], color="#1f3b57", linestyle=style, label=f"{key} {stats[key]:.1f} ms")
    ax.set_xlabel("milliseconds per request (client side)")
    ax.set_ylabel("requests")
    ax.set_title(f"{title} ({stats['n']} requests)")
    ax.legend()
    if show and own_figure:
        plots.show(ax.figure)
        return None
    return ax


def plot_durations(
    durations_ms: dict[str, float], title: str, note: str = "", show: bool = True
) -> Any:
    """Horizontal bars of labelled durations on a log scale, each bar labelled with its value.

    For times that differ by orders of magnitude (a warm request in milliseconds, a cold start in
    seconds, a whole job in tens of seconds): on a linear axis the short ones would vanish.
    Displayed and closed like :func:`plot_latency` when ``show``; otherwise the Axes is returned.
    """
    import matplotlib.pyplot as plt

    labels = list(durations_ms)
    values = [durations_ms[label] for label in labels]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(labels) + 1.2))
    ax.barh(labels, values, color="#8fb3d9")
    for y, value in enumerate(values):
        text = f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"
        if value >= 1000:
            text = f"{value / 1000:,.1f} s"
        ax.annotate(f" {text}", (value, y), va="center", fontsize=9)
    ax.set_xscale("log")
    ax.set_xlim(min(values) / 2, max(values) * 6)  # room for the labels
    ax.invert_yaxis()  # first label on top
    ax.set_xlabel("milliseconds (log scale)" + (f"; {note}" if note else ""))
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    if show:
        plots.show(fig)
        return None
    return ax


# --- concurrency ---------------------------------------------------------------------------------


@dataclass
class ConcurrencyResult:
    """What :func:`run_concurrent_clients` measured."""

    clients: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    variants: Counter = field(default_factory=Counter)
    error_messages: list[str] = field(default_factory=list, repr=False)
    #: Throughput of each round, when the result adds up several rounds (:func:`load_curve`).
    round_throughputs: list[float] = field(default_factory=list, repr=False)

    @property
    def throughput(self) -> float:
        """Successful requests per second over the whole run."""
        return (self.requests - self.errors) / self.seconds if self.seconds > 0 else 0.0

    @property
    def variation(self) -> float:
        """Fastest round's throughput over the slowest's (1.0 with fewer than two rounds): how
        much the same measurement varied within this run, the yardstick for calling a difference
        between two results measurable."""
        rates = [r for r in self.round_throughputs if r > 0]
        return max(rates) / min(rates) if len(rates) >= 2 else 1.0

    def __str__(self) -> str:
        stats = latency_stats(self.latencies_ms) if self.latencies_ms else None
        lines = [
            f"{self.clients} client{'s' if self.clients != 1 else ''} sent {self.requests} "
            f"requests in {self.seconds:.2f} s: "
            f"{self.throughput:.1f} requests/s, {self.errors} errors",
        ]
        if stats:
            lines.append("latency under load: " + format_latency(stats).split(": ", 1)[1])
        return "\n".join(lines)


def run_concurrent_clients(
    runtime: Any,
    endpoint: str,
    body: str | bytes,
    content_type: str,
    clients: int = 8,
    requests_per_client: int = 25,
    accept: str | None = None,
) -> ConcurrencyResult:
    """``clients`` threads each invoke ``requests_per_client`` times, all starting together.

    boto3 clients are thread-safe; the default connection pool holds 10 connections, enough for
    up to 10 clients. Errors are counted (with their messages), not raised.
    """
    barrier = threading.Barrier(clients)
    lock = threading.Lock()
    latencies: list[float] = []
    variants: Counter = Counter()
    errors: list[str] = []

    def client() -> None:
        barrier.wait()
        for _ in range(requests_per_client):
            try:
                ms, variant = _invoke_once(runtime, endpoint, body, content_type, accept)
            except Exception as error:
                with lock:
                    errors.append(str(error))
                continue
            with lock:
                latencies.append(ms)
                variants[variant] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    seconds = time.perf_counter() - started
    return ConcurrencyResult(
        clients=clients,
        requests=clients * requests_per_client,
        errors=len(errors),
        seconds=seconds,
        latencies_ms=latencies,
        variants=variants,
        error_messages=errors,
    )


@contextmanager
def clients_calling(
    runtime: Any,
    endpoint: str,
    body: str | bytes,
    content_type: str,
    clients: int = 2,
    accept: str | None = None,
) -> Iterator[ConcurrencyResult]:
    """``clients`` threads invoke the endpoint one request after another for as long as the
    ``with`` block runs; on leaving it they stop and the yielded result is filled in.

    For "does the endpoint keep answering while it changes?": the traffic lasts exactly as long
    as the change, whether that takes seconds (locally) or minutes (on AWS). Errors are counted
    with their messages, not raised.
    """
    stop = threading.Event()
    lock = threading.Lock()
    result = ConcurrencyResult(clients=clients, requests=0, errors=0, seconds=0.0, latencies_ms=[])

    def client() -> None:
        while not stop.is_set():
            try:
                ms, variant = _invoke_once(runtime, endpoint, body, content_type, accept)
            except Exception as error:
                with lock:
                    result.requests += 1
                    result.errors += 1
                    result.error_messages.append(str(error))
                continue
            with lock:
                result.requests += 1
                result.latencies_ms.append(ms)
                result.variants[variant] += 1

    started = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=clients)
    futures = [pool.submit(client) for _ in range(clients)]
    try:
        yield result
    finally:
        stop.set()
        for future in futures:
            future.result()
        pool.shutdown()
        result.seconds = time.perf_counter() - started


def load_curve(
    runtime: Any,
    endpoint: str,
    body: str | bytes,
    content_type: str,
    clients: Sequence[int] = (1, 2, 4, 8),
    requests_per_client: int = 25,
    accept: str | None = None,
    rounds: int = 1,
) -> list[ConcurrencyResult]:
    """:func:`run_concurrent_clients` per number of ``clients``, smallest first, ``rounds`` times.

    Each step sends ``requests_per_client`` requests from every client, so more clients means
    more requests; throughput (requests/s) and latency are comparable across steps. With several
    ``rounds`` the steps take turns (1, 2, 4, 8, 1, 2, ...), so that a busy moment of the machine
    slows every step alike instead of one; each step's result adds its rounds up, and keeps each
    round's throughput (``round_throughputs``, ``variation``).
    """
    runs: dict[int, list[ConcurrencyResult]] = {n: [] for n in clients}
    for _ in range(rounds):
        for n in clients:
            runs[n].append(
                run_concurrent_clients(
                    runtime, endpoint, body, content_type, n, requests_per_client, accept
                )
            )
    return [_added_up(n, runs[n]) for n in clients]


def _added_up(clients: int, runs: list[ConcurrencyResult]) -> ConcurrencyResult:
    """Several runs with the same number of clients, as one result."""
    variants: Counter = Counter()
    for run in runs:
        variants.update(run.variants)
    return ConcurrencyResult(
        clients=clients,
        requests=sum(r.requests for r in runs),
        errors=sum(r.errors for r in runs),
        seconds=sum(r.seconds for r in runs),
        latencies_ms=[ms for r in runs for ms in r.latencies_ms],
        variants=variants,
        error_messages=[m for r in runs for m in r.error_messages],
        round_throughputs=[r.throughput for r in runs],
    )


def plot_load_curve(results: Sequence[ConcurrencyResult], title: str = "One endpoint") -> None:
    """Throughput and p50 latency against the number of concurrent clients, values labelled."""
    import matplotlib.pyplot as plt

    clients = [str(r.clients) for r in results]
    throughput = [r.throughput for r in results]
    p50 = [latency_stats(r.latencies_ms)["p50"] for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
    bars = left.bar(clients, throughput, color="#2e86c1")
    left.bar_label(bars, fmt="%.0f")
    left.set_xlabel("concurrent clients")
    left.set_ylabel("requests per second")
    left.set_title("Throughput")
    bars = right.bar(clients, p50, color="#c0392b")
    right.bar_label(bars, fmt="%.0f")
    right.set_xlabel("concurrent clients")
    right.set_ylabel("p50 latency (ms)")
    right.set_title("Latency each client sees")
    for ax in (left, right):
        ax.margins(y=0.2)
    fig.suptitle(title)
    fig.tight_layout()
    plots.show(fig)


def _error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError (``ThrottlingException``, ...), else its type."""
    return getattr(error, "response", {}).get("Error", {}).get("Code") or type(error).__name__


def burst_outcomes(
    runtime: Any,
    endpoint: str,
    body: str | bytes,
    n: int,
    content_type: str = "text/csv",
    timeout: float = 75.0,
    errors: list[Exception] | None = None,
) -> Counter:
    """Send ``n`` requests at the same moment (one thread each, released together); count outcomes.

    Outcomes are ``"ok"``, the error code of each failed request (``ThrottlingException``,
    ``ModelError``, ...) in the order the answers came, then ``"hung"``: the requests still
    unanswered after ``timeout`` seconds (always present, often 0). Each failure's exception is
    appended to ``errors`` when given. botocore retries throttles by default: use a client
    without retries to see every one.
    """
    barrier = threading.Barrier(n)

    def call() -> tuple[float, str, Exception | None]:
        try:
            barrier.wait(timeout)
            runtime.invoke_endpoint(EndpointName=endpoint, ContentType=content_type, Body=body)
            return time.perf_counter(), "ok", None
        except Exception as error:
            return time.perf_counter(), _error_code(error), error

    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(call) for _ in range(n)]
        done, pending = wait_futures(futures, timeout=timeout)
    outcomes: Counter = Counter()
    for _, outcome, error in sorted((f.result() for f in done), key=lambda answer: answer[0]):
        outcomes[outcome] += 1
        if error is not None and errors is not None:
            errors.append(error)
    outcomes["hung"] = len(pending)
    return outcomes


# --- CloudWatch Logs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEvent:
    """One line of an endpoint's log: its stream (``<variant>/<instance id>``) and message."""

    timestamp_ms: int
    stream: str
    message: str


def log_group_for(endpoint: str) -> str:
    """Where SageMaker writes an endpoint's container output."""
    return f"/aws/sagemaker/Endpoints/{endpoint}"


def read_endpoint_logs(
    logs: Any,
    endpoint: str,
    limit: int = 1000,
    contains: str | None = None,
    since_ms: int | None = None,
    min_events: int = 1,
    timeout: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[LogEvent]:
    """The endpoint's log lines from every instance's stream, oldest first (the last ``limit``).

    ``contains`` keeps only lines with that text; ``since_ms`` only lines logged at or after that
    time (milliseconds since the epoch, as ``int(time.time() * 1000)`` gives). Logs arrive a
    little after the container writes them (seconds on AWS), so this polls until at least
    ``min_events`` matching lines are there or ``timeout`` passes, then returns what there is.
    """
    group = log_group_for(endpoint)
    deadline = time.monotonic() + timeout
    intervals = _poll_intervals(None)
    while True:
        events = _all_events(logs, group)
        if contains is not None:
            events = [e for e in events if contains in e.message]
        if since_ms is not None:
            events = [e for e in events if e.timestamp_ms >= since_ms]
        if len(events) >= min_events or time.monotonic() >= deadline:
            return events[-limit:] if limit else events
        sleep(min(next(intervals), max(0.0, deadline - time.monotonic())))


def _all_events(logs: Any, group: str) -> list[LogEvent]:
    events: list[LogEvent] = []
    try:
        streams: list[str] = []
        for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group):
            streams.extend(s["logStreamName"] for s in page["logStreams"])
    except logs.exceptions.ResourceNotFoundException:
        return []
    for stream in streams:
        token = None
        while True:
            kwargs: dict[str, Any] = {
                "logGroupName": group,
                "logStreamName": stream,
                "startFromHead": True,
            }
            if token:
                kwargs["nextToken"] = token
            page = logs.get_log_events(**kwargs)
            events.extend(LogEvent(e["timestamp"], stream, e["message"]) for e in page["events"])
            if not page["events"] or page.get("nextForwardToken") in (None, token):
                break
            token = page["nextForwardToken"]
    events.sort(key=lambda e: e.timestamp_ms)
    return events


_INVOCATION_LINE = re.compile(r'"POST /invocations\b')


def requests_per_instance(events: Iterable[LogEvent]) -> dict[str, int]:
    """How many ``POST /invocations`` each instance's stream logged (streams with none count 0)."""
    counts: dict[str, int] = {}
    for event in events:
        counts.setdefault(event.stream, 0)
        if _INVOCATION_LINE.search(event.message):
            counts[event.stream] += 1
    return dict(sorted(counts.items()))


# --- CloudWatch metrics ------------------------------------------------------------------------

#: (metric, statistic) pairs read by read_endpoint_metrics.
ENDPOINT_METRICS = (
    ("Invocations", "Sum"),
    ("Invocation4XXErrors", "Sum"),
    ("Invocation5XXErrors", "Sum"),
    ("ModelLatency", "Average"),
    ("OverheadLatency", "Average"),
)


def read_endpoint_metrics(
    cloudwatch: Any,
    endpoint: str,
    variant: str = "AllTraffic",
    minutes: int = 60,
    min_invocations: int = 0,
    timeout: float = 180.0,
    sleep: Callable[[float], None] = time.sleep,
    show: Callable[[str], None] | None = print,
    announce_after: float = 5.0,
) -> dict[str, float]:
    """The endpoint's ``AWS/SageMaker`` metrics over the last ``minutes``, one number each.

    Counts are summed; latencies (published in microseconds) are averaged over all requests and
    returned in milliseconds as ``ModelLatency_ms`` and ``OverheadLatency_ms``. Metrics arrive
    after the requests (on AWS about a minute later, sometimes more), so this polls until
    ``Invocations`` reaches ``min_invocations`` or ``timeout`` passes, and returns what has
    arrived by then: compare ``Invocations`` with what you sent. A wait longer than
    ``announce_after`` seconds (the local SageMaker delivers within about a second) is announced
    once through ``show``, with how much has arrived and how long it will wait at most.
    """
    return wait_for_metrics(
        lambda: _metric_values(cloudwatch, endpoint, variant, minutes),
        lambda values: values["Invocations"],
        min_invocations,
        "invocations",
        timeout=timeout,
        sleep=sleep,
        show=show,
        announce_after=announce_after,
    )


def _metric_values(cloudwatch: Any, endpoint: str, variant: str, minutes: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for metric, statistic in ENDPOINT_METRICS:
        points = metric_datapoints(
            cloudwatch,
            endpoint,
            metric,
            ["Sum", "SampleCount"] if statistic == "Average" else [statistic],
            variant=variant,
            minutes=minutes,
        )
        if statistic == "Sum":
            out[metric] = float(sum(p["Sum"] for p in points))
        else:  # average over every request, not over per-minute averages
            count = sum(p["SampleCount"] for p in points)
            total = sum(p["Sum"] for p in points)
            out[f"{metric}_ms"] = total / count / 1000 if count else float("nan")
    return out


# --- cost and clean-up -------------------------------------------------------------------------


def cost_so_far(tut: Any, endpoints: Iterable[str] | None = None) -> str:
    """A small table of what ``endpoints`` (default: all) have cost so far, as AWS bills them.

    Locally the figures come from the local SageMaker's meter (instance-seconds since each fleet
    became healthy, at the price table's hourly rate); on AWS they are an estimate from the
    running endpoints' instance types and counts (:func:`utils.billing.current_costs`).
    Models and endpoint configurations cost nothing: only instances behind endpoints do.
    """
    from utils.billing import current_costs

    rows = current_costs(tut)["Endpoints"]
    return format_cost_rows(rows, None if endpoints is None else set(endpoints))


def format_cost_rows(rows: list[dict[str, Any]], endpoints: set[str] | None = None) -> str:
    """Format meter rows (see :func:`utils.billing.current_costs`): one line per endpoint variant.

    Measured numbers (instance-seconds: seconds times the instances running, and dollars) come
    last on each line and are never padded, so a notebook's stored output differs from a new
    run's only in those numbers.
    """
    chosen = [r for r in rows if endpoints is None or r["EndpointName"] in endpoints]
    width = max([len("endpoint"), *(len(r["EndpointName"]) for r in chosen)])
    lines = [f"{'endpoint':<{width}}  {'instances now':<18} {'price':<11} billed so far"]
    total = 0.0
    for row in chosen:
        running = f"{row['InstanceCount']} × {row['InstanceType']}" if row["Running"] else "deleted"
        price = "unknown" if row["UsdPerHour"] is None else f"${row['UsdPerHour']:.3f}/h"
        cost = "unknown" if row["CostUsd"] is None else f"${row['CostUsd']:.6f}"
        total += row["CostUsd"] or 0.0
        lines.append(
            f"{row['EndpointName']:<{width}}  {running:<18} {price:<11} "
            f"{row['InstanceSeconds']:.1f} instance-seconds = {cost}"
        )
    if not chosen:
        lines.append("(no endpoint has run yet)")
    lines.append(f"total so far: ${total:.6f}")
    return "\n".join(lines)


def delete_endpoint_resources(
    sm: Any,
    endpoints: Iterable[str] = (),
    endpoint_configs: Iterable[str] = (),
    models: Iterable[str] = (),
    wait: bool = True,
) -> list[str]:
    """Delete endpoints, then their configurations, then models; skip what is already gone.

    Returns what was deleted, as ``kind name`` lines. With ``wait`` it also waits until the
    endpoints are gone, so their instances (and their cost) have stopped.
    """
    deleted: list[str] = []
    endpoints = list(endpoints)
    calls = (
        ("endpoint", endpoints, lambda n: sm.delete_endpoint(EndpointName=n)),
        (
            "endpoint config",
            list(endpoint_configs),
            lambda n: sm.delete_endpoint_config(EndpointConfigName=n),
        ),
        ("model", list(models), lambda n: sm.delete_model(ModelName=n)),
    )
    for kind, names, delete in calls:
        for name in names:
            try:
                delete(name)
            except Exception as error:
                if _is_not_found(error):
                    continue
                raise
            deleted.append(f"{kind} {name}")
    if wait:
        for name in endpoints:
            wait_for_endpoint(sm, name, until="Deleted", show=None)
    return deleted
