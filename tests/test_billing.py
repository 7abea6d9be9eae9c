"""Money as the lessons print it: one format, no small cost shown as $0.00, the endpoints' meter
lines."""

from __future__ import annotations

import pytest

from utils.billing import cost_so_far, format_cost_rows, format_usd


@pytest.mark.parametrize(
    ("usd", "shown"),
    [
        (83.95, "$83.95"),
        (1007.4, "$1,007.40"),
        (1.0, "$1.00"),
        (0.49, "$0.49"),
        (0.1, "$0.10"),
        (0.015, "$0.015"),  # two decimals would say $0.02 (a third more)
        (0.0097, "$0.0097"),  # a month of rare serverless requests: about a cent, not $0.00
        (0.00028, "$0.00028"),  # seconds of an endpoint in a lesson
        (0.0099999, "$0.010"),  # rounds up to the next digit: still two significant digits
        (0.099999, "$0.10"),
        (0.0, "$0.00"),
        (-0.5, "-$0.50"),
        (None, "unknown"),
    ],
)
def test_format_usd(usd: float | None, shown: str) -> None:
    assert format_usd(usd) == shown


def test_no_positive_amount_is_shown_as_zero() -> None:
    for exponent in range(-9, 4):
        for mantissa in (1.0, 2.5, 9.99):
            text = format_usd(mantissa * 10.0**exponent)
            assert any(ch in "123456789" for ch in text), text


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
    text = cost_so_far(tut, endpoints=["ep"])
    assert asked == ["http://127.0.0.1:1"]
    assert "$0.001150" in text
