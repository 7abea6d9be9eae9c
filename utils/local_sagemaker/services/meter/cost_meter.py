"""Cost meter: what each endpoint and transform job would have cost on AWS so far.

Real-time endpoints are billed per instance-second at the instance type's hourly price, from when
the instances run until they are stopped. Locally a fleet accrues from the moment all its
instances passed the health check (the endpoint turns ``InService``; for an update, the new fleet
turns healthy) until its instances are stopped (delete, update swap). During an update both
fleets accrue, as both run on AWS; during a capacity change the running instances keep accruing
and the count changes once the added instances are healthy (or the surplus ones stopped). This start point is a slight under-estimate: AWS
also bills the minutes instances spend booting during ``Creating``, which take milliseconds here.
Transform jobs accrue at the batch price while their instances run. Serverless variants are
billed per request instead (:mod:`.serverless_meter`).

Prices come from the project's dated, sourced price table through
:func:`~...core.prices.hourly_price`; an instance type the table does not know is reported with a
``None`` price instead of a guess. :class:`CostMeter` lives in the gateway and is served at
``GET /_local/costs``; :mod:`.aws_estimate` builds the same view on AWS.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from ...core.prices import hourly_price

# FIDELITY cost.computed DIFFERS: costs are computed, not billed
#   local: The meter prices instance-seconds, serverless GB-seconds and data processed from a
#     dated price table with a source for every price.
#   why: nothing runs on AWS, so nothing is billed; the meter shows what AWS would charge.
#   notice: Your AWS bill can differ: prices change, AWS also bills the minutes instances boot,
#     and some prices in `utils/prices.json` are marked unconfirmed; check them before you budget.
from ..fleet.instance_fleet import InstanceFleet, ServerlessUsage
from .serverless_meter import ServerlessMeter


@dataclass
class Segment:
    """A run of ``instance_count`` instances from ``started`` until ``stopped`` (None: running)."""

    endpoint: str
    variant: str
    instance_type: str
    instance_count: int
    started: float
    stopped: float | None = None
    kind: str = "Endpoint"  # or "TransformJob" (``endpoint`` then holds the job name)

    def seconds(self, now: float) -> float:
        return max(0.0, (self.stopped if self.stopped is not None else now) - self.started)


class CostMeter:
    """Accrues instance-seconds per endpoint variant while its fleet runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: Open segments: an endpoint fleet's by ``id(fleet)``, a transform job's by its name.
        self._open: dict[int | tuple[str, str], Segment] = {}
        self._closed: list[Segment] = []
        #: Serverless variants are billed per request and for provisioned concurrency instead.
        self.serverless = ServerlessMeter()

    def fleet_started(self, endpoint: str, fleet: InstanceFleet) -> None:
        """Start accruing for ``fleet`` with its current capacity."""
        usage = fleet.usage()
        if isinstance(usage, ServerlessUsage):
            self.serverless.provisioned_started(endpoint, id(fleet), usage)
            return
        now = time.time()
        with self._lock:
            previous = self._open.pop(id(fleet), None)
            if previous is not None:
                previous.stopped = now
                self._closed.append(previous)
            if usage.count:
                self._open[id(fleet)] = Segment(
                    endpoint, usage.variant, usage.instance_type, usage.count, now
                )

    def fleet_stopped(self, endpoint: str, fleet: InstanceFleet) -> None:
        """Stop accruing for ``fleet``."""
        if isinstance(fleet.usage(), ServerlessUsage):
            self.serverless.provisioned_stopped(id(fleet))
            return
        with self._lock:
            segment = self._open.pop(id(fleet), None)
            if segment is not None:
                segment.stopped = time.time()
                self._closed.append(segment)

    def transform_job_started(self, job: str, instance_type: str, count: int) -> None:
        """Start accruing for a transform job's instances (billed at the batch price)."""
        with self._lock:
            self._open[("TransformJob", job)] = Segment(
                job, "", instance_type, count, time.time(), kind="TransformJob"
            )

    def transform_job_stopped(self, job: str, ended: float | None = None) -> None:
        """Stop accruing at ``ended`` (the job's TransformEndTime; now if not given)."""
        with self._lock:
            segment = self._open.pop(("TransformJob", job), None)
            if segment is not None:
                segment.stopped = time.time() if ended is None else max(ended, segment.started)
                self._closed.append(segment)

    # -- saved state (services/state) ---------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """The segments so far (ended and running) and the serverless usage, as JSON-ready data."""
        with self._lock:
            closed = [asdict(s) for s in self._closed]
            running = [asdict(s) for s in self._open.values()]
        return {"closed": closed, "running": running, "serverless": self.serverless.export_state()}

    def restore_state(self, data: dict[str, Any], saved_at: float, now: float) -> None:
        """Take back what :meth:`export_state` saved at ``saved_at``; ``now`` is the restart.

        What ran when the local SageMaker stopped ends as follows (see the marker below):
        an endpoint's instances and provisioned concurrency are billed up to ``now``, through
        the time the machine was off; a transform job's instances up to ``saved_at``, because
        the job runs again from the start and is billed again for that run.
        """
        # FIDELITY cost.time-off CONFIRMED: the time the local SageMaker was stopped
        #   local: an endpoint that existed when the local SageMaker stopped is billed for the
        #     time it was off, as if its instances had kept running (provisioned concurrency
        #     too); a running transform job is billed up to the stop and again for its new run.
        #   source: the SageMaker pricing page (https://aws.amazon.com/sagemaker/pricing/, the
        #     page utils/prices.json cites) prices real-time inference per instance-hour for as
        #     long as the endpoint's instances exist, with or without requests; stopping your
        #     own machine stops nothing on AWS.
        closed = [Segment(**raw) for raw in data.get("closed", [])]
        for raw in data.get("running", []):
            segment = Segment(**raw)
            segment.stopped = saved_at if segment.kind == "TransformJob" else max(now, saved_at)
            closed.append(segment)
        with self._lock:
            self._closed = closed + self._closed
        self.serverless.restore_state(data.get("serverless") or {}, now)

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """Per endpoint variant: instance type, count, instance-seconds, price and cost so far."""
        now = time.time() if now is None else now
        with self._lock:
            segments = [*self._closed, *self._open.values()]
            running = {id(s) for s in self._open.values()}
        out = summarise(segments, running, now)
        out["Serverless"] = self.serverless.rows(now)
        for row in out["Serverless"]:
            out["TotalUsd"] = round(out["TotalUsd"] + row["CostUsd"], 6)
        return out


