"""Autoscaling in the lessons: a load test that drives a scale-out, the scale-in after it, a plot.

:func:`watch_autoscaling` runs client threads against an endpoint until its variant has scaled out
to the count you expect (or a time limit passes), stops them, and keeps describing the endpoint
until it has scaled back in. It records what a learner would look at: the endpoint's status and
instance counts over time, and when each request ended. :func:`plot_autoscaling` draws the
instances and the invocations per instance per minute over time; :func:`summarize_autoscaling`
turns the run's numbers into sentences.

The same code runs on AWS and locally. What differs is the clock: on AWS the alarm periods are
minutes; the local SageMaker can run them faster (:func:`autoscaling_pace`), and the time limits
and the polling interval follow that pace.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from utils import plots
from utils.polling import on_this_machine

#: Periods target tracking's alarms wait (each one minute on AWS): above the target to scale out,
#: below 90 % of it to scale in.
HIGH_PERIODS = 3
LOW_PERIODS = 15
LOW_FRACTION = 0.9


def autoscaling_pace(tut: Any) -> float:
    """How many times faster than AWS the autoscaling clock runs: 1 on AWS; locally what the
    running local SageMaker was started with (the tutorial starts it at 60).

    The AWS code path asks too when its SageMaker client's requests go to this machine (the AWS
    rehearsal's stand-in accounts, local SageMakers started at 60): the pace is the clock of the
    server the lesson talks to, and a server on this machine that does not answer the question
    runs AWS's.
    """
    if not tut.is_local and not on_this_machine(tut.sagemaker):
        return 1.0  # AWS: nothing local is imported or asked
    from utils.local_sagemaker import local_route

    if tut.is_local:
        return float(local_route(tut.endpoint_url, "/_local/autoscaling")["TimeScale"])
    try:
        answer = local_route(tut.sagemaker.meta.endpoint_url, "/_local/autoscaling")
        return float(answer["TimeScale"])
    except (OSError, ValueError, KeyError):  # not a local SageMaker, one this kernel may not
        return 1.0  # sign for, or one that does not say its pace


@dataclass(frozen=True)
class Sample:
    """One DescribeEndpoint: seconds since the load started, status, variant's counts."""

    seconds: float
    status: str
    current: int
    desired: int


@dataclass
class ScalingRun:
    """What :func:`watch_autoscaling` saw."""

    pace: float
    target: float
    clients: int
    low: int
    high: int
    samples: list[Sample] = field(default_factory=list)
    #: Seconds since the load started at which each successful request ended.
    finished: list[float] = field(default_factory=list)
    errors: int = 0
    load_seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.finished) + self.errors

    def first(self, condition: Any, after: float = 0.0) -> Sample | None:
        """The first sample at or after ``after`` seconds for which ``condition(sample)``."""
        return next((s for s in self.samples if s.seconds >= after and condition(s)), None)

    def instances_at(self, seconds: float) -> int:
        """Instances serving at ``seconds`` (the last sample before it)."""
        count = self.samples[0].current if self.samples else 1
        for sample in self.samples:
            if sample.seconds > seconds:
                break
            count = sample.current
        return count


