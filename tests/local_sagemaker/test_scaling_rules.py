"""The real-time autoscaler's rules, on a simulated clock: alarms over evaluation periods,
target tracking and step policies, cooldowns, DisableScaleIn, Min/MaxCapacity, several policies.

The scaler is driven by calling ``evaluate(now)`` with chosen times (no thread, no waiting); the
metric is a function of time; Application Auto Scaling and the endpoint are small fakes that
record what the scaler asks for. The same rules end to end, on the server: test_realtime_autoscaling.py.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from utils.local_sagemaker.services.scaling.activities import ScalingActivities
from utils.local_sagemaker.services.scaling.alarms import evaluate
from utils.local_sagemaker.services.scaling.clock import ScalingClock
from utils.local_sagemaker.services.scaling.policies import step, target_tracking
from utils.local_sagemaker.services.scaling.realtime import RealtimeScaler
from utils.local_sagemaker.services.scaling.registrations import ScalingRegistrations

RESOURCE = "endpoint/ep/variant/AllTraffic"
HIGH = {
    "ComparisonOperator": "GreaterThanThreshold",
    "Threshold": 100.0,
    "Period": 60,
    "EvaluationPeriods": 3,
    "DatapointsToAlarm": 3,
}
LOW = {
    "ComparisonOperator": "LessThanThreshold",
    "Threshold": 90.0,
    "Period": 60,
    "EvaluationPeriods": 15,
    "DatapointsToAlarm": 15,
}


class Endpoint:
    """One InService real-time endpoint whose variant changes count when asked."""

    def __init__(self, count: int) -> None:
        self.fleet = SimpleNamespace(name="AllTraffic", instances=[object()] * count)
        self.status = "InService"
        self.name = "ep"
        self.deleted = threading.Event()
        self.deployment = SimpleNamespace(
            config=SimpleNamespace(request={}, variants=[{"VariantName": "AllTraffic"}]),
            fleets={"AllTraffic": self.fleet},
        )
        self.lock = threading.RLock()
        self.endpoints = {"ep": self}
        self.changes: list[int] = []

    def endpoint_for_invoke(self, name: str) -> Endpoint | None:
        return self if name == self.name else None

    def update_weights_and_capacities(self, request: dict[str, Any]) -> None:
        count = request["DesiredWeightsAndCapacities"][0]["DesiredInstanceCount"]
        self.changes.append(count)
        self.fleet.instances = [object()] * count  # the change completes at once here

    @property
    def count(self) -> int:
        return len(self.fleet.instances)


class Registrations:
    """A scalable target with policies and alarms, as ScalingRegistrations reads them."""

    def __init__(
        self, target: dict[str, Any], policies: list[dict[str, Any]], alarms: list[dict[str, Any]]
    ) -> None:
        self.target = {"ResourceId": RESOURCE, **target}
        self._policies = policies
        self._alarms = alarms
        self.states: dict[str, str] = {}

    def targets(self) -> dict[str, dict[str, Any]]:
        return {RESOURCE: self.target}

    def policies(self, resource: str) -> list[dict[str, Any]]:
        return self._policies

    def alarms(self) -> list[dict[str, Any]]:
        return self._alarms

    def alarms_of(self, arn: str, alarms: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return ScalingRegistrations.alarms_of(self, arn, alarms)  # type: ignore[arg-type]

    def set_state(self, alarm: str, state: str, reason: str) -> None:
        self.states[alarm] = state


class Metric:
    """InvocationsPerInstance as a function of time: ``per_instance_total(t) / instances``."""

    def __init__(self, total: Callable[[float], float]) -> None:
        self.total = total

    def read(
        self, alarm: dict[str, Any], start: float, end: float, instances: Callable[[], int]
    ) -> float:
        return self.total(start) / instances()


class PerInstance(Metric):
    """A per-instance value that stays the same whatever the count (traffic that grows)."""

    def read(
        self, alarm: dict[str, Any], start: float, end: float, instances: Callable[[], int]
    ) -> float:
        return self.total(start)


def tt_policy(**config: Any) -> dict[str, Any]:
    return {
        "PolicyName": "tt",
        "PolicyARN": "arn:tt",
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 100.0, **config},
    }


def tt_alarms(low: bool = True) -> list[dict[str, Any]]:
    alarms = [{"AlarmName": "TargetTracking-high", "AlarmActions": ["arn:tt"], **HIGH}]
    if low:
        alarms.append({"AlarmName": "TargetTracking-low", "AlarmActions": ["arn:tt"], **LOW})
    return alarms


def scaler(
    endpoint: Endpoint, registrations: Registrations, metric: Metric, scale: float = 1.0
) -> RealtimeScaler:
    return RealtimeScaler(
        endpoint,  # type: ignore[arg-type]
        registrations,  # type: ignore[arg-type]
        metric,  # type: ignore[arg-type]
        ScalingClock(scale),
        ScalingActivities(endpoint),  # type: ignore[arg-type]
    )


def run(scaler_: RealtimeScaler, until: float, every: float = 1.0, start: float = 0.0) -> None:
    """Evaluate every ``every`` seconds of simulated time from ``start`` to ``until``."""
    t = start
    while t <= until:
        scaler_.evaluate(t)
        t += every


def change_times(
    endpoint: Endpoint, scaler_: RealtimeScaler, until: float, every: float = 1.0
) -> list[float]:
    """Evaluate from 0 to ``until``; the simulated times at which the count changed."""
    times = []
    t = 0.0
    while t <= until:
        before = len(endpoint.changes)
        scaler_.evaluate(t)
        if len(endpoint.changes) > before:
            times.append(t)
        t += every
    return times


def first_change_time(
    endpoint: Endpoint, scaler_: RealtimeScaler, until: float, every: float = 1.0
) -> float | None:
    times = change_times(endpoint, scaler_, until, every)
    return times[0] if times else None


def test_target_tracking_scales_out_after_three_high_minutes_in_proportion() -> None:
    endpoint = Endpoint(1)
    regs = Registrations({"MinCapacity": 1, "MaxCapacity": 10}, [tt_policy()], tt_alarms())
    s = scaler(endpoint, regs, Metric(lambda t: 250.0))  # 250 per minute on one instance
    at = first_change_time(endpoint, s, 600)
    # the alarm's first period starts when it is first seen (t=0): three periods end at 180 s
    assert at == 180
    assert endpoint.changes == [3]  # ceil(1 * 250 / 100)
    # 250 a minute over 3 instances is under the target: the high alarm went back to OK
    assert regs.states["TargetTracking-high"] == "OK"


def test_the_clock_scale_shortens_periods_and_cooldowns_alike() -> None:
    endpoint = Endpoint(1)
    regs = Registrations({"MinCapacity": 1, "MaxCapacity": 10}, [tt_policy()], tt_alarms())
    s = scaler(endpoint, regs, Metric(lambda t: 250.0), scale=60)
    assert first_change_time(endpoint, s, 10, every=0.25) == 3.0  # 180 AWS seconds / 60


def test_max_capacity_bounds_a_scale_out() -> None:
    endpoint = Endpoint(1)
    regs = Registrations({"MinCapacity": 1, "MaxCapacity": 2}, [tt_policy()], tt_alarms())
    run(scaler(endpoint, regs, Metric(lambda t: 1000.0)), 600)
    assert endpoint.changes == [2]


def test_scale_out_cooldown_holds_the_next_scale_out() -> None:
    endpoint = Endpoint(1)
    regs = Registrations(
        {"MinCapacity": 1, "MaxCapacity": 10}, [tt_policy(ScaleOutCooldown=600)], tt_alarms()
    )
    s = scaler(endpoint, regs, PerInstance(lambda t: 150.0))  # always high
    times = change_times(endpoint, s, 1500)
    assert times[0] == 180
    assert all(b - a >= 600 for a, b in itertools.pairwise(times)), times
    assert len(times) >= 2  # and scales out again once the cooldown is over


def test_scale_in_needs_fifteen_low_minutes_and_respects_min_capacity() -> None:
    endpoint = Endpoint(3)
    regs = Registrations({"MinCapacity": 2, "MaxCapacity": 4}, [tt_policy()], tt_alarms())
    s = scaler(endpoint, regs, Metric(lambda t: 0.0))
    assert first_change_time(endpoint, s, 2000) == 15 * 60
    assert endpoint.changes == [2]  # ceil(3 * 0 / 100) = 0, raised to MinCapacity


def test_scale_in_cooldown_spaces_scale_ins() -> None:
    endpoint = Endpoint(4)
    regs = Registrations(
        {"MinCapacity": 1, "MaxCapacity": 4}, [tt_policy(ScaleInCooldown=1200)], tt_alarms()
    )
    # 80 per minute in all: below 90 % of the target for any count above one instance
    s = scaler(endpoint, regs, Metric(lambda t: 80.0 * 2.5))
    times = change_times(endpoint, s, 4000)
    assert times[0] == 900
    assert all(b - a >= 1200 for a, b in itertools.pairwise(times)), times


def test_a_scale_out_ends_the_scale_in_cooldown() -> None:
    endpoint = Endpoint(3)
    regs = Registrations(
        {"MinCapacity": 1, "MaxCapacity": 4}, [tt_policy(ScaleInCooldown=3600)], tt_alarms()
    )
    # quiet, then a burst of 1000 per minute from 1000 s to 1300 s, then quiet again
    s = scaler(endpoint, regs, Metric(lambda t: 1000.0 if 1000 <= t < 1300 else 0.0))
    times = change_times(endpoint, s, 3600)
    assert endpoint.changes[:3] == [1, 4, 1], endpoint.changes
    assert times[0] == 900  # fifteen low minutes
    # the burst's scale-out ended the hour-long cooldown of the first scale-in: the next one
    # comes fifteen low minutes after the burst, not an hour after the first
    assert times[2] < times[0] + 3600, times


def test_disable_scale_in_keeps_the_instances() -> None:
    endpoint = Endpoint(3)
    regs = Registrations(
        {"MinCapacity": 1, "MaxCapacity": 4}, [tt_policy(DisableScaleIn=True)], tt_alarms()
    )
    run(scaler(endpoint, regs, Metric(lambda t: 0.0)), 3600)
    assert endpoint.changes == []


def test_suspended_dynamic_scaling_out_does_nothing() -> None:
    endpoint = Endpoint(1)
    regs = Registrations(
        {
            "MinCapacity": 1,
            "MaxCapacity": 4,
            "SuspendedState": {"DynamicScalingOutSuspended": True},
        },
        [tt_policy()],
        tt_alarms(),
    )
    run(scaler(endpoint, regs, Metric(lambda t: 1000.0)), 600)
    assert endpoint.changes == []


def test_nothing_changes_while_the_endpoint_is_updating() -> None:
    endpoint = Endpoint(1)
    endpoint.status = "Updating"
    regs = Registrations({"MinCapacity": 1, "MaxCapacity": 4}, [tt_policy()], tt_alarms())
    run(scaler(endpoint, regs, Metric(lambda t: 1000.0)), 600)
    assert endpoint.changes == []


STEP_POLICY = {
    "PolicyName": "steps",
    "PolicyARN": "arn:step",
    "PolicyType": "StepScaling",
    "StepScalingPolicyConfiguration": {
        "AdjustmentType": "ChangeInCapacity",
        "Cooldown": 300,
        "StepAdjustments": [
            {
                "MetricIntervalLowerBound": 0,
                "MetricIntervalUpperBound": 100,
                "ScalingAdjustment": 1,
            },
            {"MetricIntervalLowerBound": 100, "ScalingAdjustment": 2},
        ],
    },
}
STEP_ALARM = {
    "AlarmName": "mine",
    "AlarmActions": ["arn:step"],
    "ComparisonOperator": "GreaterThanThreshold",
    "Threshold": 50.0,
    "Period": 60,
    "EvaluationPeriods": 1,
}


def test_step_scaling_applies_the_step_that_holds_the_breach_with_its_cooldown() -> None:
    endpoint = Endpoint(1)
    regs = Registrations({"MinCapacity": 1, "MaxCapacity": 10}, [STEP_POLICY], [STEP_ALARM])
    # 120 per instance: a breach of 70 -> +1; then 60 per instance on 2: a breach of 10 -> +1
    s = scaler(endpoint, regs, Metric(lambda t: 120.0))
    times = change_times(endpoint, s, 700)
    assert endpoint.changes[:2] == [2, 3]
    assert times[0] == 60 and times[1] - times[0] >= 300


def test_several_policies_scale_in_only_when_all_agree() -> None:
    endpoint = Endpoint(3)
    # target tracking wants fewer (no traffic); the step policy's alarm never fires
    never = {**STEP_ALARM, "Threshold": 1e9}
    regs = Registrations(
        {"MinCapacity": 1, "MaxCapacity": 4}, [tt_policy(), STEP_POLICY], [*tt_alarms(), never]
    )
    run(scaler(endpoint, regs, Metric(lambda t: 0.0)), 3600)
    assert endpoint.changes == []


@pytest.mark.parametrize(
    ("points", "state"),
    [
        ([101.0, 101.0], "INSUFFICIENT_DATA"),
        ([101.0, 101.0, 101.0], "ALARM"),
        ([101.0, 99.0, 101.0], "OK"),
        ([None, None, None], "INSUFFICIENT_DATA"),
        ([101.0, None, 101.0], "OK"),
    ],
)
def test_an_alarm_needs_all_its_datapoints_to_breach(points: list, state: str) -> None:
    assert evaluate(HIGH, points) == state


def test_policy_arithmetic() -> None:
    assert target_tracking(2, 150.0, 100.0, high=True) == 3
    assert target_tracking(2, 101.0, 100.0, high=True) == 3  # always at least one more
    assert target_tracking(4, 40.0, 100.0, high=False) == 2
    assert target_tracking(2, 95.0, 100.0, high=False) is None  # removing one would breach
    config = {
        "AdjustmentType": "PercentChangeInCapacity",
        "MinAdjustmentMagnitude": 2,
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 50}],
    }
    assert step(10, 60.0, {"Threshold": 50.0}, config) == 15
    assert step(2, 60.0, {"Threshold": 50.0}, config) == 4  # +1, raised to the minimum of 2
    assert (
        step(
            3,
            60.0,
            {"Threshold": 50.0},
            {
                "AdjustmentType": "ExactCapacity",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 5}],
            },
        )
        == 5
    )
