"""Wait for an endpoint to reach a status, printing each status as it changes.

Creating, updating and deleting an endpoint are asynchronous: the call returns at once and the
endpoint's ``EndpointStatus`` moves on (``Creating`` -> ``InService``, ``Updating`` ->
``InService``, ``Deleting`` -> gone). :func:`wait_for_endpoint` polls DescribeEndpoint and shows
the transitions, so a lesson cell reads as "create, then wait" on both backends: nothing here asks
which backend it is on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from utils.polling import max_poll_seconds, poll_intervals
from utils.progress import LiveWait

__all__ = ["EndpointFailed", "endpoint_not_found", "wait_for_endpoint"]


#: Statuses after which waiting for another status is pointless.
_TERMINAL = {"Failed", "UpdateRollbackFailed"}


def _poll_intervals(poll_seconds: float | None, sm: Any) -> Iterator[float]:
    """Fixed ``poll_seconds``, or (None) 0.2 s growing by half each time up to 15 s on AWS and
    a quarter of a second on the local SageMaker (:func:`utils.polling.max_poll_seconds`)."""
    if poll_seconds is not None:
        return poll_intervals(poll_seconds, poll_seconds)
    return poll_intervals(most=max_poll_seconds(sm))


def endpoint_not_found(error: Exception) -> bool:
    """Whether ``error`` is SageMaker's answer for a name it does not know (``Could not find``).

    DescribeEndpoint, DeleteEndpoint, DeleteEndpointConfig and DeleteModel all answer a missing
    resource with ``ValidationException`` and a message starting ``Could not find``.
    """
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    message = str(error)
    return code in ("ValidationException", "ValidationError") and "Could not find" in message


class EndpointFailed(RuntimeError):
    """The endpoint ended in ``Failed`` (or a rollback failure) instead of the wanted status."""


def wait_for_endpoint(
    sm: Any,
    name: str,
    until: str = "InService",
    poll_seconds: float | None = None,
    timeout: float = 3600.0,
    show: Callable[[str], None] | None = print,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll DescribeEndpoint until ``name`` is ``until``; print each status as it changes.

    ``until`` is an endpoint status (``InService``, ...) or ``"Deleted"`` (wait until
    DescribeEndpoint no longer finds it; returns ``{}``). By default the poll interval adapts:
    0.2 s at first, growing to 15 s on AWS, so a real endpoint (minutes) is not polled hundreds
    of times, and to a quarter of a second on the local SageMaker, so a local endpoint is seen
    the moment it is ready. Raises :class:`EndpointFailed` with
    the ``FailureReason`` if the endpoint fails, ``TimeoutError`` after ``timeout`` seconds.
    Each printed line is ``<status>  <seconds since the call> s``; in between, a live line shows
    the status and the time elapsed (:class:`utils.progress.LiveWait`).
    """
    start = clock()
    last: str | None = None
    intervals = _poll_intervals(poll_seconds, sm)
    with LiveWait(f"endpoint {name}", show, clock) as live:

        def report(status: str, final: bool = False) -> None:
            text = f"{status:<10} {clock() - start:.1f} s"
            if final:
                live.finish(text)
            else:
                live.line(text)

        while True:
            try:
                described = sm.describe_endpoint(EndpointName=name)
            except Exception as error:
                if until == "Deleted" and endpoint_not_found(error):
                    report("Deleted", final=True)
                    return {}
                raise
            status = described["EndpointStatus"]
            ended = status == until or status in _TERMINAL
            if status != last or ended:
                report(status, final=ended)
                last = status
            if status == until:
                return described
            if status in _TERMINAL:
                reason = described.get("FailureReason", "no FailureReason given")
                raise EndpointFailed(f"endpoint {name} is {status}: {reason}")
            if clock() - start >= timeout:
                live.finish(f"still {status} after {timeout:.0f} s: stopped waiting")
                raise TimeoutError(f"endpoint {name} still {status} after {timeout:.0f} s")
            live.update(status)
            live.sleep(next(intervals), sleep)

