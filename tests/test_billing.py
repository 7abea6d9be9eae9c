"""Money as the lessons print it: one format, and no small cost shown as $0.00."""

from __future__ import annotations

import pytest

from utils.billing import format_usd


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
