"""Many clients at once: throughput, latency under load, traffic during a change, bursts.

* :func:`run_concurrent_clients`: several threads invoking at once, with throughput;
  :func:`load_curve` and :func:`plot_load_curve`: the same for 1, 2, 4, 8 clients, drawn;
  :func:`compare_rounds`: whether one such result was faster than another, beyond the noise;
* :func:`clients_calling`: clients that keep calling while something else happens (an update);
* :func:`burst_outcomes`: ``n`` requests at the same moment, counted by outcome (throttles).

Each request is one :func:`utils.latency.invoke_and_time`, so latencies under load compare with
those measured one at a time. boto3 clients are thread-safe; every thread shares the caller's.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from utils import plots
from utils.latency import format_latency, invoke_and_time, latency_stats

__all__ = [
    "ConcurrencyResult",
    "burst_outcomes",
    "clients_calling",
    "compare_rounds",
    "load_curve",
    "plot_load_curve",
    "run_concurrent_clients",
]


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
                ms, variant = invoke_and_time(runtime, endpoint, body, content_type, accept)
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
                ms, variant = invoke_and_time(runtime, endpoint, body, content_type, accept)
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


def compare_rounds(before: ConcurrencyResult, after: ConcurrencyResult) -> str:
    """``"more"`` when every round of ``after`` completed more requests per second than every
    round of ``before``, ``"fewer"`` when every one completed fewer, else ``"cannot tell"``.

    Why rounds and not the totals: on a shared machine two measurements differ by whatever else
    ran meanwhile, and a ratio of totals hides how much each one varied. Only rounds that do not
    overlap say that the difference is larger than the noise. With five rounds each, all ten
    falling on one side by chance alone happens 2 times in 252 (every order of the rounds equally
    likely), so a "more" or "fewer" is rarely luck, and "cannot tell" is the honest answer when
    the rounds overlap. Fewer than two rounds on either side cannot show their noise:
    ``"cannot tell"``.
    """
    earlier = [r for r in before.round_throughputs if r > 0]
    later = [r for r in after.round_throughputs if r > 0]
    if len(earlier) < 2 or len(later) < 2:
        return "cannot tell"
    if min(later) > max(earlier):
        return "more"
    if max(later) < min(earlier):
        return "fewer"
    return "cannot tell"


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

