"""What a scaling policy asks for when one of its alarms is in ALARM (pure functions).

* Target tracking: the capacity that brings the metric back to the target, in proportion,
  ``ceil(current * value / target)``; the high alarm only ever adds, the low alarm only removes.
* Step scaling: the step adjustment whose interval holds the breach (value minus threshold;
  lower bound inclusive, upper bound exclusive), applied as ChangeInCapacity, ExactCapacity or
  PercentChangeInCapacity (at least ``MinAdjustmentMagnitude`` instances).
"""

from __future__ import annotations

import math
from typing import Any

#: Application Auto Scaling's default cooldowns for SageMaker variants (seconds).
# FIDELITY autoscaling.default-cooldown CONFIRMED: 300 s cooldowns when a policy sets none
#   local: ScaleOutCooldown, ScaleInCooldown and a step policy's Cooldown default to 300 s.
#   source: the Application Auto Scaling API reference (TargetTrackingScalingPolicyConfiguration,
#     StepScalingPolicyConfiguration) lists 300 seconds as the default for SageMaker endpoint
#     variants.
DEFAULT_COOLDOWN = 300.0


def target_tracking(current: int, value: float, target: float, high: bool) -> int | None:
    """The capacity a target-tracking policy wants from its high (or low) alarm, or None."""
    if target <= 0:
        return None
    wanted = math.ceil(current * value / target) if current else math.ceil(value / target)
    if high:
        return max(wanted, current + 1)
    return wanted if wanted < current else None


def step(current: int, value: float, alarm: dict[str, Any], config: dict[str, Any]) -> int | None:
    """The capacity a step policy wants for ``value`` of its alarm's metric, or None."""
    breach = value - float(alarm.get("Threshold", 0.0))
    for adjustment in config.get("StepAdjustments") or []:
        lower = adjustment.get("MetricIntervalLowerBound")
        upper = adjustment.get("MetricIntervalUpperBound")
        if (lower is None or breach >= float(lower)) and (upper is None or breach < float(upper)):
            amount = float(adjustment["ScalingAdjustment"])
            kind = config.get("AdjustmentType", "ChangeInCapacity")
            if kind == "ExactCapacity":
                return int(amount)
            if kind == "PercentChangeInCapacity":
                # non-integer results: above 1 rounded down, between 0 and 1 up to 1 (and the
                # same towards zero for negative ones), as the step scaling guide says
                raw = current * amount / 100
                change = (
                    math.floor(raw)
                    if raw >= 1
                    else math.ceil(raw)
                    if raw <= -1
                    else (1 if raw > 0 else -1 if raw < 0 else 0)
                )
                least = int(config.get("MinAdjustmentMagnitude") or 0)
                if abs(change) < least:
                    change = least if amount > 0 else -least
                return current + int(change)
            return current + int(amount)
    return None