def watch_autoscaling(
    tut: Any,
    endpoint: str,
    body: str | bytes,
    content_type: str,
    *,
    clients: int,
    target: float,
    low: int,
    high: int,
    variant: str = "AllTraffic",
    hold_periods: int = 2,
) -> ScalingRun:
    """Load the endpoint with ``clients`` threads until ``variant`` is InService with ``high``
    instances, stop, then describe it until it is back to ``low``; every wait has a limit sized
    to the pace (on AWS: 20 minutes to scale out, 30 to scale in).

    ``target`` is the policy's TargetValue (invocations per instance per minute), kept for the
    plot and the summary. The load goes on for ``hold_periods`` alarm periods after the scale-out,
    so the plot shows the metric with the new instances. Requests that fail are counted, not
    raised.
    """
    pace = autoscaling_pace(tut)
    run = ScalingRun(pace=pace, target=target, clients=clients, low=low, high=high)
    sm, runtime = tut.sagemaker, tut.runtime
    # describe four times per (compressed) minute: every 0.25 s at 60x, every 15 s on AWS
    interval = min(15.0, max(0.25, 15.0 / pace))
    start = time.perf_counter()
    stop = threading.Event()
    lock = threading.Lock()

    def client() -> None:
        while not stop.is_set():
            try:
                runtime.invoke_endpoint(EndpointName=endpoint, ContentType=content_type, Body=body)
            except Exception:  # counted: a scale-out must not cost requests
                with lock:
                    run.errors += 1
                continue
            with lock:
                run.finished.append(time.perf_counter() - start)

    def sample() -> Sample:
        described = sm.describe_endpoint(EndpointName=endpoint)
        counts = next(v for v in described["ProductionVariants"] if v["VariantName"] == variant)
        taken = Sample(
            time.perf_counter() - start,
            described["EndpointStatus"],
            int(counts.get("CurrentInstanceCount", 0)),
            int(counts.get("DesiredInstanceCount", 0)),
        )
        run.samples.append(taken)
        return taken

    def until(done: Any, limit: float) -> None:
        deadline = time.perf_counter() + limit
        while not done(sample()) and time.perf_counter() < deadline:
            time.sleep(interval)  # polling DescribeEndpoint, as a learner would

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        until(lambda s: s.status == "InService" and s.current >= high, 20 * 60 / pace + 180)
        held = time.perf_counter() + hold_periods * 60 / pace
        until(lambda s: time.perf_counter() >= held, hold_periods * 60 / pace)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    run.load_seconds = time.perf_counter() - start
    until(lambda s: s.status == "InService" and s.current <= low, 30 * 60 / pace + 120)
    return run


def per_instance_minute(run: ScalingRun) -> tuple[list[float], list[float]]:
    """Invocations per instance per minute in each alarm period of the run (one period is a
    minute at AWS's pace): the period's start (s) and its rate, as the alarm would see it."""
    period = 60.0 / run.pace
    end = run.samples[-1].seconds if run.samples else run.load_seconds
    starts = [i * period for i in range(max(1, math.ceil(end / period)))]
    counts = [0] * len(starts)
    for t in run.finished:
        index = int(t // period)
        if index < len(counts):
            counts[index] += 1
    rates = [
        count * (60.0 / period) / max(1, run.instances_at(begin))
        for begin, count in zip(starts, counts, strict=True)
    ]
    return starts, rates


def plot_autoscaling(run: ScalingRun, title: str = "Target tracking under a load test") -> None:
    """Instances (running and desired) and invocations per instance per minute over time."""
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(9, 5.5))
    times = [s.seconds for s in run.samples]
    top.step(
        times,
        [s.current for s in run.samples],
        where="post",
        color="#1f3b57",
        label="running (CurrentInstanceCount)",
    )
    top.step(
        times,
        [s.desired for s in run.samples],
        where="post",
        color="#d98c1f",
        linestyle="--",
        label="asked for (DesiredInstanceCount)",
    )
    updating = False
    for sample, following in zip(run.samples, run.samples[1:], strict=False):
        if sample.status == "Updating":  # shade until the next look at the endpoint
            top.axvspan(sample.seconds, following.seconds, color="#d9d9d9", linewidth=0)
            updating = True
    top.set_ylabel("instances")
    top.set_ylim(0, run.high + 1)
    top.set_yticks(range(0, run.high + 2))
    top.legend(loc="upper right", fontsize="small")
    top.set_title(title + (" (grey: endpoint Updating)" if updating else ""))
    starts, rates = per_instance_minute(run)
    period = 60.0 / run.pace
    bottom.bar(
        starts,
        rates,
        width=period,
        align="edge",
        color="#8fb3d9",
        edgecolor="white",
        label="invocations per instance per minute (each alarm period)",
    )
    bottom.axhline(run.target, color="#b22222", label=f"target {run.target:g} (scale out above)")
    bottom.axhline(
        run.target * LOW_FRACTION,
        color="#b22222",
        linestyle=":",
        label=f"{LOW_FRACTION:.0%} of it (scale in below)",
    )
    bottom.set_ylabel("invocations / instance / min")
    for ax in (top, bottom):
        ax.axvline(run.load_seconds, color="grey", linestyle="--")
    top.annotate(
        "load stops",
        (run.load_seconds, 0.3),
        xytext=(4, 0),
        textcoords="offset points",
        fontsize="small",
        color="grey",
    )
    label = "seconds since the load started"
    if run.pace != 1:
        label += f" (clock {run.pace:g}x AWS's: 1 s here is {run.pace:g} s on AWS)"
    bottom.set_xlabel(label)
    bottom.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    plots.show(fig)


