"""The local SageMaker's own routes, ``/_local/*``: what AWS does not have but a lesson needs.

* ``/_local/health``: the server's pid and URL (how ``start`` knows it is up);
* ``/_local/costs``: the cost meter's snapshot (the public face's ``current_costs``);
* ``/_local/flush``: wait until queued logs and metrics reached CloudWatch;
* ``/_local/endpoints/<name>``: an endpoint's instances and their URLs, so a lesson (or a
  benchmark) can call the container contract directly, as one would with ``docker run ... serve``;
* ``/_local/async/<name>``: an async endpoint's queue as the backlog metrics see it, and the last
  scaling step;
* ``/_local/autoscaling``: the real-time autoscaler's clock (how many times faster than AWS it
  runs), its alarms' states and data points, and its scaling activities;
* ``/_local/transform-jobs/<name>``: objects and records done so far (AWS shows only the status
  while a job runs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..core import worker_secret
from ..core.errors import AwsError
from ..services.async_inference.service import AsyncService
from ..services.autoscaling import AutoScaler
from ..services.endpoints.registry import Registry
from ..services.meter.cost_meter import CostMeter
from ..services.scaling.realtime import RealtimeScaler
from ..services.telemetry.data_points import MetricSink
from ..services.telemetry.invocation_metrics import MetricsPublisher
from ..services.telemetry.logs import LogShipper
from ..services.transform.jobs import TransformJobs


@dataclass(frozen=True)
class LocalRoutes:
    """Answers ``GET /_local/...`` from the services the gateway built."""

    url: str
    registry: Registry
    transform_jobs: TransformJobs
    async_service: AsyncService
    autoscaler: AutoScaler
    realtime_scaler: RealtimeScaler
    meter: CostMeter
    logs: LogShipper
    metrics: MetricsPublisher
    metric_sink: MetricSink

    def answer(self, path: str) -> dict[str, Any] | None:
        """The JSON body for ``path``, or None when there is no such route."""
        if path == "/_local/health":
            return {"status": "ok", "pid": os.getpid(), "url": self.url}
        if path == "/_local/costs":
            return self.meter.snapshot()
        if path == "/_local/flush":
            return {
                "logs": self.logs.flush(),
                "metrics": self.metrics.flush() and self.metric_sink.flush(),
            }
        if path.startswith("/_local/endpoints/"):
            return self._instances(path.removeprefix("/_local/endpoints/"))
        if path.startswith("/_local/async/"):
            name = path.removeprefix("/_local/async/")
            body = self.async_service.stats(name)
            body["LastScaling"] = self.autoscaler.decisions.get(name)
            return body
        if path == "/_local/autoscaling":
            return {
                "TimeScale": self.realtime_scaler.clock.scale,
                "Alarms": self.realtime_scaler.alarm_states(),
                "Activities": self.realtime_scaler.activities.listing(),
            }
        if path.startswith("/_local/transform-jobs/"):
            try:
                return self.transform_jobs.progress(path.removeprefix("/_local/transform-jobs/"))
            except AwsError as err:
                return {"__type": err.code, "message": err.message}
        return None

    def _instances(self, name: str) -> dict[str, Any]:
        endpoint = self.registry.endpoint_for_invoke(name)
        deployment = endpoint.deployment if endpoint else None
        instances: list[dict[str, Any]] = []
        if deployment is not None:
            for fleet in deployment.fleets.values():
                instances.extend(
                    {
                        "VariantName": fleet.name,
                        "InstanceId": i.instance_id,
                        "Url": f"http://127.0.0.1:{i.port}",
                        "Alive": i.alive,
                        # Lets a lesson or a test stop an instance and watch it being replaced.
                        "Pid": i.pid,
                        # What a direct call needs (the worker answers only the gateway).
                        "Headers": {worker_secret.HEADER: i.secret},
                    }
                    for i in fleet.instances
                )
        return {"EndpointName": name, "Instances": instances}
