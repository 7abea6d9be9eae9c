"""The scaling activities both scalers record (DescribeScalingActivities), without a server."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from utils.local_sagemaker.services.scaling.activities import KEEP_ACTIVITIES, ScalingActivities

RESOURCE = "endpoint/ep/variant/AllTraffic"


class Registry:
    """One endpoint, ``ep``, whose status a test sets."""

    def __init__(self) -> None:
        self.endpoint = SimpleNamespace(name="ep", status="Updating")

    def endpoint_for_invoke(self, name: str) -> Any:
        return self.endpoint if name == "ep" else None


def test_a_change_is_in_progress_until_its_endpoint_is_in_service_again() -> None:
    registry = Registry()
    activities = ScalingActivities(registry)  # type: ignore[arg-type]
    activities.record(RESOURCE, 0, 1, "monitor alarm a in state ALARM triggered policy p", 5.0)
    (running,) = activities.listing(RESOURCE)
    assert running["StatusCode"] == "InProgress"
    assert running["Description"] == "Setting desired instance count to 1."
    assert running["Details"] == "From 0 to 1 instances."
    assert running["ServiceNamespace"] == "sagemaker"
    assert running["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert "EndTime" not in running

    registry.endpoint.status = "InService"
    (done,) = activities.listing(RESOURCE)
    assert done["StatusCode"] == "Successful"
    assert done["StatusMessage"] == (
        "Successfully set desired instance count to 1. Change successfully fulfilled by sagemaker."
    )
    assert done["EndTime"] >= done["StartTime"]
    assert activities.listing("endpoint/other/variant/AllTraffic") == []


def test_a_refused_change_is_failed_at_once_and_stays_failed() -> None:
    registry = Registry()
    registry.endpoint.status = "InService"
    activities = ScalingActivities(registry)  # type: ignore[arg-type]
    activities.record(RESOURCE, 2, 9, "cause", 1.0, failure="ValidationException: too many")
    (failed,) = activities.listing()
    assert (failed["StatusCode"], failed["StatusMessage"]) == (
        "Failed",
        "ValidationException: too many",
    )


def test_newest_first_and_only_the_last_ones_kept() -> None:
    registry = Registry()
    activities = ScalingActivities(registry)  # type: ignore[arg-type]
    for n in range(KEEP_ACTIVITIES + 5):
        activities.record(RESOURCE, n, n + 1, "cause", float(n))
    listed = activities.listing(RESOURCE)
    assert len(listed) == KEEP_ACTIVITIES
    assert [a["StartTime"] for a in listed] == sorted((a["StartTime"] for a in listed), reverse=True)
    assert listed[-1]["StartTime"] == 5.0


def test_a_restart_keeps_them_and_ends_a_change_it_interrupted_as_failed() -> None:
    registry = Registry()
    before = ScalingActivities(registry)  # type: ignore[arg-type]
    before.record(RESOURCE, 1, 0, "cause", 3.0)
    after = ScalingActivities(registry)  # type: ignore[arg-type]
    after.restore(json.loads(json.dumps(before.export())), stopped=4.0)
    registry.endpoint.status = "InService"  # the restored endpoint is back, with its old count
    (interrupted,) = after.listing(RESOURCE)
    assert (interrupted["StatusCode"], interrupted["EndTime"]) == ("Failed", 4.0)
    assert "stopped before the change completed" in interrupted["StatusMessage"]
