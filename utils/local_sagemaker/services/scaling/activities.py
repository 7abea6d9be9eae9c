"""Scaling activities, the record DescribeScalingActivities answers from.

Both scalers (real-time variants on their alarms, :mod:`.realtime`; asynchronous endpoints on
their backlog, :mod:`..autoscaling`) write each change they make here, so one record answers
for every endpoint, keeps the same wording and survives a restart the same way. A client that
polls an endpoint's instance count can miss an instance that came and went between two polls;
the activities keep every change.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from ..endpoints.registry import Registry
from .registrations import DIMENSION, NAMESPACE

# FIDELITY autoscaling.activity-texts UNCONFIRMED: the texts of a SageMaker scaling activity
#   local: Description "Setting desired instance count to <n>.", Cause "monitor alarm <name> in
#     state ALARM triggered policy <policy>", StatusMessage "Successfully set desired instance
#     count to <n>. Change successfully fulfilled by sagemaker."
#   why: Application Auto Scaling words activities this way for other services ("Setting
#     desired count to ...", "Change successfully fulfilled by ecs."); SageMaker's are not on
#     record.
#   notice: DescribeScalingActivities on AWS can word them differently.

#: Scaling activities kept per ResourceId (the oldest are dropped).
KEEP_ACTIVITIES = 50


class ScalingActivities:
    """Every scaling change, per ResourceId, oldest first.

    An activity in progress is done once its endpoint is InService again (the ``registry``
    says), which is decided when the activities are read: nothing else watches the endpoint
    for it.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        self._by_resource: dict[str, list[dict[str, Any]]] = {}
        #: The count each activity in progress sets, by ActivityId (for its StatusMessage).
        self._setting: dict[str, int] = {}

    def record(
        self,
        resource: str,
        current: int,
        desired: int,
        cause: str,
        start: float,
        failure: str | None = None,
    ) -> None:
        """Record a change from ``current`` to ``desired`` instances once the endpoint took it
        (in progress until the endpoint is InService again; recorded after the request, so that
        it cannot be read as done before the endpoint even left InService), or that it refused
        it (``failure``: the error's code and message)."""
        activity: dict[str, Any] = {
            "ActivityId": str(uuid.uuid4()),
            "ServiceNamespace": NAMESPACE,
            "ResourceId": resource,
            "ScalableDimension": DIMENSION,
            "Description": f"Setting desired instance count to {desired}.",
            "Cause": cause,
            "StartTime": start,
            "StatusCode": "InProgress",
            "StatusMessage": "",
            "Details": f"From {current} to {desired} instances.",
        }
        if failure is not None:
            activity.update(StatusCode="Failed", EndTime=time.time(), StatusMessage=failure)
        with self._lock:
            items = self._by_resource.setdefault(resource, [])
            items.append(activity)
            for dropped in items[:-KEEP_ACTIVITIES]:
                self._setting.pop(dropped["ActivityId"], None)
            del items[:-KEEP_ACTIVITIES]
            if failure is None:
                self._setting[activity["ActivityId"]] = desired

    def settle(self, resource: str | None = None) -> None:
        """Mark Successful the activities in progress (of one ResourceId, or of all) whose
        endpoint is InService again. The scalers call it on every round, so an activity's
        EndTime is within a round of the change's end; :meth:`listing` calls it too."""
        with self._lock:
            for key, items in self._by_resource.items():
                if resource not in (None, key):
                    continue
                if any(a["StatusCode"] == "InProgress" for a in items) and self._in_service(key):
                    self._complete(items)

    def listing(self, resource: str | None = None) -> list[dict[str, Any]]:
        """The activities of one ResourceId, or of all, newest first (copies)."""
        self.settle(resource)
        with self._lock:
            found = [
                dict(a)
                for key, items in self._by_resource.items()
                if resource in (None, key)
                for a in items
            ]
        return sorted(found, key=lambda a: a["StartTime"], reverse=True)

    def _in_service(self, resource: str) -> bool:
        endpoint = self.registry.endpoint_for_invoke(resource.split("/")[1])
        return endpoint is not None and endpoint.status == "InService"

    def _complete(self, items: list[dict[str, Any]]) -> None:
        for activity in items:
            desired = self._setting.pop(activity["ActivityId"], None)
            if activity["StatusCode"] == "InProgress" and desired is not None:
                activity.update(
                    StatusCode="Successful",
                    EndTime=time.time(),
                    StatusMessage=(
                        f"Successfully set desired instance count to {desired}. "
                        "Change successfully fulfilled by sagemaker."
                    ),
                )

    def export(self) -> dict[str, list[dict[str, Any]]]:
        """Every activity as JSON-ready data (:meth:`restore` reads it back)."""
        with self._lock:
            return {key: [dict(a) for a in items] for key, items in self._by_resource.items()}

    def restore(self, data: dict[str, Any], stopped: float) -> None:
        """Take back what :meth:`export` saved (at start, before anything scales).

        An activity still in progress when the server stopped did not complete: the restored
        endpoint runs the instance count that was saved with it, and the activity says so
        (FIDELITY autoscaling.restart, in :mod:`.realtime`).
        """
        with self._lock:
            for resource, items in data.items():
                restored = []
                for item in items:
                    activity = dict(item)
                    if activity.get("StatusCode") == "InProgress":
                        activity.update(
                            StatusCode="Failed",
                            EndTime=stopped,
                            StatusMessage=(
                                "The local SageMaker stopped before the change completed; "
                                "the endpoint kept the instance count it had."
                            ),
                        )
                    restored.append(activity)
                self._by_resource[str(resource)] = restored[-KEEP_ACTIVITIES:]
