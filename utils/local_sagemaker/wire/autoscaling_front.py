"""Application Auto Scaling calls for the ``sagemaker`` namespace: moto stores, AWS's rules added.

moto answers Application Auto Scaling from its record store; for SageMaker variants AWS does more
around the same calls, and this module adds it before or after handing the request to moto:

* ``PutScalingPolicy`` (target tracking) creates the policy's CloudWatch alarms and returns them
  in ``Alarms``; replacing a policy replaces its alarms;
* ``DescribeScalingPolicies`` lists each policy's alarms;
* ``DeleteScalingPolicy`` deletes target tracking's alarms with the policy;
* ``DeregisterScalableTarget`` deletes the target's policies (and so their alarms) first;
* ``DescribeScalingActivities`` answers with the activities of both scalers (real-time
  variants, and asynchronous endpoints).

Every other request, and every request for another namespace, goes to moto untouched.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from ..services.scaling.activities import ScalingActivities
from ..services.scaling.registrations import NAMESPACE, ScalingRegistrations

#: A request handed to moto: (status, headers, body).
Answer = tuple[int, list[tuple[str, str]], bytes]

PREFIX = "AnyScaleFrontendService."


class ScalingFront:
    """Wraps moto's Application Auto Scaling for the SageMaker namespace."""

    def __init__(
        self,
        registrations: ScalingRegistrations,
        activities: ScalingActivities,
    ) -> None:
        self.registrations = registrations
        self.activities = activities

    def handle(
        self, environ: dict[str, Any], forward: Callable[[dict[str, Any]], Answer]
    ) -> Answer | None:
        """The answer to an Application Auto Scaling request, or None to let moto answer it."""
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        operation = target.removeprefix(PREFIX) if target.startswith(PREFIX) else ""
        handler = {
            "PutScalingPolicy": self._put_policy,
            "DescribeScalingPolicies": self._describe_policies,
            "DeleteScalingPolicy": self._delete_policy,
            "DeregisterScalableTarget": self._deregister,
            "DescribeScalingActivities": self._activities,
        }.get(operation)
        if handler is None:
            return None
        raw = bytes(environ["wsgi.input"].read())
        environ["wsgi.input"] = io.BytesIO(raw)  # moto reads it again
        try:
            params = json.loads(raw or b"{}")
        except ValueError:
            params = None
        if not isinstance(params, dict) or params.get("ServiceNamespace") != NAMESPACE:
            return forward(environ)
        return handler(environ, params, forward)

    def _key(self, params: dict[str, Any]) -> tuple[str, str]:
        return str(params.get("ResourceId", "")), str(params.get("ScalableDimension", ""))

    def _put_policy(
        self, environ: dict[str, Any], params: dict[str, Any], forward: Callable[..., Answer]
    ) -> Answer:
        resource, dimension = self._key(params)
        previous = self.registrations.policy_arn(resource, dimension, str(params.get("PolicyName")))
        status, headers, body = forward(environ)
        if status != 200:
            return status, headers, body
        answer = json.loads(body)
        if previous:
            self.registrations.delete_alarms_of(previous)
        if params.get("PolicyType") == "TargetTrackingScaling":
            answer["Alarms"] = self.registrations.create_alarms(params, answer["PolicyARN"])
        return status, headers, json.dumps(answer).encode()

    def _describe_policies(
        self, environ: dict[str, Any], params: dict[str, Any], forward: Callable[..., Answer]
    ) -> Answer:
        status, headers, body = forward(environ)
        if status != 200:
            return status, headers, body
        answer = json.loads(body)
        alarms = self.registrations.alarms()
        for policy in answer.get("ScalingPolicies", []):
            policy["Alarms"] = [
                {"AlarmName": a["AlarmName"], "AlarmARN": a["AlarmArn"]}
                for a in self.registrations.alarms_of(policy["PolicyARN"], alarms)
            ]
        return status, headers, json.dumps(answer).encode()

    def _delete_policy(
        self, environ: dict[str, Any], params: dict[str, Any], forward: Callable[..., Answer]
    ) -> Answer:
        resource, dimension = self._key(params)
        arn = self.registrations.policy_arn(resource, dimension, str(params.get("PolicyName")))
        status, headers, body = forward(environ)
        if status == 200 and arn:
            self.registrations.delete_alarms_of(arn)
        return status, headers, body

    def _deregister(
        self, environ: dict[str, Any], params: dict[str, Any], forward: Callable[..., Answer]
    ) -> Answer:
        resource, dimension = self._key(params)
        # FIDELITY autoscaling.deregister-deletes-policies CONFIRMED: deregistering a target deletes its policies
        #   local: DeregisterScalableTarget deletes the target's scaling policies and the alarms
        #     target tracking created for them (moto alone keeps them).
        #   source: the Application Auto Scaling API reference, DeregisterScalableTarget:
        #     "Deregistering a scalable target deletes the scaling policies and the scheduled
        #     actions that are associated with it."
        self.registrations.delete_policies(resource, dimension)
        return forward(environ)

    def _activities(
        self, environ: dict[str, Any], params: dict[str, Any], forward: Callable[..., Answer]
    ) -> Answer:
        resource = params.get("ResourceId")
        which = str(resource) if resource else None
        body = json.dumps({"ScalingActivities": self.activities.listing(which)}).encode()
        return 200, [("Content-Type", "application/x-amz-json-1.1")], body
