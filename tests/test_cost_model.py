"""Cost model: hand-computed monthly costs per mode, and the serverless/real-time crossover.

The examples use a price table with round numbers (built here, not the shipped file) so that each
expected value can be checked by hand; a month is 730 h = 30.41667 days.
"""

from __future__ import annotations

import pytest

from utils.cost_model import (
    BATCH_RUNS_PER_MONTH,
    DAYS_PER_MONTH,
    HOURS_PER_MONTH,
    SHAPES,
    DeploymentOptions,
    Traffic,
    async_cost,
    batch_cost,
    cost_curve,
    crossover_requests_per_day,
    monthly_costs,
    realtime_cost,
    realtime_instances_needed,
    serverless_cost,
)
from utils.pricing import PriceTable

SRC = {
    "source": "https://aws.amazon.com/sagemaker/pricing/",
    "retrieved": "2026-11-29",
    "confidence": "unconfirmed",
}


def _entry(usd: float) -> dict:
    return {"usd": usd, "unit": "test", **SRC}


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    """$0.10/instance-hour, $0.00002/GB-s, PC $0.000005/GB-s, PC duration $0.00001/GB-s, $0.02/GB."""
    return PriceTable(
        {
            "schema_version": 1,
            "currency": "USD",
            "as_of": "2026-11-29",
            "regions": {
                "us-east-1": {
                    "instances": {
                        "ml.m5.large": {
                            "usd_per_hour": {"realtime": 0.1, "asynchronous": 0.1, "batch": 0.1},
                            **SRC,
                        }
                    },
                    "serverless": {
                        "compute_usd_per_gb_second": _entry(0.00002),
                        "provisioned_concurrency_usd_per_gb_second": _entry(0.000005),
                        "compute_with_provisioned_concurrency_usd_per_gb_second": _entry(0.00001),
                        "data_processed_in_usd_per_gb": _entry(0.02),
                        "data_processed_out_usd_per_gb": _entry(0.02),
                        "free_tier": {"seconds_per_month": 150000, **SRC},
                    },
                }
            },
        }
    )


OPTS = DeploymentOptions()  # ml.m5.large, 2 workers, 2048 MB serverless, async delay 900 s


def test_month_conventions() -> None:
    assert HOURS_PER_MONTH == 730
    assert round(DAYS_PER_MONTH, 6) == 30.416667
    assert BATCH_RUNS_PER_MONTH["daily"] == pytest.approx(30.416667)


def test_shapes_are_defined_precisely() -> None:
    for shape in SHAPES.values():
        assert 0 < shape.active_hours_per_day <= 24
        assert 1 <= shape.active_days_per_week <= 7
        assert shape.peak_factor >= 1
        assert shape.windows_per_day >= 1
    t = Traffic(100_800, "business_hours")
    # 100,800/day over 7 days = 141,120 per weekday, over 10 h = 3.92 req/s, peak 2x = 7.84
    assert t.requests_per_active_day == pytest.approx(141_120)
    assert t.mean_active_requests_per_second == pytest.approx(3.92)
    assert t.peak_requests_per_second == pytest.approx(7.84)


def test_realtime_single_instance_is_flat(prices: PriceTable) -> None:
    # 1 instance x 730 h x $0.10 = $73.00, for 10 requests a day or 10,000
    for rpd in (10, 10_000):
        cost = realtime_cost(Traffic(rpd), OPTS, prices)
        assert cost.instance_count == 1
        assert cost.monthly_usd == pytest.approx(73.0)


def test_realtime_is_sized_for_the_peak(prices: PriceTable) -> None:
    # steady 864,000/day = 10 req/s; 500 ms each -> 5 in flight; 2 workers/instance -> 3 instances
    t = Traffic(864_000, "steady", processing_ms=500)
    assert realtime_instances_needed(t, OPTS) == 3
    assert realtime_cost(t, OPTS, prices).monthly_usd == pytest.approx(219.0)
    # business hours, peak 7.84 req/s x 1 s = 7.84 in flight -> 4 instances; without
    # autoscaling all four run all month: 4 x 730 h x $0.10 = $292.00
    t = Traffic(100_800, "business_hours", processing_ms=1000)
    fixed = DeploymentOptions(realtime_autoscaling=False)
    assert realtime_cost(t, fixed, prices).monthly_usd == pytest.approx(292.0)