def summarise(segments: list[Segment], running_ids: set[int], now: float) -> dict[str, Any]:
    """The instance-billed rows of a cost snapshot (``Endpoints``, ``TransformJobs``, totals)."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    jobs: dict[str, dict[str, Any]] = {}
    for segment in segments:
        if segment.kind == "TransformJob":
            row = jobs.setdefault(
                segment.endpoint,
                {
                    "TransformJobName": segment.endpoint,
                    "InstanceType": segment.instance_type,
                    "InstanceCount": 0,
                    "Running": False,
                    "InstanceSeconds": 0.0,
                    "UsdPerHour": hourly_price(segment.instance_type, mode="batch"),
                },
            )
        else:
            key = (segment.endpoint, segment.variant, segment.instance_type)
            row = rows.setdefault(
                key,
                {
                    "EndpointName": segment.endpoint,
                    "VariantName": segment.variant,
                    "InstanceType": segment.instance_type,
                    "InstanceCount": 0,
                    "Running": False,
                    "InstanceSeconds": 0.0,
                    "UsdPerHour": hourly_price(segment.instance_type),
                },
            )
        if segment.kind == "TransformJob" and id(segment) not in running_ids:
            row["InstanceCount"] = max(row["InstanceCount"], segment.instance_count)
        row["InstanceSeconds"] += segment.seconds(now) * segment.instance_count
        if id(segment) in running_ids:
            row["Running"] = True
            row["InstanceCount"] += segment.instance_count
    total = 0.0
    unknown = False
    for row in [*rows.values(), *jobs.values()]:
        price = row["UsdPerHour"]
        row["InstanceSeconds"] = round(row["InstanceSeconds"], 3)
        row["CostUsd"] = None if price is None else round(row["InstanceSeconds"] * price / 3600, 6)
        if row["CostUsd"] is None:
            unknown = True
        else:
            total += row["CostUsd"]
    return {
        "AsOf": now,
        "Currency": "USD",
        "Endpoints": sorted(rows.values(), key=lambda r: (r["EndpointName"], r["VariantName"])),
        "TransformJobs": sorted(jobs.values(), key=lambda r: r["TransformJobName"]),
        "TotalUsd": round(total, 6),
        "TotalIsPartial": unknown,
    }
