"""Scalable targets, scaling policies and target-tracking alarms of SageMaker variants.

Application Auto Scaling is moto's record store, and CloudWatch alarms are moto's too; this module
reads and changes both only through their public APIs (boto3 on the gateway's own URL). It adds
what moto does not do for the ``sagemaker`` namespace and AWS does:

* a target-tracking policy creates two CloudWatch alarms (:meth:`create_alarms`), and deleting
  the policy deletes them;
* deregistering a scalable target deletes its policies (:meth:`delete_policies`);
* DeleteEndpoint deregisters the endpoint's scalable targets (:meth:`deregister_endpoint`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
PREDEFINED_INVOCATIONS = "SageMakerVariantInvocationsPerInstance"

# FIDELITY autoscaling.target-tracking-alarms UNCONFIRMED: the alarms a target-tracking policy creates
#   local: two alarms on the policy's metric (InvocationsPerInstance, Sum, 60 s periods for the
#     predefined SageMakerVariantInvocationsPerInstance), named
#     "TargetTracking-endpoint/<endpoint>/variant/<variant>-AlarmHigh-<uuid>" (above the target
#     for 3 of 3 periods) and "...-AlarmLow-<uuid>" (below 90 % of the target for 15 of 15
#     periods); with DisableScaleIn only the high alarm is created.
#   why: the Application Auto Scaling guide says target tracking creates and manages the alarms
#     and scales in only well below the target (typically 10 % or more); the 3- and 15-period
#     alarms are how Application Auto Scaling's target tracking alarms look for other services
#     (aws/copilot-cli#4233 quotes 3 datapoints in 3 minutes out, 15 in 15 minutes in), and the
#     name pattern is AWS's "TargetTracking-<resource id>-AlarmHigh-<uuid>"; AWS does not publish
#     SageMaker's alarm settings.
#   notice: DescribeAlarms on AWS can show other thresholds or periods for these alarms.
HIGH_PERIODS = 3
LOW_PERIODS = 15
LOW_FRACTION = 0.9
PERIOD_SECONDS = 60
#: How the names of the alarms target tracking creates begin.
ALARM_PREFIX = "TargetTracking-"


def resource_id(endpoint: str, variant: str) -> str:
    """Application Auto Scaling's ResourceId of a SageMaker variant."""
    return f"endpoint/{endpoint}/variant/{variant}"


def split_resource_id(resource: str) -> tuple[str, str] | None:
    """(endpoint, variant) of a variant's ResourceId, or None for any other resource."""
    parts = resource.split("/")
    if len(parts) == 4 and parts[0] == "endpoint" and parts[2] == "variant":
        return parts[1], parts[3]
    return None


def alarm_metric(config: dict[str, Any], endpoint: str, variant: str) -> dict[str, Any] | None:
    """The metric (PutMetricAlarm's Namespace, MetricName, Dimensions, Statistic, Unit) a
    target-tracking configuration tracks, or None for one that is not acted on locally."""
    predefined = config.get("PredefinedMetricSpecification")
    if predefined:
        if predefined.get("PredefinedMetricType") != PREDEFINED_INVOCATIONS:
            return None
        return {
            "Namespace": "AWS/SageMaker",
            "MetricName": "InvocationsPerInstance",
            "Dimensions": [
                {"Name": "EndpointName", "Value": endpoint},
                {"Name": "VariantName", "Value": variant},
            ],
            "Statistic": "Sum",
        }
    spec = config.get("CustomizedMetricSpecification") or {}
    if not spec.get("MetricName") or not spec.get("Namespace"):
        # FIDELITY autoscaling.metric-math DIFFERS: customized metrics built with metric math
        #   local: a target-tracking policy whose CustomizedMetricSpecification uses Metrics
        #     (metric math) is stored but creates no alarms and never scales; so does one on a
        #     predefined metric other than SageMakerVariantInvocationsPerInstance.
        #   why: the local alarms evaluate one metric with one statistic.
        #   notice: On AWS such a policy creates its alarms and scales.
        return None
    metric = {
        "Namespace": spec["Namespace"],
        "MetricName": spec["MetricName"],
        "Dimensions": list(spec.get("Dimensions") or []),
        "Statistic": spec.get("Statistic") or "Average",
    }
    if spec.get("Unit"):
        metric["Unit"] = spec["Unit"]
    return metric


