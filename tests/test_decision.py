"""Decision engine: realistic scenarios and the answer AWS's own guidance gives for each.

Sources of the expectations (SageMaker developer guide and Well-Architected ML lens):
[OPT]  https://docs.aws.amazon.com/sagemaker/latest/dg/deploy-model-options.html
       "Inference options": real-time for low latency / sustained traffic (6 MB, 60 s); serverless
       for intermittent or unpredictable traffic (4 MB, 60 s); batch transform for offline
       processing of data available up front; asynchronous for large payloads (1 GB) and long
       processing (1 h), scaling to zero.
[SLS]  https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html
       "ideal for workloads which have idle periods between traffic spurts and can tolerate cold
       starts"; GPUs are not supported.
[ASY]  https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference.html
       "large payload sizes (up to 1GB), long processing times (up to one hour), and near
       real-time latency requirements".
[MLP]  https://docs.aws.amazon.com/wellarchitected/latest/machine-learning-lens/mlper-12.html
       Batch transform "if you do not need near-instantaneous response ... schedule-based".
"""

from __future__ import annotations

import json

import pytest

from utils.cost_model import DeploymentOptions
from utils.decision import (
    LIMITS,
    Workload,
    estimated_cold_start_ms,
    options_for,
    recommend,
)
from utils.pricing import PriceTable


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return PriceTable.load()


# (id, workload, recommended mode (or None: only exclusions asserted), modes that must be
#  excluded, warning codes that must be present)
SCENARIOS = [
    pytest.param(
        # [OPT] real-time: online, low latency, sustained traffic
        Workload(
            500_000,
            "steady",
            payload_kb=2,
            processing_ms=50,
            latency="interactive",
            latency_budget_ms=200,
            model_size_mb=5,
            user_waits=True,
        ),
        "realtime",
        {"batch"},
        set(),
        id="loan-approval app, steady traffic, strict latency -> real-time",
    ),
    pytest.param(
        # [SLS] idle periods between spurts, cold starts tolerable
        Workload(
            20,
            "rare",
            payload_kb=2,
            processing_ms=200,
            latency="interactive",
            latency_budget_ms=5000,
            model_size_mb=50,
            user_waits=True,
        ),
        "serverless",
        {"batch"},
        set(),
        id="internal tool used a few times a day -> serverless",
    ),
    pytest.param(
        # [OPT], [MLP] offline, data available up front, no persistent endpoint
        Workload(
            200_000, "steady", payload_kb=1, processing_ms=10, latency="offline", user_waits=False
        ),
        "batch",
        set(),
        set(),
        id="nightly scoring of 200k rows -> batch transform",
    ),
    pytest.param(
        # [ASY] large payloads, long processing, near real-time
        Workload(
            200,
            "business_hours",
            payload_kb=50 * 1024,
            response_kb=10,
            processing_ms=30_000,
            latency="minutes",
            model_size_mb=500,
            user_waits=True,
        ),
        "asynchronous",
        {"realtime", "serverless", "batch"},
        {"payload_over_limit"},
        id="50 MB documents, minutes are fine -> asynchronous",
    ),
    pytest.param(
        # [OPT] 6 MB (real-time) and 4 MB (serverless) payload limits
        Workload(
            1000,
            "steady",
            payload_kb=8 * 1024,
            processing_ms=500,
            latency="interactive",
            latency_budget_ms=2000,
            user_waits=True,
        ),
        "asynchronous",
        {"realtime", "serverless", "batch"},
        {"payload_over_limit"},
        id="8 MB payload, interactive -> not real-time or serverless",
    ),
    pytest.param(
        # [SLS] no GPUs on serverless
        Workload(
            100,
            "spiky",
            payload_kb=200,
            processing_ms=300,
            latency="interactive",
            latency_budget_ms=2000,
            needs_gpu=True,
            model_size_mb=2000,
            user_waits=True,
        ),
        None,
        {"serverless", "batch"},
        {"gpu_serverless"},
        id="GPU model, sporadic traffic -> not serverless",
    ),
    pytest.param(
        # [ASY] up to one hour of processing; [OPT] 60 s for real-time and serverless
        Workload(
            50,
            "business_hours",
            payload_kb=500,
            processing_ms=15 * 60_000,
            latency="minutes",
            user_waits=False,
        ),
        "asynchronous",
        {"realtime", "serverless"},
        {"processing_over_limit"},
        id="15-minute video analysis -> asynchronous",
    ),
    pytest.param(
        # [SLS] spiky traffic with idle periods, tolerant latency
        Workload(
            2000,
            "spiky",
            payload_kb=4,
            processing_ms=150,
            latency="interactive",
            latency_budget_ms=3000,
            model_size_mb=100,
            user_waits=True,
        ),
        "serverless",
        {"batch"},
        set(),
        id="promotion traffic in bursts, seconds OK -> serverless",
    ),
    pytest.param(
        # [SLS] cold starts are the trade-off: a strict budget with a trickle is a warning case
        Workload(
            50,
            "rare",
            payload_kb=2,
            processing_ms=100,
            latency="interactive",
            latency_budget_ms=300,
            model_size_mb=50,
            user_waits=True,
        ),
        "realtime",
        {"batch"},
        {"idle_endpoint"},
        id="trickle with strict 300 ms p99 -> real-time, but idle",
    ),
]


