"""Monthly cost of one inference workload under each SageMaker inference mode.

Why a model and not a lookup: the four modes bill different things (instance-hours that run
whether or not requests arrive; GB-seconds of processing; instances that wake only while work is
queued; instance-seconds per batch run), so which one is cheapest depends on how much traffic
there is, how it is spread over the day, and how long each request takes. These pure functions
make that dependence explicit and testable, and solve for the crossover traffic at which
serverless stops being cheaper than a real-time endpoint.

A real-time endpoint is priced as notebook 02 runs one: its minimum instance count around the
clock and, with autoscaling (the default), the extra instances its peak needs only while traffic
is active (`DeploymentOptions.realtime_autoscaling`). Costs only: whether a mode can serve the
traffic at all (payload limits, serverless `MaxConcurrency`) is `utils.decision`'s question.

Conventions (the AWS pricing pages use the same): a month is 730 hours, so a day count per month
is 730 / 24 = 30.4167; 1 GB = 1024 MB = 1024 * 1024 KB. `requests_per_day` is the average per
calendar day. All money is USD. Prices come from a `utils.pricing.PriceTable`.

Traffic shapes (see `SHAPES`), each defined by when requests arrive:

| shape          | active hours/day | busy windows/day | days/week | peak factor | isolated |
|----------------|------------------|------------------|-----------|-------------|----------|
| steady         | 24               | 1                | 7         | 1.0         | no       |
| business_hours | 10 (e.g. 08-18)  | 1                | 5         | 2.0         | no       |
| spiky          | 2 (4 x 30 min)   | 4                | 7         | 3.0         | no       |
| rare           | 24               | 1                | 7         | 1.0         | yes      |

"peak factor" is the busiest minute's request rate divided by the mean rate over the active
hours; it sizes an always-on endpoint. "isolated" means requests come one at a time with long,
unpredictable gaps, so nothing stays warm between them (every serverless request is a cold start,
every asynchronous request wakes an instance).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from utils.pricing import DEFAULT_REGION, PriceTable

HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = HOURS_PER_MONTH / 24.0
SECONDS_PER_DAY = 86_400.0
KB_PER_GB = 1024.0 * 1024.0

Mode = Literal["realtime", "serverless", "asynchronous", "batch"]
MODES: tuple[Mode, ...] = ("realtime", "serverless", "asynchronous", "batch")
MODE_LABELS: dict[Mode, str] = {
    "realtime": "Real-time endpoint",
    "serverless": "Serverless inference",
    "asynchronous": "Asynchronous inference",
    "batch": "Batch transform",
}

ShapeName = Literal["steady", "business_hours", "spiky", "rare"]

# Batch schedules: runs per month (730 h month, 52 weeks / 12 months).
BATCH_RUNS_PER_MONTH: dict[str, float] = {
    "hourly": HOURS_PER_MONTH,
    "daily": DAYS_PER_MONTH,
    "weekly": 52.0 / 12.0,
    "monthly": 1.0,
}


@dataclass(frozen=True)
class TrafficShape:
    """When requests arrive during a day; see the module docstring for the four shapes."""

    name: ShapeName
    label: str
    active_hours_per_day: float
    windows_per_day: int
    active_days_per_week: int
    peak_factor: float
    isolated_requests: bool
    description: str


SHAPES: dict[ShapeName, TrafficShape] = {
    "steady": TrafficShape(
        "steady",
        "Steady (around the clock)",
        24.0,
        1,
        7,
        1.0,
        False,
        "Requests arrive evenly all day, every day.",
    ),
    "business_hours": TrafficShape(
        "business_hours",
        "Business hours (10 h, weekdays)",
        10.0,
        1,
        5,
        2.0,
        False,
        "All requests between 08:00 and 18:00 on weekdays; the busiest hour has twice the "
        "mean rate.",
    ),
    "spiky": TrafficShape(
        "spiky",
        "Spiky (4 bursts of 30 min a day)",
        2.0,
        4,
        7,
        3.0,
        False,
        "Four 30-minute bursts a day carry all the traffic; the top of a burst has three times "
        "the mean burst rate; idle in between.",
    ),
    "rare": TrafficShape(
        "rare",
        "Rare (isolated requests)",
        24.0,
        1,
        7,
        1.0,
        True,
        "A few requests at unpredictable times with long gaps: nothing stays warm between them.",
    ),
}


@dataclass(frozen=True)
class Traffic:
    """What the model is asked to do: volume, arrival shape, payload sizes, processing time."""

    requests_per_day: float
    shape: ShapeName = "steady"
    payload_kb: float = 4.0
    response_kb: float = 1.0
    processing_ms: float = 100.0

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(
                f"unknown traffic shape {self.shape!r}; use one of {', '.join(SHAPES)}"
            )
        for name in ("requests_per_day", "payload_kb", "response_kb", "processing_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")

    @property
    def traffic_shape(self) -> TrafficShape:
        return SHAPES[self.shape]

    @property
    def requests_per_month(self) -> float:
        return self.requests_per_day * DAYS_PER_MONTH

    @property
    def active_days_per_month(self) -> float:
        return DAYS_PER_MONTH * self.traffic_shape.active_days_per_week / 7.0

    @property
    def requests_per_active_day(self) -> float:
        return self.requests_per_day * 7.0 / self.traffic_shape.active_days_per_week

    @property
    def mean_active_requests_per_second(self) -> float:
        """Mean arrival rate while traffic is active (requests/s)."""
        return self.requests_per_active_day / (self.traffic_shape.active_hours_per_day * 3600.0)

    @property
    def peak_requests_per_second(self) -> float:
        return self.mean_active_requests_per_second * self.traffic_shape.peak_factor

    @property
    def peak_concurrency(self) -> float:
        """Requests in flight at the peak (Little's law: arrival rate x processing time)."""
        return self.peak_requests_per_second * self.processing_ms / 1000.0

    def with_requests_per_day(self, requests_per_day: float) -> Traffic:
        return replace(self, requests_per_day=requests_per_day)


@dataclass(frozen=True)
class DeploymentOptions:
    """How each mode would be deployed; defaults follow AWS defaults or common practice.

    Times that AWS does not publish (instance start-up from zero, transform-job start-up) are
    estimates chosen here; change them to match what you measure.
    """

    region: str = DEFAULT_REGION
    instance_type: str = "ml.m5.large"
    # Real-time: instances always running, and whether Application Auto Scaling (target
    # tracking, as notebook 02 registers it) adds the instances the traffic peak needs only while
    # traffic is active. Without autoscaling the endpoint is sized for the peak around the clock.
    realtime_min_instances: int = 1
    realtime_autoscaling: bool = True
    # Model-server workers per instance (concurrent requests one instance serves); the
    # scikit-learn container starts one per vCPU and ml.m5.large has 2 vCPUs.
    workers_per_instance: int = 2
    # Serverless: memory size (1024-6144 MB in 1 GB steps) and provisioned concurrency.
    serverless_memory_mb: int = 2048
    provisioned_concurrency: int = 0
    provisioned_hours_per_day: float = 24.0
    # Asynchronous: scale to zero when the queue is empty (min 0).
    async_min_instances: int = 0
    # Autoscaling (asynchronous, and real-time with `realtime_autoscaling`): an added instance
    # takes `instance_startup_s` to start (billed) and stays up `scale_in_delay_s` after the
    # work ends (target-tracking scale-in waits for about 15 one-minute datapoints). AWS
    # publishes neither figure: both are estimates.
    instance_startup_s: float = 300.0
    scale_in_delay_s: float = 900.0
    # Batch transform: instances per job, runs per month, and job start-up overhead (billed).
    batch_instance_count: int = 1
    batch_runs_per_month: float = BATCH_RUNS_PER_MONTH["daily"]
    batch_startup_s: float = 300.0
    include_free_tier: bool = False

    def __post_init__(self) -> None:
        if not 1024 <= self.serverless_memory_mb <= 6144:
            raise ValueError("serverless_memory_mb must be between 1024 and 6144")
        if self.workers_per_instance < 1 or self.batch_instance_count < 1:
            raise ValueError("workers_per_instance and batch_instance_count must be >= 1")
        if self.batch_runs_per_month <= 0:
            raise ValueError("batch_runs_per_month must be > 0")


@dataclass(frozen=True)
class CostLine:
    """One billed quantity: e.g. 730 instance-hours x $0.115 = $83.95."""

    label: str
    quantity: float
    unit: str
    unit_price_usd: float

    @property
    def usd(self) -> float:
        return self.quantity * self.unit_price_usd


@dataclass(frozen=True)
class ModeCost:
    """Monthly cost of the workload in one mode, with the lines that make it up."""

    mode: Mode
    lines: tuple[CostLine, ...]
    instance_count: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def monthly_usd(self) -> float:
        return sum(line.usd for line in self.lines)


# --------------------------------------------------------------------------------------------
# Per-mode cost functions
# --------------------------------------------------------------------------------------------


def realtime_instances_needed(traffic: Traffic, options: DeploymentOptions) -> int:
    """Instances an always-on endpoint needs so the traffic peak finds a free worker."""
    needed = math.ceil(traffic.peak_concurrency / options.workers_per_instance - 1e-9)
    return max(options.realtime_min_instances, needed, 1)


def _extra_instance_seconds_per_active_day(
    traffic: Traffic, options: DeploymentOptions, extra: int
) -> float:
    """Seconds that ``extra`` autoscaled instances run on an active day.

    They run through each busy window, plus one start-up before it and the scale-in delay after
    it (never more than the whole day): the model :func:`async_cost` uses too.
    """
    shape = traffic.traffic_shape
    window_s = shape.active_hours_per_day * 3600.0 / shape.windows_per_day
    per_window = window_s + options.instance_startup_s + options.scale_in_delay_s
    return min(extra * shape.windows_per_day * per_window, extra * SECONDS_PER_DAY)


def realtime_cost(traffic: Traffic, options: DeploymentOptions, prices: PriceTable) -> ModeCost:
    """Instance-hours: the minimum around the clock, and what the peak needs while it lasts.

    Sized for the peak (:func:`realtime_instances_needed`). With ``realtime_autoscaling`` the
    instances above ``realtime_min_instances`` run only while traffic is active (see
    :func:`_extra_instance_seconds_per_active_day`); traffic that never pauses keeps them all on.
    Without it, every instance runs 730 hours a month, whatever the traffic.
    """
    count = realtime_instances_needed(traffic, options)
    base = max(options.realtime_min_instances, 1)
    hourly = prices.instance_hourly(options.instance_type, options.region, "realtime")
    shape = traffic.traffic_shape
    never_idle = shape.active_hours_per_day >= 24.0 and shape.active_days_per_week == 7
    extra = count - base
    if not options.realtime_autoscaling or extra <= 0 or never_idle:
        line = CostLine(
            f"{count} x {options.instance_type}, always on",
            count * HOURS_PER_MONTH,
            "instance-hours",
            hourly,
        )
        notes: tuple[str, ...] = ()
        if extra > 0:
            notes = (f"sized for the peak of {traffic.peak_requests_per_second:.2f} requests/s",)
        return ModeCost("realtime", (line,), count, notes)
    extra_hours = (
        _extra_instance_seconds_per_active_day(traffic, options, extra)
        * traffic.active_days_per_month
        / 3600.0
    )
    lines = (
        CostLine(
            f"{base} x {options.instance_type}, always on",
            base * HOURS_PER_MONTH,
            "instance-hours",
            hourly,
        ),
        CostLine(
            f"{extra} more x {options.instance_type} while traffic is active (autoscaling)",
            extra_hours,
            "instance-hours",
            hourly,
        ),
    )
    notes = (
        f"autoscaled from {base} to {count} instances for the peak of "
        f"{traffic.peak_requests_per_second:.2f} requests/s",
    )
    return ModeCost("realtime", lines, count, notes)


def serverless_cost(traffic: Traffic, options: DeploymentOptions, prices: PriceTable) -> ModeCost:
    """Processing GB-seconds (billed per ms) + data processed in and out + provisioned concurrency.

    Requests served by provisioned concurrency are billed at its (lower) duration price; the
    share served that way is provisioned concurrency / peak concurrency, capped at 1. Cold-start
    time is not billed as inference duration (the model's set-up is not request processing).
    """
    memory_gb = options.serverless_memory_mb / 1024.0
    billed_s = math.ceil(traffic.processing_ms - 1e-9) / 1000.0  # billed by the millisecond
    monthly = traffic.requests_per_month
    pc = options.provisioned_concurrency
    pc_share = 0.0
    if pc > 0:
        pc_share = 1.0 if traffic.peak_concurrency <= pc else pc / traffic.peak_concurrency
    on_demand_gb_s = monthly * (1.0 - pc_share) * billed_s * memory_gb
    lines: list[CostLine] = []
    notes: list[str] = []
    if options.include_free_tier:
        free_gb_s = prices.serverless_free_tier_seconds(options.region) * memory_gb
        on_demand_gb_s = max(0.0, on_demand_gb_s - free_gb_s)
        notes.append("free tier applied (first months only)")
    lines.append(
        CostLine(
            f"processing, {options.serverless_memory_mb} MB",
            on_demand_gb_s,
            "GB-seconds",
            prices.serverless_gb_second(options.region, options.serverless_memory_mb),
        )
    )
    if pc > 0:
        lines.append(
            CostLine(
                "processing on provisioned concurrency",
                monthly * pc_share * billed_s * memory_gb,
                "GB-seconds",
                prices.serverless_gb_second_with_provisioned_concurrency(options.region),
            )
        )
        provisioned_s = options.provisioned_hours_per_day * 3600.0 * DAYS_PER_MONTH
        lines.append(
            CostLine(
                f"provisioned concurrency {pc}",
                pc * memory_gb * provisioned_s,
                "GB-seconds",
                prices.provisioned_concurrency_gb_second(options.region),
            )
        )
    lines.append(
        CostLine(
            "data processed in",
            monthly * traffic.payload_kb / KB_PER_GB,
            "GB",
            prices.data_processed_per_gb(options.region, "in"),
        )
    )
    lines.append(
        CostLine(
            "data processed out",
            monthly * traffic.response_kb / KB_PER_GB,
            "GB",
            prices.data_processed_per_gb(options.region, "out"),
        )
    )
    return ModeCost("serverless", tuple(lines), 0, tuple(notes))


def async_billed_instance_seconds_per_active_day(
    traffic: Traffic, options: DeploymentOptions
) -> tuple[float, int]:
    """Instance-seconds an auto-scaled asynchronous endpoint runs on an active day.

    Returns (seconds, instances while busy). Within each busy window the requests arrive with a
    mean gap of window / requests. If the gap is longer than the scale-down delay (or requests are
    isolated), each request wakes an instance on its own: start-up + processing + delay. Otherwise
    the instances stay up for the whole window plus one start-up and one delay (a window that
    covers the whole day never scales down at all). Busy instances are sized for the mean rate:
    the queue absorbs peaks, which is the point of asynchronous inference.
    """
    shape = traffic.traffic_shape
    n_day = traffic.requests_per_active_day
    processing_s = traffic.processing_ms / 1000.0
    minimum = options.async_min_instances
    if n_day <= 0:
        return minimum * SECONDS_PER_DAY, minimum
    window_s = shape.active_hours_per_day * 3600.0 / shape.windows_per_day
    n_window = n_day / shape.windows_per_day
    gap_s = window_s / n_window
    busy = max(
        1, math.ceil(n_window * processing_s / (window_s * options.workers_per_instance) - 1e-9)
    )
    busy = max(busy, minimum)
    baseline = minimum * SECONDS_PER_DAY
    if shape.isolated_requests or gap_s > options.scale_in_delay_s:
        if minimum >= 1:  # a warm instance is always there: no extra instances to wake
            return baseline, busy
        per_request = options.instance_startup_s + processing_s + options.scale_in_delay_s
        return min(n_day * per_request, SECONDS_PER_DAY), 1
    if shape.active_hours_per_day >= 24.0:
        return busy * SECONDS_PER_DAY, busy
    extra = busy - minimum
    return baseline + _extra_instance_seconds_per_active_day(traffic, options, extra), busy


def async_cost(traffic: Traffic, options: DeploymentOptions, prices: PriceTable) -> ModeCost:
    """Instance-hours while there is work (scale to zero), including start-up and scale-down delay."""
    seconds, busy = async_billed_instance_seconds_per_active_day(traffic, options)
    hours = seconds * traffic.active_days_per_month / 3600.0
    if options.async_min_instances > 0:
        idle_days = DAYS_PER_MONTH - traffic.active_days_per_month
        hours += options.async_min_instances * idle_days * 24.0
    hourly = prices.instance_hourly(options.instance_type, options.region, "asynchronous")
    line = CostLine(
        f"{options.instance_type} while work is queued", hours, "instance-hours", hourly
    )
    notes = (
        f"scales to {options.async_min_instances} when idle; "
        f"{options.scale_in_delay_s / 60:.0f} min scale-down delay, "
        f"{options.instance_startup_s / 60:.0f} min start-up",
    )
    return ModeCost("asynchronous", (line,), busy, notes)


def batch_run_seconds(traffic: Traffic, options: DeploymentOptions) -> float:
    """Wall-clock seconds of one transform job: start-up + records / (instances x workers)."""
    records_per_run = traffic.requests_per_month / options.batch_runs_per_month
    parallel = options.batch_instance_count * options.workers_per_instance
    return options.batch_startup_s + records_per_run * traffic.processing_ms / 1000.0 / parallel


def batch_cost(traffic: Traffic, options: DeploymentOptions, prices: PriceTable) -> ModeCost:
    """Instance-seconds per run (start-up included) x runs per month; no charge between runs."""
    run_s = batch_run_seconds(traffic, options)
    hours = options.batch_instance_count * run_s * options.batch_runs_per_month / 3600.0
    hourly = prices.instance_hourly(options.instance_type, options.region, "batch")
    line = CostLine(
        f"{options.batch_instance_count} x {options.instance_type}, "
        f"{options.batch_runs_per_month:.1f} runs of {run_s / 60:.1f} min",
        hours,
        "instance-hours",
        hourly,
    )
    return ModeCost("batch", (line,), options.batch_instance_count)


COST_FUNCTIONS: dict[Mode, Callable[[Traffic, DeploymentOptions, PriceTable], ModeCost]] = {
    "realtime": realtime_cost,
    "serverless": serverless_cost,
    "asynchronous": async_cost,
    "batch": batch_cost,
}


def monthly_costs(
    traffic: Traffic,
    options: DeploymentOptions | None = None,
    prices: PriceTable | None = None,
    modes: Iterable[Mode] = MODES,
) -> dict[Mode, ModeCost]:
    """Monthly cost of `traffic` in each of `modes` (default: all four)."""
    options = options or DeploymentOptions()
    prices = prices or PriceTable.load()
    return {mode: COST_FUNCTIONS[mode](traffic, options, prices) for mode in modes}


def cost_curve(
    traffic: Traffic,
    requests_per_day_values: Sequence[float],
    options: DeploymentOptions | None = None,
    prices: PriceTable | None = None,
    modes: Iterable[Mode] = MODES,
) -> dict[Mode, list[float]]:
    """Monthly USD per mode at each traffic level, other workload parameters unchanged."""
    options = options or DeploymentOptions()
    prices = prices or PriceTable.load()
    modes = tuple(modes)
    curve: dict[Mode, list[float]] = {mode: [] for mode in modes}
    for rpd in requests_per_day_values:
        t = traffic.with_requests_per_day(rpd)
        for mode in modes:
            curve[mode].append(COST_FUNCTIONS[mode](t, options, prices).monthly_usd)
    return curve


def crossover_requests_per_day(
    traffic: Traffic,
    options: DeploymentOptions | None = None,
    prices: PriceTable | None = None,
    cheaper: Mode = "serverless",
    than: Mode = "realtime",
    max_requests_per_day: float = 1e9,
    tolerance: float = 1e-6,
) -> float | None:
    """Smallest requests/day at which `cheaper` stops being cheaper than `than` (or None).

    Scans a log-spaced grid for the first traffic level where cost(cheaper) >= cost(than), then
    bisects between it and the level before to a relative `tolerance`. Scanning first matters
    because a real-time endpoint's cost rises in steps (one more instance), so the difference of
    the two costs need not be monotonic. Returns 0.0 when `cheaper` is never cheaper and None when
    it stays cheaper up to `max_requests_per_day`.
    """
    options = options or DeploymentOptions()
    prices = prices or PriceTable.load()
    f_cheap, f_than = COST_FUNCTIONS[cheaper], COST_FUNCTIONS[than]

    def gap(rpd: float) -> float:
        t = traffic.with_requests_per_day(rpd)
        return f_cheap(t, options, prices).monthly_usd - f_than(t, options, prices).monthly_usd

    if gap(0.0) >= 0:
        return 0.0
    lo = 0.0
    steps = 400
    for i in range(1, steps + 1):
        hi = max_requests_per_day ** (i / steps)  # 1 .. max, log-spaced
        if gap(hi) >= 0:
            break
        lo = hi
    else:
        return None
    while hi - lo > tolerance * max(hi, 1.0):
        mid = (lo + hi) / 2.0
        if gap(mid) >= 0:
            hi = mid
        else:
            lo = mid
    return hi