def test_realtime_autoscaling_runs_the_extra_instances_only_while_traffic_is_active(
    prices: PriceTable,
) -> None:
    # The same business-hours peak with autoscaling: 1 instance x 730 h, and 3 more for the
    # 10 h window plus 300 s start-up and 900 s scale-in delay: 3 x 37,200 s = 111,600 s per
    # weekday x 21.72619 weekdays a month / 3600 = 673.5119 h -> 1,403.5119 h x $0.10
    t = Traffic(100_800, "business_hours", processing_ms=1000)
    cost = realtime_cost(t, OPTS, prices)
    assert cost.instance_count == 4
    assert [line.quantity for line in cost.lines] == pytest.approx([730.0, 673.5119], rel=1e-6)
    assert cost.monthly_usd == pytest.approx(140.35119, rel=1e-6)
    # traffic that never pauses keeps every instance on, with or without autoscaling
    steady = Traffic(864_000, "steady", processing_ms=500)
    assert realtime_cost(steady, OPTS, prices).monthly_usd == pytest.approx(219.0)


def test_business_hours_crossover_exists_with_autoscaling(prices: PriceTable) -> None:
    # Serverless grows with every request; an autoscaled endpoint adds instances for the day
    # only, so in office hours it becomes the cheaper one at some traffic. Sized for the peak
    # around the clock it never would (each instance idles 14 h a day and all weekend).
    t = Traffic(1, "business_hours", payload_kb=0, response_kb=0, processing_ms=200)
    x = crossover_requests_per_day(t, OPTS, prices, max_requests_per_day=1e8)
    assert x is not None and x > 0
    above = t.with_requests_per_day(x * 1.05)
    assert realtime_cost(above, OPTS, prices).monthly_usd <= serverless_cost(
        above, OPTS, prices
    ).monthly_usd
    fixed = DeploymentOptions(realtime_autoscaling=False)
    assert crossover_requests_per_day(t, fixed, prices, max_requests_per_day=1e8) is None


def test_serverless_compute_and_data(prices: PriceTable) -> None:
    # 10,000/day -> 304,166.67 requests/month
    # compute: 304,166.67 x 0.25 s x 2 GB = 152,083.33 GB-s x $0.00002 = $3.041667
    # data in: 304,166.67 x 1 MB = 297.0378 GB x $0.02 = $5.940755; out: 0
    t = Traffic(10_000, payload_kb=1024, response_kb=0, processing_ms=250)
    cost = serverless_cost(t, OPTS, prices)
    assert cost.lines[0].quantity == pytest.approx(152_083.33, abs=0.01)
    assert cost.monthly_usd == pytest.approx(3.041667 + 5.940755, abs=1e-5)


def test_serverless_bills_by_the_millisecond(prices: PriceTable) -> None:
    # 0.4 ms is billed as 1 ms: 1,000/day -> 30,416.67 x 0.001 s x 2 GB x $0.00002 = $0.00121667
    t = Traffic(1000, payload_kb=0, response_kb=0, processing_ms=0.4)
    assert serverless_cost(t, OPTS, prices).monthly_usd == pytest.approx(0.00121667, rel=1e-5)


def test_serverless_provisioned_concurrency(prices: PriceTable) -> None:
    # PC 1 at 1 GB, 24 h: 1 x 1 GB x 86,400 s x 30.41667 = 2,628,000 GB-s x $0.000005 = $13.14
    # 1,000/day x 100 ms at peak concurrency 0.0012 <= 1, so all of it at the PC duration price:
    # 30,416.67 x 0.1 s x 1 GB x $0.00001 = $0.0304167
    opts = DeploymentOptions(serverless_memory_mb=1024, provisioned_concurrency=1)
    t = Traffic(1000, payload_kb=0, response_kb=0, processing_ms=100)
    cost = serverless_cost(t, opts, prices)
    assert cost.monthly_usd == pytest.approx(13.14 + 0.0304167, rel=1e-6)


def test_serverless_free_tier(prices: PriceTable) -> None:
    # 150,000 free seconds at 2 GB = 300,000 GB-s, more than the 152,083 GB-s used: compute free
    t = Traffic(10_000, payload_kb=0, response_kb=0, processing_ms=250)
    opts = DeploymentOptions(include_free_tier=True)
    assert serverless_cost(t, opts, prices).monthly_usd == pytest.approx(0.0)


def test_async_steady_never_scales_down(prices: PriceTable) -> None:
    # 1,000/day: a request every 86.4 s < 900 s delay -> up all day: 730 h x $0.10
    assert async_cost(Traffic(1000), OPTS, prices).monthly_usd == pytest.approx(73.0)


def test_async_spiky_runs_only_around_bursts(prices: PriceTable) -> None:
    # 400/day in 4 bursts of 1,800 s: each burst up 1,800 + 300 start-up + 900 delay = 3,000 s
    # 12,000 s/day x 30.41667 days = 101.3889 h x $0.10 = $10.13889
    cost = async_cost(Traffic(400, "spiky"), OPTS, prices)
    assert cost.monthly_usd == pytest.approx(10.13889, rel=1e-6)


