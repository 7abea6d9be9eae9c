"""Decision helper widgets driven from Python: set controls, check state, text and plot data."""

from __future__ import annotations

import json

import matplotlib
import pytest

matplotlib.use("Agg")

from utils.billing import format_usd
from utils.cost_model import DeploymentOptions, crossover_requests_per_day
from utils.decision import Workload
from utils.decision_widget import DEFAULT_WORKLOAD, DecisionHelper, decision_helper
from utils.pricing import PriceTable

PNG_MAGIC = b"\x89PNG"


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return PriceTable.load()


@pytest.fixture
def helper(prices: PriceTable) -> DecisionHelper:
    return DecisionHelper(prices=prices, curve_points=25)


def test_builds_with_labelled_inputs(prices: PriceTable) -> None:
    h = decision_helper(prices=prices)
    assert {
        "requests_per_day",
        "traffic_shape",
        "payload_kb",
        "processing_ms",
        "latency",
        "latency_budget_ms",
        "user_waits",
        "needs_gpu",
        "model_size_mb",
        "instance_type",
        "serverless_memory_mb",
        "provisioned_concurrency",
    } == set(h.controls)
    for name, control in h.controls.items():
        assert control.description, name
        assert "decision-input" in control._dom_classes
        assert f"decision-input-{name}" in control._dom_classes
    # units in the labels
    assert "(KB)" in h.controls["payload_kb"].description
    assert "(ms)" in h.controls["processing_ms"].description
    assert "(MB)" in h.controls["model_size_mb"].description
    assert "decision-recommendation" in h.recommendation_html._dom_classes
    assert "decision-helper" in h.widget._dom_classes
    assert bytes(h.cost_chart.value).startswith(PNG_MAGIC)
    assert bytes(h.traffic_chart.value).startswith(PNG_MAGIC)


def test_initial_state_is_plain_data_and_consistent(helper: DecisionHelper, prices) -> None:
    state = helper.state()
    json.dumps(state)
    assert state["workload"]["requests_per_day"] == DEFAULT_WORKLOAD.requests_per_day
    assert state["recommendation"]["recommended"] == "serverless"
    assert 'data-mode="serverless"' in helper.recommendation_html.value
    expected = crossover_requests_per_day(
        DEFAULT_WORKLOAD.traffic(), DeploymentOptions(), prices, max_requests_per_day=1e8
    )
    assert state["plot"]["crossover_requests_per_day"] == round(expected)
    assert state["plot"]["costs_usd"]["serverless"] < state["plot"]["costs_usd"]["realtime"]
    assert state["plot"]["highlighted"] == "serverless"


def test_large_payload_moves_to_asynchronous(helper: DecisionHelper) -> None:
    before = helper.cost_chart.value
    state = helper.set_values(payload_kb=8 * 1024)
    rec = state["recommendation"]
    assert rec["recommended"] == "asynchronous"
    assert {"realtime", "serverless", "batch"} <= {e["mode"] for e in rec["excluded"]}
    assert 'data-mode="asynchronous"' in helper.recommendation_html.value
    assert "Ruled out" in helper.exclusions_html.value
    assert 'data-code="payload_over_limit"' in helper.warnings_html.value
    assert helper.cost_chart.value != before
    assert state["plot"]["crossover_requests_per_day"] is None


def test_each_control_change_recomputes(helper: DecisionHelper) -> None:
    # a single slider move (observed change) updates the state without calling update()
    helper.controls["requests_per_day"].value = 50_000
    state = helper.state()
    assert state["workload"]["requests_per_day"] == pytest.approx(50_000)
    assert state["plot"]["user_point"]["requests_per_day"] == pytest.approx(50_000)
    curve = state["plot"]["curve"]
    assert curve["requests_per_day"][0] <= 50_000 <= curve["requests_per_day"][-1]
    assert len(curve["serverless"]) == len(curve["requests_per_day"]) == 25


