"""A scale-in held back for ``LOCAL_SAGEMAKER_SCALE_IN_SECONDS`` (the AWS rehearsal's pace)."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from utils.local_sagemaker.services.autoscaling import AutoScaler
from utils.local_sagemaker.services.scaling.activities import ScalingActivities

POLICY = {
    "PolicyType": "TargetTrackingScaling",
    "TargetTrackingScalingPolicyConfiguration": {
        "TargetValue": 5.0,
        "CustomizedMetricSpecification": {"MetricName": "ApproximateBacklogSizePerInstance"},
    },
}


class FakeService:
    """What the autoscaler reads: one async endpoint with 2 instances and an empty queue."""

    def __init__(self) -> None:
        self.updates: list[int] = []
        fleet = SimpleNamespace(instances=[object(), object()])
        endpoint = SimpleNamespace(
            status="InService", deployment=SimpleNamespace(fleets={"AllTraffic": fleet})
        )
        self.registry = SimpleNamespace(
            endpoint_for_invoke=lambda name: endpoint,
            update_weights_and_capacities=lambda request: self.updates.append(
                request["DesiredWeightsAndCapacities"][0]["DesiredInstanceCount"]
            ),
        )

    def client(self, service: str) -> Any:
        return SimpleNamespace(
            describe_scalable_targets=lambda **_: {
                "ScalableTargets": [{"MinCapacity": 0, "MaxCapacity": 2}]
            },
            describe_scaling_policies=lambda **_: {"ScalingPolicies": [POLICY]},
        )

    def queue_for(self, name: str) -> Any:
        return SimpleNamespace(snapshot=lambda: {"ApproximateBacklogSize": 0.0})

    def sweep(self) -> None:
        pass

    def async_endpoints(self) -> list[str]:
        return []


@pytest.mark.parametrize(("delay", "expected_first"), [("0", [0]), ("0.3", [])])
def test_a_scale_in_waits_for_the_delay(
    monkeypatch: pytest.MonkeyPatch, delay: str, expected_first: list
) -> None:
    monkeypatch.setenv("LOCAL_SAGEMAKER_SCALE_IN_SECONDS", delay)
    monkeypatch.setenv("LOCAL_SAGEMAKER_AUTOSCALING_INTERVAL", "3600")  # evaluate by hand only
    service = FakeService()
    registry: Any = service.registry
    scaler = AutoScaler(registry, service, service.client, ScalingActivities(registry))
    try:
        scaler._evaluate("e")
        assert service.updates == expected_first
        if delay != "0":
            deadline = time.monotonic() + 0.3
            while time.monotonic() < deadline:  # still within the delay: nothing changes
                scaler._evaluate("e")
                assert service.updates == []
                time.sleep(0.05)
            time.sleep(0.05)
            scaler._evaluate("e")
            assert service.updates == [0]
    finally:
        scaler.stop()