def test_async_rare_wakes_per_request(prices: PriceTable) -> None:
    # 10 isolated requests/day, each 300 + 0.1 + 900 = 1,200.1 s -> 12,001 s/day
    # x 30.41667 / 3600 = 101.3973 h x $0.10 = $10.13973
    cost = async_cost(Traffic(10, "rare"), OPTS, prices)
    assert cost.monthly_usd == pytest.approx(10.13973, rel=1e-5)


def test_async_business_hours(prices: PriceTable) -> None:
    # 1,000/day -> 1,400 per weekday over 36,000 s: gap 25.7 s < 900 s, one instance
    # up 36,000 + 300 + 900 = 37,200 s per weekday x (30.41667 x 5/7 = 21.72619 days)
    # = 224.504 h x $0.10 = $22.4504
    cost = async_cost(Traffic(1000, "business_hours"), OPTS, prices)
    assert cost.monthly_usd == pytest.approx(22.4504, rel=1e-5)


def test_batch_nightly_scoring(prices: PriceTable) -> None:
    # 200,000 rows nightly at 10 ms each on 1 instance with 2 workers:
    # 300 s start-up + 200,000 x 0.01 / 2 = 1,300 s per run x 30.41667 runs = 10.9838 h x $0.10
    cost = batch_cost(Traffic(200_000, processing_ms=10), OPTS, prices)
    assert cost.monthly_usd == pytest.approx(1.098380, rel=1e-5)
    weekly = DeploymentOptions(batch_runs_per_month=BATCH_RUNS_PER_MONTH["weekly"])
    # weekly: 1,403,846 rows per run -> 300 + 7,019.23 = 7,319.23 s x 4.3333 runs = 8.8102 h
    assert batch_cost(Traffic(200_000, processing_ms=10), weekly, prices).monthly_usd == (
        pytest.approx(0.88102, rel=1e-4)
    )


def test_monthly_costs_covers_every_mode(prices: PriceTable) -> None:
    costs = monthly_costs(Traffic(1000), OPTS, prices)
    assert set(costs) == {"realtime", "serverless", "asynchronous", "batch"}
    assert all(c.monthly_usd >= 0 for c in costs.values())
    assert costs["serverless"].monthly_usd < costs["realtime"].monthly_usd


def test_crossover_linear_case(prices: PriceTable) -> None:
    # serverless per request: 0.1 s x 1 GB x $0.00002 = $0.000002; per month per (request/day):
    # x 30.41667 -> $0.0000608333; real-time $73 -> 73 / 0.0000608333 = 1,200,000 requests/day
    t = Traffic(1, payload_kb=0, response_kb=0, processing_ms=100)
    opts = DeploymentOptions(serverless_memory_mb=1024)
    x = crossover_requests_per_day(t, opts, prices)
    assert x == pytest.approx(1_200_000, rel=1e-5)
    below, above = t.with_requests_per_day(x * 0.99), t.with_requests_per_day(x * 1.01)
    assert serverless_cost(below, opts, prices).monthly_usd < 73.0
    assert serverless_cost(above, opts, prices).monthly_usd > 73.0


def test_crossover_none_when_serverless_stays_cheaper(prices: PriceTable) -> None:
    # 1 worker, 1 s per request: the endpoint needs one instance per 86,400 requests/day
    # ($73 / 86,400 = $0.000845 per request/day) but serverless costs $0.000608: never crosses
    t = Traffic(1, payload_kb=0, response_kb=0, processing_ms=1000)
    opts = DeploymentOptions(serverless_memory_mb=1024, workers_per_instance=1)
    assert crossover_requests_per_day(t, opts, prices, max_requests_per_day=1e7) is None


def test_crossover_zero_when_serverless_never_cheaper(prices: PriceTable) -> None:
    # provisioned concurrency 6 x 6 GB all month = $473.04 > $73 even with no traffic
    opts = DeploymentOptions(serverless_memory_mb=6144, provisioned_concurrency=6)
    assert crossover_requests_per_day(Traffic(1), opts, prices) == 0.0


def test_cost_curve(prices: PriceTable) -> None:
    levels = [10, 1000, 100_000]
    curve = cost_curve(Traffic(1), levels, OPTS, prices)
    assert curve["realtime"] == pytest.approx([73.0, 73.0, 73.0])
    assert curve["serverless"] == sorted(curve["serverless"])
    assert curve["serverless"][1] == pytest.approx(
        serverless_cost(Traffic(1000), OPTS, prices).monthly_usd
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"requests_per_day": -1},
        {"requests_per_day": 1, "shape": "weekly"},
        {"requests_per_day": 1, "processing_ms": -5},
    ],
)
def test_traffic_validation(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Traffic(**kwargs)


def test_options_validation() -> None:
    with pytest.raises(ValueError, match="memory"):
        DeploymentOptions(serverless_memory_mb=512)
