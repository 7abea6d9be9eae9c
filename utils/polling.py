"""How long to sleep between two polls: the one interval generator every waiting helper uses.

Waiting helpers poll (DescribeEndpoint, DescribeTransformJob, S3, CloudWatch) instead of
sleeping a fixed time. They start fast, because the local SageMaker answers in milliseconds,
and slow down to AWS's pace, because a real endpoint or job takes minutes and each poll is a
request. ``poll_intervals(x, x)`` gives a fixed interval.

Against the local SageMaker (a server on this machine) the interval stops growing at
:data:`LOCAL_MAX_POLL_SECONDS`: a poll costs it a millisecond, while a 15 s interval would make
the learner wait up to half again as long as the endpoint or job took (the interval grows by
half each time). :func:`max_poll_seconds` picks the cap from where the polling client's
requests go, so the same lesson code keeps AWS's pace on AWS. Waits whose AWS interval is fixed
(the asynchronous helpers, the clean-up) cap it the same way with :func:`poll_seconds`: the
AWS code path run against a server on this machine (the AWS rehearsal's stand-in accounts)
polls it at the local pace.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

#: Default first interval, growth per poll and cap (AWS's own waiters poll every 15–30 s).
FIRST_POLL_SECONDS = 0.2
POLL_GROWTH = 1.5
MAX_POLL_SECONDS = 15.0
#: The cap when the polled server is the local SageMaker: a status it reports is seen within a
#: quarter of a second, and four polls a second are nothing to a server on the same machine.
LOCAL_MAX_POLL_SECONDS = 0.25
#: Host names of this machine: a client whose endpoint is one of them polls the local SageMaker.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


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


def max_poll_seconds(client: Any) -> float:
    """The longest interval between polls made through ``client`` (a boto3 client).

    :data:`LOCAL_MAX_POLL_SECONDS` when its requests go to this machine (the local SageMaker,
    whose address is ``http://127.0.0.1:<port>``), :data:`MAX_POLL_SECONDS` otherwise (AWS).
    """
    return LOCAL_MAX_POLL_SECONDS if on_this_machine(client) else MAX_POLL_SECONDS


def on_this_machine(client: Any) -> bool:
    """Whether ``client``'s (a boto3 client's) requests go to a server on this machine."""
    return urlsplit(client.meta.endpoint_url).hostname in LOOPBACK_HOSTS


def poll_seconds(seconds: float, client: Any) -> float:
    """``seconds`` between polls made through ``client`` on AWS, unchanged; at most
    :data:`LOCAL_MAX_POLL_SECONDS` when its requests go to this machine."""
    return min(seconds, LOCAL_MAX_POLL_SECONDS) if on_this_machine(client) else seconds
