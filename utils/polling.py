"""How long to sleep between two polls: the one interval generator every waiting helper uses.

Waiting helpers poll (DescribeEndpoint, DescribeTransformJob, S3, CloudWatch) instead of
sleeping a fixed time. They start fast, because the local SageMaker answers in milliseconds,
and slow down to AWS's pace, because a real endpoint or job takes minutes and each poll is a
request. ``poll_intervals(x, x)`` gives a fixed interval.
"""

from __future__ import annotations

from collections.abc import Iterator

#: Default first interval, growth per poll and cap (AWS's own waiters poll every 15–30 s).
FIRST_POLL_SECONDS = 0.2
POLL_GROWTH = 1.5
MAX_POLL_SECONDS = 15.0


def poll_intervals(
    first: float = FIRST_POLL_SECONDS,
    most: float = MAX_POLL_SECONDS,
    growth: float = POLL_GROWTH,
) -> Iterator[float]:
    """Seconds to sleep between polls: ``first``, then ``growth`` times more each time, up to ``most``."""
    interval = min(first, most)
    while True:
        yield interval
        interval = min(interval * growth, most)
