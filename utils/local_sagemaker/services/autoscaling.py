"""Application Auto Scaling, acted on locally: asynchronous endpoints scale to zero and back.

Application Auto Scaling is moto's record store, so the
local SageMaker reads the scalable targets and policies registered there (boto3 on its own URL,
every :func:`autoscaling_interval` seconds while async endpoints exist) and acts on them itself
through UpdateEndpointWeightsAndCapacities, as the real service does. The subset implemented:

* scalable dimension ``sagemaker:variant:DesiredInstanceCount``; capacity clamped to
  [MinCapacity, MaxCapacity]; ``SuspendedState`` dynamic in/out flags honoured;
* ``TargetTrackingScaling`` on a customized metric ``ApproximateBacklogSizePerInstance`` (or
  ``ApproximateBacklogSize``) of this endpoint: desired = ceil(backlog / target). From 0 instances
  it scales out only once the backlog exceeds the target (as on AWS, where the per-instance metric
  is undefined at 0); ``DisableScaleIn``, ``ScaleInCooldown`` and ``ScaleOutCooldown`` are honoured
  (300 s when left out, as on AWS; a scale-out ends a scale-in cooldown);
  AWS's alarm periods (3 min out, 15 min in) are not modelled: the decision is immediate, except
  that :func:`scale_in_delay` (0 by default) can hold a scale-in back until the lower count has
  been wanted that long, as AWS's 15 low periods do;
* ``StepScaling`` policies that a CloudWatch alarm names in ``AlarmActions``: the alarm's metric
  (one of the asynchronous backlog metrics) is evaluated locally against its threshold and comparison,
  and the step adjustments (ChangeInCapacity, ExactCapacity, PercentChangeInCapacity) apply with
  the policy's ``Cooldown`` (300 s when left out). This is the documented fix for scaling up from
  0 at once: a step policy on ``HasBacklogWithoutCapacity``.
* With several policies: scale out if any asks for more, scale in only if all ask for less.
* Each change is a scaling activity, answered by DescribeScalingActivities (with the real-time
  scaler's): a client that polls the instance count can miss an instance that came and went
  between two polls, the activities keep every change.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from ..core.errors import AwsError
from ..core.settings import autoscaling_interval, scale_in_delay
from .async_inference.service import AsyncService
from .endpoints.registry import Registry
from .scaling.activities import ScalingActivities
from .scaling.policies import DEFAULT_COOLDOWN

RESOURCE_ID = "endpoint/{endpoint}/variant/{variant}"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"

# FIDELITY autoscaling.async-activity-texts UNCONFIRMED: the texts of an asynchronous endpoint's scaling activity
#   local: Description "Setting desired instance count to <n>.", Cause "monitor alarm <name> in
#     state ALARM triggered policy <policy>" for a step policy and "target tracking on <metric>
#     triggered policy <policy>" for target tracking (evaluated here without its alarms),
#     StatusMessage "Successfully set desired instance count to <n>. Change successfully
#     fulfilled by sagemaker." once the endpoint is InService again.
#   why: every local scaling activity's wording (services/scaling/activities.py), itself after Application
#     Auto Scaling's activities for other services; SageMaker's are not on record.
#   notice: DescribeScalingActivities on AWS can word them differently; there a target-tracking
#     activity names the policy's CloudWatch alarm.


class AutoScaler:
    """Reads scalable targets and policies from (moto's) Application Auto Scaling and applies them."""

    def __init__(
        self,
        registry: Registry,
        service: AsyncService,
        client: Callable[[str], Any],
        activities: ScalingActivities,
    ) -> None:
        self.registry = registry
        self.service = service
        self.client = client
        self.interval = autoscaling_interval()
        self.scale_in_delay = scale_in_delay()
        #: Since when a lower count has been wanted, per endpoint (for :func:`scale_in_delay`).
        self._lower_since: dict[str, float] = {}
        self._stop = threading.Event()
        self._last_out: dict[str, float] = {}
        self._last_in: dict[str, float] = {}
        #: Last decision per endpoint, for ``/_local/async/<name>`` and the notebook.
        self.decisions: dict[str, dict[str, Any]] = {}
        #: Where each change is recorded (shared with the real-time scaler).
        self.activities = activities
        threading.Thread(target=self._loop, name="async-autoscaler", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        # A periodic evaluation, like Application Auto Scaling's own: an interval wait on an
        # event (woken at once by stop()), not a fixed sleep waiting for a state.
        while not self._stop.wait(self.interval):
            try:
                self.service.sweep()
                for name in self.service.async_endpoints():
                    self._evaluate(name)
            except Exception as exc:  # moto unreachable for a moment: try again next round
                print(f"local SageMaker: autoscaling evaluation failed: {exc!r}", flush=True)

    def _evaluate(self, name: str) -> None:
        endpoint = self.registry.endpoint_for_invoke(name)
        if endpoint is None or endpoint.status != "InService" or endpoint.deployment is None:
            return
        client = self.client("application-autoscaling")
        for variant, fleet in endpoint.deployment.fleets.items():
            resource = RESOURCE_ID.format(endpoint=name, variant=variant)
            self.activities.settle(resource)  # a change done since the last round
            targets = client.describe_scalable_targets(
                ServiceNamespace="sagemaker", ResourceIds=[resource], ScalableDimension=DIMENSION
            )["ScalableTargets"]
            if not targets:
                continue
            target = targets[0]
            policies = client.describe_scaling_policies(
                ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=DIMENSION
            )["ScalingPolicies"]
            current = len(fleet.instances)
            values = self.service.queue_for(name).snapshot()
            decided = self._desired(name, current, values, target, policies)
            desired, cause = decided if decided is not None else (None, "")
            if desired is None or desired >= current:
                self._lower_since.pop(name, None)
            else:
                now = time.monotonic()
                if now - self._lower_since.setdefault(name, now) < self.scale_in_delay:
                    continue  # a lower count, wanted for less than the scale-in delay so far
            if desired is None or desired == current:
                continue
            self._lower_since.pop(name, None)
            self.decisions[name] = {
                "From": current,
                "To": desired,
                "Backlog": values["ApproximateBacklogSize"],
                "At": time.time(),
            }
            now = time.monotonic()
            if desired > current:
                self._last_out[name] = now
                self._last_in.pop(name, None)  # a scale-out ends a scale-in cooldown (AWS's rule)
            else:
                self._last_in[name] = now
            start = time.time()
            try:
                self.registry.update_weights_and_capacities(
                    {
                        "EndpointName": name,
                        "DesiredWeightsAndCapacities": [
                            {"VariantName": variant, "DesiredInstanceCount": desired}
                        ],
                    }
                )
            except AwsError as err:
                failure = f"{err.code}: {err.message}"
                self.activities.record(resource, current, desired, cause, start, failure=failure)
                return
            self.activities.record(resource, current, desired, cause, start)
            return  # one change at a time: the endpoint is Updating now

    def _desired(
        self,
        name: str,
        current: int,
        values: dict[str, float],
        target: dict[str, Any],
        policies: list[dict[str, Any]],
    ) -> tuple[int, str] | None:
        """The count the policies want, and the cause of the change: None to leave it alone."""
        low, high = int(target["MinCapacity"]), int(target["MaxCapacity"])
        suspended = target.get("SuspendedState") or {}
        now = time.monotonic()
        wants: list[tuple[int, str]] = []
        for policy in policies:
            proposal = None
            if policy.get("PolicyType") == "TargetTrackingScaling":
                proposal = self._target_tracking(name, current, values, policy, now)
                spec = (policy.get("TargetTrackingScalingPolicyConfiguration") or {}).get(
                    "CustomizedMetricSpecification"
                ) or {}
                cause = f"target tracking on {spec.get('MetricName')} triggered policy"
            elif policy.get("PolicyType") == "StepScaling":
                found = self._step(name, current, values, policy, now)
                proposal, alarm = found if found is not None else (None, "")
                cause = f"monitor alarm {alarm} in state ALARM triggered policy"
            if proposal is not None:
                wants.append((proposal, f"{cause} {policy.get('PolicyName')}"))
        scale_out = any(w > current for w, _ in wants)
        scale_in = bool(wants) and all(w < current for w, _ in wants)
        desired, cause = max(wants) if scale_out or scale_in else (current, "")
        desired = max(low, min(high, desired))
        if desired > current and suspended.get("DynamicScalingOutSuspended"):
            return None
        if desired < current and suspended.get("DynamicScalingInSuspended"):
            return None
        return desired, cause

    def _cooled(self, name: str, out: bool, cooldown: float, now: float) -> bool:
        last = (self._last_out if out else self._last_in).get(name)
        return last is None or now - last >= cooldown

    def _target_tracking(
        self, name: str, current: int, values: dict[str, float], policy: dict[str, Any], now: float
    ) -> int | None:
        cfg = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
        spec = cfg.get("CustomizedMetricSpecification") or {}
        metric = spec.get("MetricName")
        if metric not in ("ApproximateBacklogSizePerInstance", "ApproximateBacklogSize"):
            return None  # only the async backlog metrics are evaluated locally
        dims = {d["Name"]: d["Value"] for d in spec.get("Dimensions") or []}
        if dims.get("EndpointName", name) != name:
            return None
        goal = float(cfg.get("TargetValue") or 0)
        if goal <= 0:
            return None
        backlog = values["ApproximateBacklogSize"]
        if metric == "ApproximateBacklogSizePerInstance":
            if current == 0 and backlog <= goal:
                return 0  # the per-instance metric does not breach the target from 0
            desired = math.ceil(backlog / goal)
        else:
            desired = (
                math.ceil(current * backlog / goal) if current else (1 if backlog > goal else 0)
            )
        if desired > current:
            if not self._cooled(name, True, float(cfg.get("ScaleOutCooldown", DEFAULT_COOLDOWN)), now):
                return None
        elif desired < current:
            if cfg.get("DisableScaleIn"):
                return None
            if backlog and desired == 0:
                desired = 1  # never scale in to 0 while work is queued or in process
            if not self._cooled(name, False, float(cfg.get("ScaleInCooldown", DEFAULT_COOLDOWN)), now):
                return None
        return desired

    def _step(
        self, name: str, current: int, values: dict[str, float], policy: dict[str, Any], now: float
    ) -> tuple[int, str] | None:
        """The count the step policy wants, and the name of the alarm that triggered it."""
        cfg = policy.get("StepScalingPolicyConfiguration") or {}
        alarms = self.client("cloudwatch").describe_alarms()["MetricAlarms"]
        alarm = next(
            (a for a in alarms if policy.get("PolicyARN") in (a.get("AlarmActions") or [])), None
        )
        if alarm is None or alarm.get("MetricName") not in values:
            return None
        value = values[alarm["MetricName"]]
        threshold = float(alarm.get("Threshold", 0))
        compare = {
            "GreaterThanThreshold": value > threshold,
            "GreaterThanOrEqualToThreshold": value >= threshold,
            "LessThanThreshold": value < threshold,
            "LessThanOrEqualToThreshold": value <= threshold,
        }.get(alarm.get("ComparisonOperator", ""), False)
        if not compare:
            return None
        delta = value - threshold
        for step in cfg.get("StepAdjustments") or []:
            lower = step.get("MetricIntervalLowerBound")
            upper = step.get("MetricIntervalUpperBound")
            if (lower is None or delta >= lower) and (upper is None or delta < upper):
                adjustment = float(step["ScalingAdjustment"])
                kind = cfg.get("AdjustmentType", "ChangeInCapacity")
                if kind == "ExactCapacity":
                    desired = int(adjustment)
                elif kind == "PercentChangeInCapacity":
                    desired = current + math.ceil(current * adjustment / 100)
                else:
                    desired = current + int(adjustment)
                out = desired > current
                if not self._cooled(name, out, float(cfg.get("Cooldown", DEFAULT_COOLDOWN)), now):
                    return None
                return desired, str(alarm.get("AlarmName"))
        return None
