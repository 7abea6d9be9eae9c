"""The one poll-interval generator every waiting helper uses (utils/polling.py)."""

from __future__ import annotations

import pytest

from utils.polling import FIRST_POLL_SECONDS


def test_poll_intervals_grow_to_a_cap_or_stay_fixed() -> None:
    from itertools import islice

    from utils.polling import poll_intervals

    assert list(islice(poll_intervals(0.1, 1.0), 8)) == pytest.approx(
        [0.1, 0.15, 0.225, 0.3375, 0.50625, 0.759375, 1.0, 1.0]
    )
    assert list(islice(poll_intervals(2.0, 2.0), 3)) == [2.0, 2.0, 2.0]
    assert next(poll_intervals()) == FIRST_POLL_SECONDS