def summarize_autoscaling(run: ScalingRun) -> list[str]:
    """What the run shows, in sentences computed from its numbers."""
    lines = []
    rate = len(run.finished) / run.load_seconds if run.load_seconds else 0.0
    lines.append(
        f"load: {run.clients} clients, {run.requests} requests in {run.load_seconds:.1f} s "
        f"({rate:.1f} a second), {run.errors} failed"
    )
    minute = 60.0 / run.pace
    first_high = next(
        (begin for begin, r in zip(*per_instance_minute(run), strict=True) if r > run.target), None
    )
    out = run.first(lambda s: s.desired > s.current or s.status == "Updating")
    done = run.first(lambda s: s.status == "InService" and s.current >= run.high)
    if first_high is not None:
        lines.append(
            f"invocations per instance first went above the target of {run.target:g} a minute "
            f"in the period starting at {first_high:.1f} s"
        )
    alarm = (
        f"the high alarm needs {HIGH_PERIODS} periods above the target "
        f"({HIGH_PERIODS * minute:.0f} s here, {HIGH_PERIODS} minutes on AWS)"
    )
    if done is None:
        lines.append(
            f"the endpoint did not reach {run.high} instances while the load ran "
            f"({run.load_seconds:.0f} s): look at the plot for what the alarm saw"
        )
    elif out is None or out.seconds > done.seconds:
        lines.append(
            f"scale-out: {done.current} instances InService at {done.seconds:.1f} s (the "
            f"Updating spell was shorter than the watch's polling interval); {alarm}"
        )
    else:
        lines.append(
            f"scale-out: Updating at {out.seconds:.1f} s (DesiredInstanceCount {out.desired}), "
            f"{done.current} instances InService at {done.seconds:.1f} s; {alarm}, the rest is "
            "starting the new instances"
        )
    back = run.first(lambda s: s.status == "InService" and s.current <= run.low, run.load_seconds)
    start_in = run.first(lambda s: s.desired < s.current or s.current < run.high, run.load_seconds)
    if back is None or start_in is None:
        lines.append(f"scale-in: not back to {run.low} instance(s) when the watch ended")
    else:
        starts, rates = per_instance_minute(run)
        low_since = start_in.seconds
        for begin, rate_ in reversed(list(zip(starts, rates, strict=True))):
            if begin >= start_in.seconds:
                continue
            if rate_ >= run.target * LOW_FRACTION:
                break
            low_since = begin  # the last run of low periods before the scale-in began
        lines.append(
            f"scale-in: the metric stayed below {LOW_FRACTION:.0%} of the target from "
            f"{low_since:.1f} s (the load stopped at {run.load_seconds:.1f} s); the scale-in "
            f"began {start_in.seconds - low_since:.1f} s after that, as the low alarm needs "
            f"{LOW_PERIODS} periods below it ({LOW_PERIODS * minute:.0f} s here, {LOW_PERIODS} "
            f"minutes on AWS), and the endpoint was back to {back.current} instance(s) at "
            f"{back.seconds:.1f} s"
        )
    return lines
