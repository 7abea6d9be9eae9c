"""The real-time autoscaler: evaluates the scaling alarms and changes DesiredInstanceCount.

Every :attr:`~.clock.ScalingClock.tick` it looks at the real-time variants that are registered
as scalable targets (``sagemaker:variant:DesiredInstanceCount``), lets each alarm that invokes
one of their policies take the data points of the periods that ended (:mod:`.alarms`), records
state changes in CloudWatch, and, when an alarm in ALARM is evaluated, asks its policy for a
capacity (:mod:`.policies`). As on AWS:

* with several policies, it scales out if any policy wants more, and in only if every policy
  wants less;
* the result is clamped to [MinCapacity, MaxCapacity]; ``SuspendedState`` is honoured;
* scale-out waits ``ScaleOutCooldown`` after a scale-out, scale-in ``ScaleInCooldown`` after a
  scale-in (a step policy: its ``Cooldown``), 300 s by default; ``DisableScaleIn`` never removes;
* nothing changes while the endpoint is not InService (an update is in progress); the change
  itself is ``UpdateEndpointWeightsAndCapacities``, so the endpoint is ``Updating`` until the
  new instances pass their health check (or the surplus ones stopped).

Each change is a scaling activity, answered by DescribeScalingActivities.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from ...core.errors import AwsError
from ..endpoints.registry import Registry
from ..fleet.instance_fleet import EndpointFleet
from .activities import ScalingActivities
from .alarms import ALARM, AlarmWatch
from .clock import ScalingClock
from .metrics import MetricReader
from .policies import DEFAULT_COOLDOWN, step, target_tracking
from .registrations import ScalingRegistrations, resource_id


@dataclass
class _Variant:
    endpoint: str
    variant: str
    fleet: EndpointFleet
    in_service: bool

    @property
    def resource(self) -> str:
        return resource_id(self.endpoint, self.variant)


class RealtimeScaler:
    """Acts on the scaling policies of real-time endpoint variants."""

    def __init__(
        self,
        registry: Registry,
        registrations: ScalingRegistrations,
        reader: MetricReader,
        clock: ScalingClock,
        activities: ScalingActivities,
    ) -> None:
        self.registry = registry
        self.registrations = registrations
        self.reader = reader
        self.clock = clock
        self._lock = threading.Lock()
        self._watches: dict[str, AlarmWatch] = {}
        self._last_out: dict[str, float] = {}
        self._last_in: dict[str, float] = {}
        #: Step policies' last scaling, by :func:`_policy_key` (the ARN changes on a restart).
        self._last_step: dict[str, float] = {}
        #: Where each change is recorded (shared with the asynchronous endpoints' scaler).
        self.activities = activities
        self._stop = threading.Event()

    def start(self) -> None:
        """Evaluate every tick on a background thread until :meth:`stop`."""
        threading.Thread(target=self._loop, name="realtime-autoscaler", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        # A periodic evaluation, as CloudWatch evaluates alarms: an interval wait on an event
        # (woken at once by stop()), not a fixed sleep waiting for a state.
        while not self._stop.wait(self.clock.tick):
            try:
                self.evaluate(time.time())
            except Exception as exc:  # moto unreachable for a moment: try again next tick
                print(f"local SageMaker: real-time autoscaling failed: {exc!r}", flush=True)

    # -- saved state (services/state) ---------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """What a restart must not forget, as JSON-ready data: the scaling activities
        (DescribeScalingActivities) and when each variant and step policy last scaled (its
        cooldowns run on after a restart: wall-clock times)."""
        with self._lock:
            return {
                "activities": self.activities.export(),
                "last_out": dict(self._last_out),
                "last_in": dict(self._last_in),
                "last_step": dict(self._last_step),
            }

    def restore_state(self, data: dict[str, Any]) -> None:
        """Take back what :meth:`export_state` saved (at start, before anything scales).

        An activity still in progress when the server stopped did not complete: the restored
        endpoint runs the instance count that was saved with it, and the activity says so.
        """
        # FIDELITY autoscaling.restart UNCONFIRMED: real-time autoscaling across a restart
        #   local: scalable targets, policies, target tracking's alarms (same names, the state
        #     and reason DescribeAlarms showed), scaling activities and cooldowns survive `stop`
        #     and `start`; the alarms' evaluation periods are counted from the start (data
        #     points of the minutes the machine was off do not exist), so an alarm keeps its
        #     state until a full set of periods has been evaluated; an activity in progress at
        #     `stop` ends Failed, the endpoint keeping the count it had.
        #   why: AWS never stops, so nothing says what a restart does; an alarm cannot have
        #     evaluated periods during which nothing ran, and a change the server did not
        #     finish did not happen.
        #   notice: On AWS an activity completes and an alarm in ALARM goes on invoking its
        #     policy; locally the first scaling after a restart waits a full set of evaluation
        #     periods, and an alarm's StateUpdatedTimestamp is the restart's time.
        self.activities.restore(data.get("activities") or {}, stopped=time.time())
        with self._lock:
            for saved, into in (
                (data.get("last_out"), self._last_out),
                (data.get("last_in"), self._last_in),
                (data.get("last_step"), self._last_step),
            ):
                into.update({str(k): float(v) for k, v in (saved or {}).items()})

    # -- what the API and the local routes read -----------------------------------------------

    def alarm_states(self) -> dict[str, dict[str, Any]]:
        """Each watched alarm's state and its recent data points (oldest first)."""
        with self._lock:
            return {
                name: {"State": w.state, "Datapoints": list(w.points)[-15:]}
                for name, w in self._watches.items()
            }

    # -- evaluation ---------------------------------------------------------------------------

    def _variants(self) -> list[_Variant]:
        with self.registry.lock:
            endpoints = list(self.registry.endpoints.values())
        found = []
        for endpoint in endpoints:
            deployment = endpoint.deployment
            if deployment is None or endpoint.deleted.is_set():
                continue
            if deployment.config.request.get("AsyncInferenceConfig"):
                continue  # asynchronous endpoints scale on their backlog (..autoscaling)
            for variant in deployment.config.variants:
                fleet = deployment.fleets.get(variant["VariantName"])
                if fleet is None or variant.get("ServerlessConfig"):
                    continue
                found.append(
                    _Variant(endpoint.name, fleet.name, fleet, endpoint.status == "InService")
                )
        return found

    def evaluate(self, now: float) -> None:
        """One round: advance every relevant alarm to ``now`` and act on those in ALARM."""
        variants = self._variants()
        targets = self.registrations.targets() if variants else {}
        registered = [v for v in variants if v.resource in targets]
        alarms = self.registrations.alarms() if registered else []
        seen: set[str] = set()
        for variant in registered:
            self.activities.settle(variant.resource)
            seen |= self._evaluate_variant(variant, targets[variant.resource], alarms, now)
        with self._lock:
            for name in set(self._watches) - seen:
                del self._watches[name]

    def _evaluate_variant(
        self,
        variant: _Variant,
        target: dict[str, Any],
        alarms: list[dict[str, Any]],
        now: float,
    ) -> set[str]:
        seen: set[str] = set()
        current = len(variant.fleet.instances)
        proposals: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
        every_policy_in = True
        policies = self.registrations.policies(variant.resource)
        for policy in policies:
            wanted: int | None = None
            for alarm in self.registrations.alarms_of(policy["PolicyARN"], alarms):
                seen.add(alarm["AlarmName"])
                watch = self._advance(alarm, variant, now)
                if watch is None or watch.state != ALARM or watch.latest is None:
                    continue
                proposal = self._proposal(policy, alarm, watch.latest, current, variant, now)
                if proposal is not None:
                    proposals.append((proposal, policy, alarm))
                    wanted = proposal
            if wanted is None or wanted >= current:
                every_policy_in = False
        if not variant.in_service or not proposals:
            return seen
        outs = [p for p in proposals if p[0] > current]
        ins = [p for p in proposals if p[0] < current]
        if outs:
            desired, policy, alarm = max(outs, key=lambda p: p[0])
        elif ins and every_policy_in and policies:
            desired, policy, alarm = max(ins, key=lambda p: p[0])
        else:
            return seen
        desired = max(int(target["MinCapacity"]), min(int(target["MaxCapacity"]), desired))
        suspended = target.get("SuspendedState") or {}
        if desired > current and suspended.get("DynamicScalingOutSuspended"):
            return seen
        if desired < current and suspended.get("DynamicScalingInSuspended"):
            return seen
        if desired != current:
            self._apply(variant, current, desired, policy, alarm, now)
        return seen

    def _advance(self, alarm: dict[str, Any], variant: _Variant, now: float) -> AlarmWatch | None:
        """Take the alarm's new data points; the watch if the alarm was evaluated just now."""
        name = alarm["AlarmName"]
        with self._lock:
            watch = self._watches.get(name)
            if watch is None:
                # the first period starts now: an alarm has no data from before it existed
                watch = AlarmWatch(name, now + self.clock.local(float(alarm.get("Period") or 60)))
                self._watches[name] = watch
        before = watch.state
        fleet = variant.fleet
        evaluated = watch.advance(
            alarm,
            now,
            self.clock,
            lambda start, end: self.reader.read(alarm, start, end, lambda: len(fleet.instances)),
        )
        if watch.state != before:
            reason = (
                f"Threshold Crossed: the last data point ({watch.latest}) "
                f"{'breached' if watch.state == ALARM else 'did not breach'} the threshold "
                f"({alarm.get('Threshold')})."
            )
            self.registrations.set_state(name, watch.state, reason)
        return watch if evaluated else None

    def _proposal(
        self,
        policy: dict[str, Any],
        alarm: dict[str, Any],
        value: float,
        current: int,
        variant: _Variant,
        now: float,
    ) -> int | None:
        resource = variant.resource
        if policy.get("PolicyType") == "TargetTrackingScaling":
            config = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
            high = str(alarm.get("ComparisonOperator", "")).startswith("Greater")
            if high:
                cooldown = float(config.get("ScaleOutCooldown", DEFAULT_COOLDOWN))
                if now - self._last_out.get(resource, float("-inf")) < self.clock.local(cooldown):
                    return None
            else:
                if config.get("DisableScaleIn"):
                    return None
                cooldown = float(config.get("ScaleInCooldown", DEFAULT_COOLDOWN))
                if now - self._last_in.get(resource, float("-inf")) < self.clock.local(cooldown):
                    return None
            return target_tracking(current, value, float(config.get("TargetValue") or 0), high)
        if policy.get("PolicyType") == "StepScaling":
            config = policy.get("StepScalingPolicyConfiguration") or {}
            cooldown = float(config.get("Cooldown", DEFAULT_COOLDOWN))
            last = self._last_step.get(_policy_key(policy), float("-inf"))
            if now - last < self.clock.local(cooldown):
                return None
            return step(current, value, alarm, config)
        return None

    def _apply(
        self,
        variant: _Variant,
        current: int,
        desired: int,
        policy: dict[str, Any],
        alarm: dict[str, Any],
        now: float,
    ) -> None:
        cause = (
            f"monitor alarm {alarm['AlarmName']} in state ALARM triggered policy "
            f"{policy['PolicyName']}"
        )
        try:
            self.registry.update_weights_and_capacities(
                {
                    "EndpointName": variant.endpoint,
                    "DesiredWeightsAndCapacities": [
                        {"VariantName": variant.variant, "DesiredInstanceCount": desired}
                    ],
                }
            )
        except AwsError as err:
            self.activities.record(
                variant.resource, current, desired, cause, now, failure=f"{err.code}: {err.message}"
            )
            return
        self.activities.record(variant.resource, current, desired, cause, now)
        if desired > current:
            self._last_out[variant.resource] = now
            # FIDELITY autoscaling.scale-out-ends-scale-in-cooldown CONFIRMED: a scale-out ends a scale-in cooldown
            #   local: a scale-out during a scale-in cooldown goes ahead, and the next scale-in does
            #     not wait for the rest of that cooldown.
            #   source: the Application Auto Scaling API reference, TargetTrackingScalingPolicyConfiguration
            #     (ScaleInCooldown) and StepScalingPolicyConfiguration (Cooldown): a scale-out
            #     during a scale-in cooldown scales out at once, and the cooldown stops.
            self._last_in.pop(variant.resource, None)
        else:
            self._last_in[variant.resource] = now
        if policy.get("PolicyType") == "StepScaling":
            self._last_step[_policy_key(policy)] = now


def _policy_key(policy: dict[str, Any]) -> str:
    """A scaling policy's identity across restarts (its ARN is new after one)."""
    return f"{policy.get('ResourceId')}:{policy.get('PolicyName')}"
