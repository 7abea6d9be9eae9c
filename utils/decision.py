"""Which SageMaker inference mode fits a workload, why, and what it would cost.

Why rules and not only cost: the cheapest mode can be unusable (a payload over its limit, no GPU,
a user left waiting for a nightly job) or fit badly (cold starts against a strict latency budget).
`recommend()` first applies the hard limits AWS documents, then sorts the remaining modes by how
well they fit the latency requirement and, within the same fit, by monthly cost from
`utils.cost_model`. It also names the common mistakes the workload is close to.

The guidance follows the SageMaker developer guide, "Inference options in Amazon SageMaker AI"
(https://docs.aws.amazon.com/sagemaker/latest/dg/deploy-model-options.html):
- real-time: online, low latency or high throughput, sustained traffic; payload <= 6 MB, <= 60 s;
- serverless: intermittent or unpredictable traffic that can tolerate cold starts; payload <= 4 MB,
  <= 60 s; no GPUs (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html);
- asynchronous: queue requests with large payloads (<= 1 GB) and long processing (<= 1 h),
  near real-time; scales to zero (https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference.html);
- batch transform: offline, data available up front, no persistent endpoint
  (https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform.html).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from utils.billing import format_usd
from utils.cost_model import (
    HOURS_PER_MONTH,
    MODE_LABELS,
    MODES,
    SHAPES,
    DeploymentOptions,
    Mode,
    ModeCost,
    ShapeName,
    Traffic,
    crossover_requests_per_day,
    monthly_costs,
)
from utils.pricing import PriceTable

LatencyRequirement = Literal["interactive", "minutes", "offline"]
LATENCY_LABELS: dict[LatencyRequirement, str] = {
    "interactive": "Interactive (answer within a latency budget)",
    "minutes": "Can wait minutes",
    "offline": "Offline (hours are fine)",
}
Fit = Literal["good", "caveats", "poor"]
_FIT_ORDER: dict[Fit, int] = {"good": 0, "caveats": 1, "poor": 2}

KB_PER_MB = 1024.0


@dataclass(frozen=True)
class ModeLimits:
    """Hard limits of one mode, as documented by AWS (sizes in KB: 1 MB = 1024 KB)."""

    max_payload_kb: float
    max_processing_s: float
    gpu: bool
    source: str


# Real-time: InvokeEndpoint Body <= 6,291,456 bytes and 60 s for the model (runtime API model).
# Serverless: 4 MB request and response, 60 s, no GPUs, memory 1024-6144 MB.
# Asynchronous: input up to 1 GB, InvocationTimeoutSeconds up to 3600.
# Batch transform: MaxPayloadInMB <= 100 per mini-batch, InvocationsTimeoutInSeconds <= 3600.
LIMITS: dict[Mode, ModeLimits] = {
    "realtime": ModeLimits(
        6 * KB_PER_MB,
        60.0,
        True,
        "https://docs.aws.amazon.com/sagemaker/latest/dg/deploy-model-options.html",
    ),
    "serverless": ModeLimits(
        4 * KB_PER_MB,
        60.0,
        False,
        "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html",
    ),
    "asynchronous": ModeLimits(
        1024 * KB_PER_MB,
        3600.0,
        True,
        "https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference.html",
    ),
    "batch": ModeLimits(
        100 * KB_PER_MB,
        3600.0,
        True,
        "https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform.html",
    ),
}
SERVERLESS_MAX_MEMORY_MB = 6144
SERVERLESS_MAX_CONCURRENCY = 200
GPU_INSTANCE_TYPE = "ml.g4dn.xlarge"
# An always-on endpoint whose workers are busy less than this share of the time serves "a trickle
# of traffic" (e.g. 1,000 requests of 100 ms a day keep one ml.m5.large busy 0.06% of the time).
IDLE_UTILISATION = 0.01


def estimated_cold_start_ms(model_size_mb: float) -> float:
    """Rough serverless cold start: ~1.5 s to start the container plus loading the model.

    AWS does not publish a figure (it "depends on model size, download time and container
    start-up"); 1.5 s + 10 ms per MB (about 100 MB/s download and load) is an estimate chosen
    here. The local SageMaker measures real cold starts; replace this with what you measure.
    """
    return 1500.0 + 10.0 * max(model_size_mb, 0.0)


@dataclass(frozen=True)
class Workload:
    """Everything the decision depends on, with units in the names."""

    requests_per_day: float
    traffic_shape: ShapeName = "steady"
    payload_kb: float = 4.0
    response_kb: float = 1.0
    processing_ms: float = 100.0
    latency: LatencyRequirement = "interactive"
    latency_budget_ms: float = 1000.0  # p99 end-to-end budget when latency is interactive
    needs_gpu: bool = False
    model_size_mb: float = 50.0
    user_waits: bool = True  # a person (or a synchronous caller) waits for each answer

    def __post_init__(self) -> None:
        if self.latency not in LATENCY_LABELS:
            raise ValueError(f"latency must be one of {', '.join(LATENCY_LABELS)}")
        if self.traffic_shape not in SHAPES:
            raise ValueError(f"traffic_shape must be one of {', '.join(SHAPES)}")
        if self.model_size_mb < 0 or self.latency_budget_ms <= 0:
            raise ValueError("model_size_mb must be >= 0 and latency_budget_ms > 0")

    def traffic(self) -> Traffic:
        return Traffic(
            self.requests_per_day,
            self.traffic_shape,
            self.payload_kb,
            self.response_kb,
            self.processing_ms,
        )


@dataclass(frozen=True)
class ModeAssessment:
    """A mode that can serve the workload: how well it fits, its cost and why."""

    mode: Mode
    label: str
    fit: Fit
    monthly_usd: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Exclusion:
    """A mode that cannot serve the workload, and the hard limit that rules it out."""

    mode: Mode
    label: str
    limit: str
    reason: str
    source: str


@dataclass(frozen=True)
class Advice:
    """A common mistake this workload is close to, with what to do instead."""

    code: str
    message: str


@dataclass(frozen=True)
class Recommendation:
    workload: Workload
    mode: Mode | None
    ranked: tuple[ModeAssessment, ...]
    excluded: tuple[Exclusion, ...]
    warnings: tuple[Advice, ...]
    monthly_usd: dict[Mode, float]
    #: Traffic at which serverless stops being cheaper than real-time (cost only; None when it
    #: stays cheaper up to 100 million a day or is ruled out).
    crossover_requests_per_day: float | None
    #: Traffic above which serverless throttles (its peak needs more than MaxConcurrency 200).
    serverless_ceiling_requests_per_day: float | None = None
    options: DeploymentOptions = field(repr=False, default_factory=DeploymentOptions)

    @property
    def label(self) -> str:
        return MODE_LABELS[self.mode] if self.mode else "No mode fits"

    @property
    def alternatives(self) -> tuple[ModeAssessment, ...]:
        return self.ranked[1:]

    def excluded_modes(self) -> set[Mode]:
        return {e.mode for e in self.excluded}

    def warning_codes(self) -> set[str]:
        return {w.code for w in self.warnings}

    def describe(self) -> str:
        """In words: the mode and its cost, why, the alternatives, exclusions and warnings."""
        lines = []
        if self.mode is None:
            lines.append("Recommended: no mode fits")
        else:
            best = self.ranked[0]
            lines.append(f"Recommended: {best.label}, about {format_usd(best.monthly_usd)} a month")
            lines += [f"  why: {reason}" for reason in best.reasons]
        for alt in self.alternatives:
            lines.append(
                f"  alternative: {alt.label} (fit: {alt.fit}, {format_usd(alt.monthly_usd)} a month)"
            )
        lines += [f"  ruled out: {e.label}: {e.reason}" for e in self.excluded]
        lines += [f"  watch out: {w.message}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-serialisable) for printing or comparing in a notebook."""
        return {
            "workload": asdict(self.workload),
            "recommended": self.mode,
            "ranked": [
                {
                    "mode": a.mode,
                    "fit": a.fit,
                    "monthly_usd": round(a.monthly_usd, 2),
                    "reasons": list(a.reasons),
                }
                for a in self.ranked
            ],
            "excluded": [
                {"mode": e.mode, "limit": e.limit, "reason": e.reason} for e in self.excluded
            ],
            "warnings": [{"code": w.code, "message": w.message} for w in self.warnings],
            "monthly_usd": {m: round(v, 2) for m, v in self.monthly_usd.items()},
            "crossover_requests_per_day": (
                None
                if self.crossover_requests_per_day is None
                else round(self.crossover_requests_per_day)
            ),
            "serverless_ceiling_requests_per_day": (
                None
                if self.serverless_ceiling_requests_per_day is None
                else round(self.serverless_ceiling_requests_per_day)
            ),
        }


# --------------------------------------------------------------------------------------------


def options_for(workload: Workload, options: DeploymentOptions | None = None) -> DeploymentOptions:
    """Adapt deployment options to the workload: a GPU instance if needed, enough memory."""
    options = options or DeploymentOptions()
    if workload.needs_gpu and not _is_gpu_instance(options.instance_type):
        options = replace(options, instance_type=GPU_INSTANCE_TYPE)
    needed_mb = math.ceil(max(workload.model_size_mb, 1.0) / 1024.0) * 1024
    memory = min(max(options.serverless_memory_mb, needed_mb), SERVERLESS_MAX_MEMORY_MB)
    if memory != options.serverless_memory_mb:
        options = replace(options, serverless_memory_mb=memory)
    return options


def _is_gpu_instance(instance_type: str) -> bool:
    family = instance_type.removeprefix("ml.").split(".")[0]
    return family.startswith(("g", "p", "inf", "trn"))


def serverless_ceiling_requests_per_day(workload: Workload) -> float | None:
    """Requests per day above which the peak needs more than ``MaxConcurrency`` (200) in flight.

    In flight at the peak = peak arrival rate x processing time (Little's law), which grows in
    proportion to traffic, so the ceiling is where it reaches 200 on one serverless endpoint;
    beyond it requests are throttled, however cheap serverless would be. None when requests take
    no time. (The account's total serverless concurrency, a quota that can be lower, is not
    counted here.)
    """
    per_request_per_day = workload.traffic().with_requests_per_day(1.0).peak_concurrency
    if per_request_per_day <= 0:
        return None
    return SERVERLESS_MAX_CONCURRENCY / per_request_per_day


def _share(fraction: float) -> str:
    """A percentage that never rounds a small share to 0%: 14.5%, 0.23%, 0.0023%."""
    percent = fraction * 100.0
    if percent <= 0:
        return "0%"
    if percent >= 1:
        return f"{percent:.1f}%"
    return f"{percent:.{1 - math.floor(math.log10(percent))}f}%"


def _size(kb: float) -> str:
    if kb >= 1024 * 1024:
        return f"{kb / 1024 / 1024:.1f} GB"
    if kb >= 1024:
        return f"{kb / 1024:.1f} MB"
    return f"{kb:.0f} KB"


def _exclusions(workload: Workload, options: DeploymentOptions) -> list[Exclusion]:
    out: list[Exclusion] = []
    largest_kb = max(workload.payload_kb, workload.response_kb)
    processing_s = workload.processing_ms / 1000.0
    for mode in MODES:
        lim = LIMITS[mode]
        label = MODE_LABELS[mode]
        if largest_kb > lim.max_payload_kb:
            out.append(
                Exclusion(
                    mode,
                    label,
                    f"payload <= {_size(lim.max_payload_kb)}",
                    f"a {_size(largest_kb)} payload is over the {_size(lim.max_payload_kb)} limit",
                    lim.source,
                )
            )
        if processing_s > lim.max_processing_s:
            out.append(
                Exclusion(
                    mode,
                    label,
                    f"processing <= {lim.max_processing_s:.0f} s",
                    f"{processing_s:.0f} s per request is over the {lim.max_processing_s:.0f} s limit",
                    lim.source,
                )
            )
        if workload.needs_gpu and not lim.gpu:
            out.append(
                Exclusion(mode, label, "no GPU", "serverless endpoints have no GPUs", lim.source)
            )
    serverless_src = LIMITS["serverless"].source
    if workload.model_size_mb > SERVERLESS_MAX_MEMORY_MB:
        out.append(
            Exclusion(
                "serverless",
                MODE_LABELS["serverless"],
                f"memory <= {SERVERLESS_MAX_MEMORY_MB} MB",
                f"a {workload.model_size_mb:.0f} MB model does not fit in the largest serverless "
                f"memory size ({SERVERLESS_MAX_MEMORY_MB} MB)",
                serverless_src,
            )
        )
    peak = workload.traffic().peak_concurrency
    if peak > SERVERLESS_MAX_CONCURRENCY:  # the same rule as serverless_ceiling_requests_per_day
        out.append(
            Exclusion(
                "serverless",
                MODE_LABELS["serverless"],
                f"max concurrency <= {SERVERLESS_MAX_CONCURRENCY}",
                f"the peak needs about {peak:.0f} requests in flight; a serverless endpoint "
                f"throttles above {SERVERLESS_MAX_CONCURRENCY}",
                serverless_src,
            )
        )
    if workload.user_waits or workload.latency == "interactive":
        who = (
            "a user waits for each answer"
            if workload.user_waits
            else "answers are needed interactively"
        )
        out.append(
            Exclusion(
                "batch",
                MODE_LABELS["batch"],
                "nobody waits for the answer",
                f"{who}; a transform job answers only when the whole run ends",
                LIMITS["batch"].source,
            )
        )
    return out


def _utilisation(workload: Workload, cost: ModeCost, options: DeploymentOptions) -> float:
    """Share of a real-time endpoint's worker time (over the instance-hours billed) spent busy."""
    busy_s = workload.traffic().requests_per_month * workload.processing_ms / 1000.0
    instance_hours = sum(line.quantity for line in cost.lines) or HOURS_PER_MONTH
    return busy_s / (instance_hours * 3600.0 * options.workers_per_instance)


def _assess(
    mode: Mode, workload: Workload, cost: ModeCost, options: DeploymentOptions
) -> ModeAssessment:
    usd = cost.monthly_usd
    lat = workload.latency
    reasons: list[str] = []
    fit: Fit
    cold_ms = estimated_cold_start_ms(workload.model_size_mb)
    if mode == "realtime":
        util = _utilisation(workload, cost, options)
        if len(cost.lines) > 1:  # autoscaled: more instances while traffic is active
            sizing = (
                f"{options.realtime_min_instances} x {options.instance_type} always on, "
                f"{cost.instance_count} while traffic is active (autoscaling)"
            )
        else:
            sizing = f"Always on: {cost.instance_count} x {options.instance_type}"
        reasons.append(
            f"{sizing}, no cold starts; {format_usd(usd)}/month "
            f"(busy {_share(util)} of the time it runs)."
        )
        realtime_fit: dict[str, Fit] = {"interactive": "good", "minutes": "good", "offline": "poor"}
        fit = realtime_fit[lat]
        if lat == "offline":
            reasons.append("Nobody waits for the answers, so an always-on endpoint buys nothing.")
        elif util < IDLE_UTILISATION:
            reasons.append("Mostly idle at this traffic: you pay for waiting, not for work.")
    elif mode == "serverless":
        reasons.append(
            f"Scales to zero and bills per millisecond of processing at "
            f"{options.serverless_memory_mb} MB: {format_usd(usd)}/month."
        )
        strict = lat == "interactive" and workload.latency_budget_ms < cold_ms
        if strict and options.provisioned_concurrency == 0:
            fit = "caveats"
            reasons.append(
                f"Cold starts (an estimated {cold_ms / 1000:.1f} s for a {workload.model_size_mb:.0f} MB "
                f"model) exceed the {workload.latency_budget_ms:.0f} ms budget after idle periods; "
                "provisioned concurrency removes them at extra cost."
            )
        else:
            fit = "good"
            if SHAPES[workload.traffic_shape].isolated_requests or workload.traffic_shape in (
                "spiky",
                "business_hours",
            ):
                reasons.append("Idle periods between bursts are exactly what serverless is for.")
    elif mode == "asynchronous":
        reasons.append(
            f"Queues requests (up to 1 GB, 1 h each) and scales to zero between bursts: "
            f"{format_usd(usd)}/month; answers land in S3 seconds to minutes later."
        )
        if lat == "interactive":
            fit = "poor"
            reasons.append("The caller must poll S3 or wait for an SNS message: not interactive.")
        else:
            fit = "good" if lat == "minutes" else "caveats"
    else:
        reasons.append(
            f"A transform job over the accumulated data, no endpoint between runs: "
            f"{format_usd(usd)}/month for {options.batch_runs_per_month:.1f} runs."
        )
        fit = "good" if lat == "offline" else "poor"
        if lat == "minutes":
            reasons.append("A scheduled job answers hours later, not within minutes.")
    return ModeAssessment(mode, MODE_LABELS[mode], fit, usd, tuple(reasons))


def _warnings(
    workload: Workload,
    recommended: Mode | None,
    costs: dict[Mode, ModeCost],
    excluded: list[Exclusion],
    options: DeploymentOptions,
) -> list[Advice]:
    out: list[Advice] = []
    cold_ms = estimated_cold_start_ms(workload.model_size_mb)
    if recommended == "realtime":
        util = _utilisation(workload, costs["realtime"], options)
        if util < IDLE_UTILISATION:
            cheaper = sorted(
                (c.monthly_usd, m)
                for m, c in costs.items()
                if m in ("serverless", "asynchronous") and m not in {e.mode for e in excluded}
            )
            tip = (
                f"; {MODE_LABELS[cheaper[0][1]].lower()} would cost {format_usd(cheaper[0][0])}"
                if cheaper
                else ""
            )
            out.append(
                Advice(
                    "idle_endpoint",
                    f"An always-on endpoint for a trickle of traffic: busy {_share(util)} of the time, "
                    f"{format_usd(costs['realtime'].monthly_usd)}/month{tip}.",
                )
            )
    if workload.user_waits and workload.latency == "offline":
        out.append(
            Advice(
                "batch_user_waits",
                "A user waits for each answer, but the latency says offline: a batch job would keep "
                "them waiting until the run ends. Pick interactive or minutes.",
            )
        )
    serverless_ok = "serverless" not in {e.mode for e in excluded}
    serverless_usd = costs["serverless"].monthly_usd
    tempting = recommended == "serverless" or (
        recommended is not None and serverless_usd < costs[recommended].monthly_usd
    )
    if (
        serverless_ok
        and tempting
        and workload.latency == "interactive"
        and workload.latency_budget_ms < cold_ms
        and options.provisioned_concurrency == 0
    ):
        out.append(
            Advice(
                "cold_start_latency",
                f"Serverless is cheaper ({format_usd(serverless_usd)}/month) but its cold starts "
                f"(an estimated {cold_ms / 1000:.1f} s) break a {workload.latency_budget_ms:.0f} ms "
                "p99 budget after "
                "idle periods: add provisioned concurrency, or pay for a real-time endpoint.",
            )
        )
    payload_limits = [e for e in excluded if e.limit.startswith("payload")]
    if payload_limits:
        modes = ", ".join(sorted({e.label.lower() for e in payload_limits}))
        out.append(
            Advice(
                "payload_over_limit",
                f"A {_size(max(workload.payload_kb, workload.response_kb))} payload is over the limit "
                f"of {modes}: send an S3 location instead (asynchronous inference) or shrink it.",
            )
        )
    if any(e.limit.startswith("processing") for e in excluded):
        out.append(
            Advice(
                "processing_over_limit",
                f"{workload.processing_ms / 1000:.0f} s per request is over the 60 s limit of "
                "synchronous endpoints: use asynchronous inference (up to 1 h) or batch transform.",
            )
        )
    if workload.needs_gpu:
        out.append(
            Advice(
                "gpu_serverless",
                "The model needs a GPU: serverless inference has none, so it is ruled out; "
                f"costs assume {options.instance_type}.",
            )
        )
    if workload.latency == "interactive" and workload.processing_ms > workload.latency_budget_ms:
        out.append(
            Advice(
                "processing_over_budget",
                f"Processing alone ({workload.processing_ms:.0f} ms) exceeds the "
                f"{workload.latency_budget_ms:.0f} ms budget, whatever the mode.",
            )
        )
    if recommended == "asynchronous" and workload.latency == "interactive":
        out.append(
            Advice(
                "async_user_waits",
                "Only asynchronous inference can take this request, so the caller has to poll for the "
                "answer; tell the user it is coming rather than blocking.",
            )
        )
    if recommended is None:
        out.append(
            Advice("no_mode", "No SageMaker inference mode can serve this workload as stated.")
        )
    return out


def recommend(
    workload: Workload,
    options: DeploymentOptions | None = None,
    prices: PriceTable | None = None,
) -> Recommendation:
    """Recommend a mode for `workload`: ranked alternatives, exclusions, warnings, costs.

    Pure: the result depends only on the arguments (and the price table's contents).
    """
    prices = prices or PriceTable.load()
    options = options_for(workload, options)
    traffic = workload.traffic()
    costs = monthly_costs(traffic, options, prices)
    excluded = _exclusions(workload, options)
    excluded_modes = {e.mode for e in excluded}
    assessments = [
        _assess(mode, workload, costs[mode], options)
        for mode in MODES
        if mode not in excluded_modes
    ]
    ranked = sorted(
        assessments, key=lambda a: (_FIT_ORDER[a.fit], round(a.monthly_usd, 6), MODES.index(a.mode))
    )
    recommended = ranked[0].mode if ranked else None
    crossover = None
    if "serverless" not in excluded_modes:
        crossover = crossover_requests_per_day(traffic, options, prices, max_requests_per_day=1e8)
    return Recommendation(
        workload=workload,
        mode=recommended,
        ranked=tuple(ranked),
        excluded=tuple(excluded),
        warnings=tuple(_warnings(workload, recommended, costs, excluded, options)),
        monthly_usd={m: c.monthly_usd for m, c in costs.items()},
        crossover_requests_per_day=crossover,
        serverless_ceiling_requests_per_day=serverless_ceiling_requests_per_day(workload),
        options=options,
    )