def test_offline_nightly_job_shows_batch(helper: DecisionHelper) -> None:
    state = helper.set_values(
        requests_per_day=200_000, latency="offline", user_waits=False, processing_ms=10
    )
    assert state["recommendation"]["recommended"] == "batch"
    assert "batch" in state["plot"]["curve"]  # batch is drawn only when it applies
    assert 'data-mode="batch"' in helper.recommendation_html.value


def test_gpu_rules_out_serverless_and_prices_a_gpu(helper: DecisionHelper, prices) -> None:
    cpu_cost = helper.state()["plot"]["costs_usd"]["realtime"]
    state = helper.set_values(needs_gpu=True, traffic_shape="spiky", requests_per_day=100)
    assert state["options"]["instance_type"] == "ml.g4dn.xlarge"
    assert "serverless" in {e["mode"] for e in state["recommendation"]["excluded"]}
    assert state["recommendation"]["recommended"] != "serverless"
    assert state["plot"]["costs_usd"]["realtime"] > cpu_cost
    assert state["plot"]["costs_usd"]["realtime"] == pytest.approx(
        prices.instance_hourly("ml.g4dn.xlarge") * 730, rel=1e-4
    )


def test_deployment_assumptions_change_costs(helper: DecisionHelper, prices) -> None:
    base = helper.state()["plot"]["costs_usd"]
    state = helper.set_values(instance_type="ml.c5.xlarge", provisioned_concurrency=2)
    costs = state["plot"]["costs_usd"]
    assert costs["realtime"] == pytest.approx(
        prices.instance_hourly("ml.c5.xlarge") * 730, rel=1e-4
    )
    assert costs["serverless"] > base["serverless"]  # provisioned concurrency is billed all month
    assert state["options"]["provisioned_concurrency"] == 2


def test_strict_latency_warns_about_cold_starts(helper: DecisionHelper) -> None:
    state = helper.set_values(requests_per_day=20, traffic_shape="rare", latency_budget_ms=300)
    codes = {w["code"] for w in state["recommendation"]["warnings"]}
    assert "cold_start_latency" in codes
    assert state["recommendation"]["recommended"] == "realtime"
    assert "Watch out" in helper.warnings_html.value


def test_unknown_control_is_rejected(helper: DecisionHelper) -> None:
    with pytest.raises(KeyError, match="known"):
        helper.set_values(colour="blue")


def test_custom_starting_workload(prices: PriceTable) -> None:
    w = Workload(300, "business_hours", latency="minutes", user_waits=False)
    h = DecisionHelper(w, prices=prices, curve_points=10)
    assert h.state()["workload"]["traffic_shape"] == "business_hours"
    assert h.controls["latency"].value == "minutes"


def test_static_snapshot_shows_answer_and_both_charts(helper: DecisionHelper) -> None:
    # What GitHub, nbviewer and a JupyterLab without a kernel show instead of the widget.
    helper.set_values(payload_kb=8 * 1024)
    bundle = helper._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # the live widget, with a kernel
    page = bundle["text/html"]
    assert helper.recommendation_html.value in page
    assert helper.reasons_html.value in page and helper.exclusions_html.value in page
    assert helper.warnings_html.value in page
    assert page.count('src="data:image/png;base64,') == 2
    assert "8,192.0 KB" in page  # the inputs, which a static page cannot show as sliders
    assert bundle["text/plain"] == (
        "Decision helper: Asynchronous inference recommended, about "
        f"{format_usd(helper.recommendation.ranked[0].monthly_usd)} a month."
    )


def test_traffic_chart_marks_the_serverless_ceiling(helper: DecisionHelper) -> None:
    state = helper.set_values(requests_per_day=1_000_000, traffic_shape="business_hours")
    ceiling = state["plot"]["serverless_ceiling_requests_per_day"]
    assert ceiling == state["recommendation"]["serverless_ceiling_requests_per_day"]
    curve = state["plot"]["curve"]["requests_per_day"]
    assert curve[0] <= ceiling <= curve[-1]
