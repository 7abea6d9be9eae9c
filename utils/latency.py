"""How long an endpoint takes to answer: timed calls, percentiles, and the plots that show them.

The lessons measure on the client, from sending a request to having read the whole response, so
a latency includes the network and SageMaker's own overhead, not only the model. Every helper
takes an ordinary boto3 ``sagemaker-runtime`` client and works the same on both backends.

* :func:`invoke_and_time`, :func:`timed_invoke`: one round trip, timed;
* :func:`measure_latency`: ``n`` round trips one after another;
* :func:`latency_stats`, :func:`format_latency`: p50, p95, p99 and max, and one line to print;
* :func:`plot_latency`: their histogram; :func:`plot_durations`: times of different sizes (a
  warm request, a cold start, a whole job) side by side on a log scale.

Many clients at once are :mod:`utils.concurrency`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from utils import plots

__all__ = [
    "format_latency",
    "invoke_and_time",
    "latency_stats",
    "measure_latency",
    "plot_durations",
    "plot_latency",
    "timed_invoke",
]


def latency_stats(samples_ms: Sequence[float]) -> dict[str, float]:
    """``n``, ``mean``, ``p50``, ``p90``, ``p95``, ``p99`` and ``max`` of latencies in milliseconds.

    Percentiles use linear interpolation between the closest ranks (numpy's default).
    """
    values = np.asarray(list(samples_ms), dtype=float)
    if values.size == 0:
        raise ValueError("no latency samples")
    p50, p90, p95, p99 = np.percentile(values, [50, 90, 95, 99])
    return {
        "n": int(values.size),
        "mean": float(values.mean()),
        "p50": float(p50),
        "p90": float(p90),
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


def invoke_and_time(
    runtime: Any, endpoint: str, body: str | bytes, content_type: str, accept: str | None = None
) -> tuple[float, str]:
    """One InvokeEndpoint, body read to the end; returns (milliseconds, invoked variant).

    The one timed call every measurement here and in :mod:`utils.concurrency` makes, so a
    latency means the same thing in every lesson.
    """
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
    return invoke_and_time(runtime, endpoint, body, content_type, accept)[0]


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
        invoke_and_time(runtime, endpoint, body, content_type, accept)
    return [invoke_and_time(runtime, endpoint, body, content_type, accept)[0] for _ in range(n)]


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

