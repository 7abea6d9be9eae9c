"""wait_for_endpoint (utils/endpoint_status.py), driven by a scripted SageMaker and a fake clock."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from endpoint_fakes import FakeClock, ScriptedSageMaker, not_found

from utils.endpoint_status import EndpointFailed, wait_for_endpoint
from utils.polling import FIRST_POLL_SECONDS, LOCAL_MAX_POLL_SECONDS, MAX_POLL_SECONDS


def test_wait_prints_each_status_change_once_and_returns_the_description() -> None:
    sm = ScriptedSageMaker(["Creating", "Creating", "Creating", "InService"])
    clock, lines = FakeClock(), []
    described = wait_for_endpoint(
        sm, "ep", show=lines.append, sleep=clock.sleep, clock=clock
    )
    assert described["EndpointStatus"] == "InService"
    assert [line.split()[0] for line in lines] == ["Creating", "InService"]
    assert lines[0] == "Creating   0.0 s"
    assert lines[1].endswith(f"{sum(clock.sleeps):.1f} s")


def test_default_polling_starts_fast_and_slows_down_to_a_cap() -> None:
    sm = ScriptedSageMaker(["Creating"] * 30 + ["InService"])
    clock = FakeClock()
    wait_for_endpoint(sm, "ep", show=None, sleep=clock.sleep, clock=clock)
    assert clock.sleeps[0] == pytest.approx(FIRST_POLL_SECONDS)
    assert clock.sleeps == sorted(clock.sleeps)
    assert max(clock.sleeps) == MAX_POLL_SECONDS


def test_default_polling_of_the_local_sagemaker_stops_growing_at_its_local_cap() -> None:
    from types import SimpleNamespace

    sm = ScriptedSageMaker(["Creating"] * 30 + ["InService"])
    sm.meta = SimpleNamespace(endpoint_url="http://127.0.0.1:8765")
    clock = FakeClock()
    wait_for_endpoint(sm, "ep", show=None, sleep=clock.sleep, clock=clock)
    assert clock.sleeps[0] == pytest.approx(FIRST_POLL_SECONDS)
    assert max(clock.sleeps) == LOCAL_MAX_POLL_SECONDS


def test_fixed_poll_interval() -> None:
    sm = ScriptedSageMaker(["Updating"] * 3 + ["InService"])
    clock = FakeClock()
    wait_for_endpoint(sm, "ep", poll_seconds=1, show=None, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [1, 1, 1]


def test_failed_endpoint_raises_with_its_failure_reason() -> None:
    reason = "The primary container for production variant AllTraffic did not pass the ping"
    sm = ScriptedSageMaker(["Creating", "Failed"], reason=reason)
    clock = FakeClock()
    with pytest.raises(EndpointFailed, match="did not pass the ping"):
        wait_for_endpoint(sm, "ep", show=None, sleep=clock.sleep, clock=clock)


def test_timeout() -> None:
    sm = ScriptedSageMaker(["Creating"])
    clock = FakeClock()
    with pytest.raises(TimeoutError, match="still Creating"):
        wait_for_endpoint(sm, "ep", timeout=10, show=None, sleep=clock.sleep, clock=clock)


def test_wait_until_deleted_ends_when_describe_no_longer_finds_it() -> None:
    sm = ScriptedSageMaker(["Deleting", "Deleting", not_found("endpoint", "ep")])
    clock, lines = FakeClock(), []
    assert wait_for_endpoint(
        sm, "ep", until="Deleted", show=lines.append, sleep=clock.sleep, clock=clock
    ) == {}
    assert [line.split()[0] for line in lines] == ["Deleting", "Deleted"]


def test_other_errors_are_not_swallowed() -> None:
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Describe")
    sm = ScriptedSageMaker([denied])
    with pytest.raises(ClientError, match="AccessDenied"):
        wait_for_endpoint(sm, "ep", until="Deleted", show=None)
    sm = ScriptedSageMaker([not_found("endpoint", "ep")])
    with pytest.raises(ClientError, match="Could not find"):
        wait_for_endpoint(sm, "ep", show=None)  # waiting for InService: not found is an error