@pytest.mark.parametrize(("workload", "expected", "must_exclude", "must_warn"), SCENARIOS)
def test_scenarios(workload, expected, must_exclude, must_warn, prices: PriceTable) -> None:
    rec = recommend(workload, prices=prices)
    if expected is not None:
        assert rec.mode == expected, rec.to_dict()
    assert must_exclude <= rec.excluded_modes()
    assert rec.mode not in rec.excluded_modes()
    assert must_warn <= rec.warning_codes()
    # every excluded mode names its limit; every ranked mode gives a reason and a cost
    for exc in rec.excluded:
        assert exc.limit and exc.reason and exc.source.startswith("https://docs.aws.amazon.com/")
    for alt in rec.ranked:
        assert alt.reasons and alt.monthly_usd >= 0
    assert set(rec.monthly_usd) == {"realtime", "serverless", "asynchronous", "batch"}
    json.dumps(rec.to_dict())  # plain data


def test_gpu_scenario_costs_a_gpu_instance(prices: PriceTable) -> None:
    w = Workload(100, "spiky", needs_gpu=True, model_size_mb=2000)
    rec = recommend(w, prices=prices)
    assert rec.options.instance_type == "ml.g4dn.xlarge"
    assert rec.monthly_usd["realtime"] == pytest.approx(
        prices.instance_hourly("ml.g4dn.xlarge") * 730
    )


def test_exclusion_reasons_name_the_limit(prices: PriceTable) -> None:
    rec = recommend(
        Workload(10, payload_kb=5 * 1024, latency="minutes", user_waits=False), prices=prices
    )
    by_mode = {e.mode: e for e in rec.excluded}
    assert set(by_mode) == {"serverless"}  # 5 MB: over serverless 4 MB, under real-time 6 MB
    assert by_mode["serverless"].limit == "payload <= 4.0 MB"
    assert "5.0 MB" in by_mode["serverless"].reason


def test_limits_match_the_documented_aws_limits() -> None:
    assert LIMITS["realtime"].max_payload_kb * 1024 == 6_291_456
    assert LIMITS["serverless"].max_payload_kb * 1024 == 4 * 1024 * 1024
    assert LIMITS["asynchronous"].max_payload_kb * 1024 == 1024**3
    assert (LIMITS["realtime"].max_processing_s, LIMITS["asynchronous"].max_processing_s) == (
        60,
        3600,
    )
    assert LIMITS["serverless"].gpu is False


def test_serverless_too_large_model_and_concurrency(prices: PriceTable) -> None:
    big = recommend(Workload(100, model_size_mb=8000), prices=prices)
    assert "serverless" in big.excluded_modes()
    # 20 M requests/day of 2 s, steady: 463 in flight > 200
    busy = recommend(Workload(20_000_000, processing_ms=2000), prices=prices)
    assert any(e.limit.startswith("max concurrency") for e in busy.excluded)