class ScalingRegistrations:
    """The SageMaker namespace of Application Auto Scaling, and target tracking's alarms."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        self.client = client
        #: How many calls that may change Application Auto Scaling reached it (:meth:`changed`),
        #: and the scalable targets as read at a count: the real-time autoscaler asks for them
        #: every tick, and they change only through such a call. A count rather than a flag
        #: cleared as a read begins: the autoscaler and DeleteEndpoint's requests read on their
        #: own threads, and a read that began before a change but ends after a newer read would
        #: clear the mark; with the count it is stored as older and the next call reads again.
        #: Nothing is taken away by a read, so this is not an entry of the state saver's record.
        self._changes = 0
        self._targets: tuple[int, dict[str, dict[str, Any]]] | None = None

    def changed(self) -> None:
        """A request that may change Application Auto Scaling reached it (the gateway says so)."""
        self._changes += 1

    # -- targets and policies -----------------------------------------------------------------

    def target(self, endpoint: str, variant: str) -> dict[str, Any] | None:
        """The variant's scalable target (DescribeScalableTargets' entry), or None."""
        return self.targets().get(resource_id(endpoint, variant))

    def targets(self) -> dict[str, dict[str, Any]]:
        """Every SageMaker variant's scalable target, by ResourceId (read again only after a
        call that may have changed them)."""
        changes = self._changes  # before the read: a change during it reads them again
        if self._targets is None or self._targets[0] != changes:
            pages = self.client("application-autoscaling").get_paginator(
                "describe_scalable_targets"
            )
            found = {
                target["ResourceId"]: target
                for page in pages.paginate(ServiceNamespace=NAMESPACE, ScalableDimension=DIMENSION)
                for target in page["ScalableTargets"]
            }
            self._targets = (changes, found)
        return dict(self._targets[1])

    def is_target(self, endpoint: str, variant: str) -> bool:
        return self.target(endpoint, variant) is not None

    def policies(self, resource: str, dimension: str = DIMENSION) -> list[dict[str, Any]]:
        pages = self.client("application-autoscaling").get_paginator("describe_scaling_policies")
        return [
            policy
            for page in pages.paginate(
                ServiceNamespace=NAMESPACE, ResourceId=resource, ScalableDimension=dimension
            )
            for policy in page["ScalingPolicies"]
        ]

    def policy_arn(self, resource: str, dimension: str, name: str) -> str | None:
        for policy in self.policies(resource, dimension):
            if policy["PolicyName"] == name:
                return str(policy["PolicyARN"])
        return None

    def delete_policies(self, resource: str, dimension: str) -> None:
        """Delete every policy of a target (as DeregisterScalableTarget does on AWS)."""
        autoscaling = self.client("application-autoscaling")
        for policy in self.policies(resource, dimension):
            autoscaling.delete_scaling_policy(
                PolicyName=policy["PolicyName"],
                ServiceNamespace=NAMESPACE,
                ResourceId=resource,
                ScalableDimension=dimension,
            )

    def deregister_endpoint(self, endpoint: str, variants: list[str]) -> None:
        """Deregister the endpoint's variants that are scalable targets (DeleteEndpoint)."""
        autoscaling = self.client("application-autoscaling")
        for variant in variants:
            if self.is_target(endpoint, variant):
                # Through the gateway, like any client: its policies and alarms go first.
                autoscaling.deregister_scalable_target(
                    ServiceNamespace=NAMESPACE,
                    ResourceId=resource_id(endpoint, variant),
                    ScalableDimension=DIMENSION,
                )

    # -- target tracking's alarms -------------------------------------------------------------

    def create_alarms(self, request: dict[str, Any], policy_arn: str) -> list[dict[str, str]]:
        """Create the alarms of a PutScalingPolicy (target tracking) that moto stored as
        ``policy_arn``; their names and ARNs, as PutScalingPolicy returns them."""
        names = split_resource_id(str(request.get("ResourceId", "")))
        config = request.get("TargetTrackingScalingPolicyConfiguration") or {}
        if names is None or request.get("ScalableDimension") != DIMENSION:
            return []
        metric = alarm_metric(config, *names)
        target = config.get("TargetValue")
        if metric is None or not isinstance(target, (int, float)):
            return []
        prefix = f"{ALARM_PREFIX}{request['ResourceId']}"
        description = f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy_arn}."
        wanted = [
            (
                f"{prefix}-AlarmHigh-{uuid.uuid4()}",
                "GreaterThanThreshold",
                float(target),
                HIGH_PERIODS,
            )
        ]
        if not config.get("DisableScaleIn"):
            low = float(target) * LOW_FRACTION
            wanted.append(
                (f"{prefix}-AlarmLow-{uuid.uuid4()}", "LessThanThreshold", low, LOW_PERIODS)
            )
        cloudwatch = self.client("cloudwatch")
        for name, operator, threshold, periods in wanted:
            cloudwatch.put_metric_alarm(
                AlarmName=name,
                AlarmDescription=description,
                ActionsEnabled=True,
                AlarmActions=[policy_arn],
                Period=PERIOD_SECONDS,
                EvaluationPeriods=periods,
                DatapointsToAlarm=periods,
                Threshold=threshold,
                ComparisonOperator=operator,
                **metric,
            )
        created = {a["AlarmName"]: a for a in self.alarms()}
        return [
            {"AlarmName": name, "AlarmARN": str(created[name]["AlarmArn"])}
            for name, *_ in wanted
            if name in created
        ]

    def alarms(self) -> list[dict[str, Any]]:
        """Every metric alarm of the account (DescribeAlarms)."""
        pages = self.client("cloudwatch").get_paginator("describe_alarms")
        return [alarm for page in pages.paginate() for alarm in page.get("MetricAlarms", [])]

    def alarms_of(
        self, policy_arn: str, alarms: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """The alarms whose actions invoke ``policy_arn``."""
        return [
            a
            for a in (self.alarms() if alarms is None else alarms)
            if policy_arn in (a.get("AlarmActions") or [])
        ]

    def delete_alarms_of(self, policy_arn: str) -> None:
        """Delete target tracking's alarms of a policy (the policy is being deleted or replaced);
        alarms a user created for a step policy stay, as on AWS."""
        names = [
            a["AlarmName"]
            for a in self.alarms_of(policy_arn)
            if str(a["AlarmName"]).startswith(ALARM_PREFIX)
        ]
        if names:
            self.client("cloudwatch").delete_alarms(AlarmNames=names)

    def set_state(self, alarm: str, state: str, reason: str) -> None:
        """Record an alarm's new state, so DescribeAlarms shows it."""
        self.client("cloudwatch").set_alarm_state(
            AlarmName=alarm, StateValue=state, StateReason=reason
        )
