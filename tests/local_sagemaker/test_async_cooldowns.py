"""The asynchronous autoscaler's cooldowns: AWS's 300 s when a policy leaves them out, and a
scale-out ends a running scale-in cooldown (the Application Auto Scaling API reference,
TargetTrackingScalingPolicyConfiguration). Driven by hand: no scaler thread round, no waiting."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from utils.local_sagemaker.services.autoscaling import AutoScaler
from utils.local_sagemaker.services.scaling.activities import ScalingActivities


class FakeEndpoint:
    """One InService asynchronous endpoint whose instance count follows each update at once,
    with a backlog the test sets."""

    def __init__(self, count: int, config: dict[str, Any]) -> None:
        self.fleet = SimpleNamespace(instances=[object()] * count)
        self.endpoint = SimpleNamespace(
            status="InService", deployment=SimpleNamespace(fleets={"AllTraffic": self.fleet})
        )
        self.backlog = 0.0
        self.changes: list[int] = []
        self.policy = {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 5.0,
                "CustomizedMetricSpecification": {
                    "MetricName": "ApproximateBacklogSizePerInstance"
                },
                **config,
            },
        }
        self.registry = SimpleNamespace(
            endpoint_for_invoke=lambda name: self.endpoint,
            update_weights_and_capacities=self._update,
        )

    def _update(self, request: dict[str, Any]) -> None:
        count = request["DesiredWeightsAndCapacities"][0]["DesiredInstanceCount"]
        self.changes.append(count)
        self.fleet.instances = [object()] * count

    def client(self, service: str) -> Any:
        return SimpleNamespace(
            describe_scalable_targets=lambda **_: {
                "ScalableTargets": [{"MinCapacity": 0, "MaxCapacity": 4}]
            },
            describe_scaling_policies=lambda **_: {"ScalingPolicies": [self.policy]},
        )

    def queue_for(self, name: str) -> Any:
        return SimpleNamespace(snapshot=lambda: {"ApproximateBacklogSize": self.backlog})

    def sweep(self) -> None:
        pass

    def async_endpoints(self) -> list[str]:
        return []


def scaled(endpoint: FakeEndpoint, backlogs: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    """One evaluation per backlog, in order."""
    monkeypatch.setenv("LOCAL_SAGEMAKER_SCALE_IN_SECONDS", "0")
    monkeypatch.setenv("LOCAL_SAGEMAKER_AUTOSCALING_INTERVAL", "3600")  # evaluate by hand only
    registry: Any = endpoint.registry
    scaler = AutoScaler(registry, endpoint, endpoint.client, ScalingActivities(registry))  # type: ignore[arg-type]
    try:
        for backlog in backlogs:
            endpoint.backlog = backlog
            scaler._evaluate("e")
    finally:
        scaler.stop()


def test_cooldowns_left_out_are_300_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = FakeEndpoint(1, {})
    # 10 waiting: two instances; then 20 waiting: four, but not within the 300 s cooldown
    scaled(endpoint, [10.0, 20.0], monkeypatch)
    assert endpoint.changes == [2]


def test_a_scale_out_ends_the_scale_in_cooldown(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = FakeEndpoint(2, {"ScaleInCooldown": 3600, "ScaleOutCooldown": 0})
    # in to one, out to four under a burst, and in again at once: the scale-out ended the
    # hour-long cooldown of the first scale-in
    scaled(endpoint, [5.0, 20.0, 5.0], monkeypatch)
    assert endpoint.changes == [1, 4, 1]


def test_a_scale_in_cooldown_spaces_scale_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = FakeEndpoint(4, {"ScaleInCooldown": 3600, "ScaleOutCooldown": 0})
    scaled(endpoint, [15.0, 5.0], monkeypatch)
    assert endpoint.changes == [3]