def test_serverless_ceiling_is_where_the_peak_needs_more_than_max_concurrency(
    prices: PriceTable,
) -> None:
    # The internal tool of notebook 06 in office hours: 200 ms per request, peak twice the mean
    # of 10 weekday hours. 20 M/day -> 28 M per weekday / 36,000 s x 2 x 0.2 s = 311 in flight.
    tool = Workload(20_000_000, "business_hours", processing_ms=200)
    rec = recommend(tool, prices=prices)
    limit = next(e for e in rec.excluded if e.limit.startswith("max concurrency"))
    assert "311 requests in flight" in limit.reason
    # the ceiling: 200 in flight at 200 / 311.1 x 20 M = 12.857 M requests/day
    assert rec.serverless_ceiling_requests_per_day == pytest.approx(12_857_142.9, rel=1e-6)
    assert rec.to_dict()["serverless_ceiling_requests_per_day"] == 12_857_143
    below = recommend(Workload(12_800_000, "business_hours", processing_ms=200), prices=prices)
    assert "serverless" not in below.excluded_modes()
    # cost alone would still have serverless cheaper than an endpoint sized for the peak all
    # month; with autoscaling (the default) the endpoint becomes cheaper well below the ceiling
    assert rec.crossover_requests_per_day is None  # serverless excluded: no crossover reported
    assert below.crossover_requests_per_day < below.serverless_ceiling_requests_per_day


def test_cold_starts_demote_serverless_under_a_strict_budget(prices: PriceTable) -> None:
    # a trickle of traffic makes serverless far cheaper, but 500 ms p99 < ~2 s cold start
    w = Workload(5, "rare", latency_budget_ms=500, model_size_mb=50)
    rec = recommend(w, prices=prices)
    assert rec.mode == "realtime"
    serverless = next(a for a in rec.ranked if a.mode == "serverless")
    assert serverless.fit == "caveats"
    assert any("Cold starts" in r for r in serverless.reasons)
    assert {"cold_start_latency", "idle_endpoint"} <= rec.warning_codes()
    # with provisioned concurrency the cold-start caveat disappears and serverless wins on cost
    rec_pc = recommend(w, DeploymentOptions(provisioned_concurrency=1), prices)
    assert rec_pc.mode == "serverless"
    assert "cold_start_latency" not in rec_pc.warning_codes()
    # a relaxed budget needs no warning either
    relaxed = recommend(Workload(5, "rare", latency_budget_ms=10_000), prices=prices)
    assert relaxed.mode == "serverless" and "cold_start_latency" not in relaxed.warning_codes()


def test_batch_where_a_user_waits_is_flagged(prices: PriceTable) -> None:
    rec = recommend(Workload(1000, latency="offline", user_waits=True), prices=prices)
    assert "batch" in rec.excluded_modes()
    assert "batch_user_waits" in rec.warning_codes()


def test_processing_over_budget_warning(prices: PriceTable) -> None:
    rec = recommend(Workload(1000, processing_ms=800, latency_budget_ms=500), prices=prices)
    assert "processing_over_budget" in rec.warning_codes()


def test_nothing_fits(prices: PriceTable) -> None:
    rec = recommend(Workload(10, payload_kb=2 * 1024 * 1024), prices=prices)  # 2 GB payload
    assert rec.mode is None and rec.ranked == ()
    assert "no_mode" in rec.warning_codes()


def test_options_follow_the_workload() -> None:
    opts = options_for(Workload(10, model_size_mb=3000))
    assert opts.serverless_memory_mb == 3072
    assert options_for(Workload(10, needs_gpu=True)).instance_type == "ml.g4dn.xlarge"
    assert estimated_cold_start_ms(0) >= 1000


def test_crossover_reported(prices: PriceTable) -> None:
    rec = recommend(Workload(1000, processing_ms=200), prices=prices)
    assert rec.crossover_requests_per_day is not None
    assert rec.crossover_requests_per_day > 1000
    assert rec.to_dict()["crossover_requests_per_day"] == round(rec.crossover_requests_per_day)


def test_recommend_is_pure(prices: PriceTable) -> None:
    w = Workload(3000, "business_hours")
    assert recommend(w, prices=prices).to_dict() == recommend(w, prices=prices).to_dict()


def test_invalid_workload() -> None:
    with pytest.raises(ValueError):
        Workload(10, latency="soon")  # type: ignore[arg-type]
