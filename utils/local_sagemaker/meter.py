"""Cost meter: what each endpoint would have cost on AWS so far.

Real-time endpoints are billed per instance-second at the instance type's hourly price, from when
the instances run until they are stopped. Locally a fleet accrues from the moment all its
instances passed the health check (the endpoint turns ``InService``; for an update, the new fleet
turns healthy) until its instances are stopped (delete, update swap, or capacity change). During an
update both fleets accrue, as both run on AWS. This start point is a slight under-estimate: AWS
also bills the minutes instances spend booting during ``Creating``, which take milliseconds here.

Prices come from the project's dated, sourced price table (:mod:`utils.pricing`) through
:func:`hourly_price`, the one place to change if the table's API changes. An instance type the
table does not know is reported with a ``None`` price instead of a guess.

Three views:
* :class:`CostMeter` lives in the gateway and is served at ``GET /_local/costs``;
* :func:`current_costs` fetches that view from a running local SageMaker (for notebooks);
* :func:`estimate_from_aws` estimates the same view on AWS from DescribeEndpoint and
  DescribeEndpointConfig (instance types and counts, time since the last change).
"""

from __future__ import annotations

import functools
import json
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from . import config


@functools.cache
def _price_table() -> Any:
    from utils.pricing import PriceTable

    return PriceTable.load()


def hourly_price(
    instance_type: str, region: str = config.REGION, mode: str = "realtime"
) -> float | None:
    """USD per instance-hour (``mode``: realtime, asynchronous or batch), or None when unknown."""
    try:
        return float(_price_table().instance_hourly(instance_type, region, mode))
    except (ImportError, KeyError, ValueError, OSError):
        return None


@dataclass
class _Segment:
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
        self._open: dict[int, _Segment] = {}
        self._closed: list[_Segment] = []
        #: Serverless variants are billed per request and for provisioned concurrency instead.
        self.serverless = ServerlessMeter()

    def serverless_invocation(self, *args: Any) -> None:
        """One serverless request (see :meth:`ServerlessMeter.invocation`)."""
        self.serverless.invocation(*args)

    def fleet_started(self, endpoint: str, fleet: Any) -> None:
        """Start accruing for ``fleet`` (a VariantFleet) with its current instance count."""
        if getattr(fleet, "serverless", False):
            self.serverless.provisioned_started(endpoint, fleet)
            return
        now = time.time()
        with self._lock:
            previous = self._open.pop(id(fleet), None)
            if previous is not None:
                previous.stopped = now
                self._closed.append(previous)
            count = len(fleet.instances)
            if count:
                self._open[id(fleet)] = _Segment(
                    endpoint, fleet.name, fleet.instance_type, count, now
                )

    def fleet_stopped(self, endpoint: str, fleet: Any) -> None:
        """Stop accruing for ``fleet``."""
        if getattr(fleet, "serverless", False):
            self.serverless.provisioned_stopped(endpoint, fleet)
            return
        with self._lock:
            segment = self._open.pop(id(fleet), None)
            if segment is not None:
                segment.stopped = time.time()
                self._closed.append(segment)

    def transform_job_started(self, job: str, instance_type: str, count: int) -> None:
        """Start accruing for a transform job's instances (billed at the batch price)."""
        with self._lock:
            self._open[("TransformJob", job)] = _Segment(  # type: ignore[index]
                job, "", instance_type, count, time.time(), kind="TransformJob"
            )

    def transform_job_stopped(self, job: str) -> None:
        with self._lock:
            segment = self._open.pop(("TransformJob", job), None)  # type: ignore[call-overload]
            if segment is not None:
                segment.stopped = time.time()
                self._closed.append(segment)

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


def summarise(segments: list[_Segment], running_ids: set[int], now: float) -> dict[str, Any]:
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


def current_costs(url: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
    """Fetch the meter of a running local SageMaker (default: the one ``ensure_running`` uses)."""
    if url is None:
        from .daemon import url as running_url

        url = running_url()
        if url is None:
            raise RuntimeError(
                "The local SageMaker is not running (python -m utils.local_sagemaker start)."
            )
    with urllib.request.urlopen(f"{url.rstrip('/')}/_local/costs", timeout=timeout) as response:
        snapshot: dict[str, Any] = json.loads(response.read())
    return snapshot


def estimate_from_aws(sagemaker_client: Any, now: float | None = None) -> dict[str, Any]:
    """Estimate the same view on AWS: running endpoints' instances since their last change.

    An estimate, not a bill: it counts InService/Updating endpoints from ``LastModifiedTime``
    (time before the last update is not seen) and ignores endpoints already deleted.
    """
    now = time.time() if now is None else now
    segments: list[_Segment] = []
    paginator = sagemaker_client.get_paginator("list_endpoints")
    for page in paginator.paginate():
        for summary in page["Endpoints"]:
            if summary["EndpointStatus"] not in ("InService", "Updating", "SystemUpdating"):
                continue
            described = sagemaker_client.describe_endpoint(EndpointName=summary["EndpointName"])
            cfg = sagemaker_client.describe_endpoint_config(
                EndpointConfigName=described["EndpointConfigName"]
            )
            types = {v["VariantName"]: v.get("InstanceType") for v in cfg["ProductionVariants"]}
            started = described["LastModifiedTime"].timestamp()
            for variant in described.get("ProductionVariants", []):
                itype = types.get(variant["VariantName"])
                if not itype:
                    continue  # serverless: billed per use, not per instance-second
                segments.append(
                    _Segment(
                        summary["EndpointName"],
                        variant["VariantName"],
                        itype,
                        int(variant.get("CurrentInstanceCount", 0)),
                        started,
                    )
                )
    return summarise(segments, {id(s) for s in segments}, now)


def format_costs(snapshot: dict[str, Any]) -> str:
    """A small text table of a snapshot, for notebooks and the CLI."""
    lines = [
        f"{'endpoint':<28} {'variant':<12} {'instance':<14} {'n':>2} {'inst-s':>10} {'USD':>10}"
    ]
    for row in snapshot["Endpoints"]:
        cost = "unknown" if row["CostUsd"] is None else f"{row['CostUsd']:.6f}"
        state = "" if row["Running"] else "  (stopped)"
        lines.append(
            f"{row['EndpointName']:<28} {row['VariantName']:<12} {row['InstanceType']:<14} "
            f"{row['InstanceCount']:>2} {row['InstanceSeconds']:>10.1f} {cost:>10}{state}"
        )
    for row in snapshot.get("TransformJobs", []):
        cost = "unknown" if row["CostUsd"] is None else f"{row['CostUsd']:.6f}"
        state = "" if row["Running"] else "  (ended)"
        lines.append(
            f"{row['TransformJobName']:<28} {'(transform)':<12} {row['InstanceType']:<14} "
            f"{row['InstanceCount']:>2} {row['InstanceSeconds']:>10.1f} {cost:>10}{state}"
        )
    for row in snapshot.get("Serverless", []):
        lines.append(
            f"{row['EndpointName']:<28} {row['VariantName']:<12} "
            f"{'serverless ' + str(row['MemorySizeInMB'] // 1024) + 'GB':<14} "
            f"{row['Requests']:>6} req {row['ComputeGbSeconds']:>8.2f} GB-s {row['CostUsd']:>10.6f}"
        )
    partial = " (partial: some prices unknown)" if snapshot["TotalIsPartial"] else ""
    lines.append(f"total so far: {snapshot['TotalUsd']:.6f} USD{partial}")
    return "\n".join(lines)


class ServerlessMeter:
    """What serverless endpoints cost: per request, by the millisecond, plus data processed.

    AWS bills serverless inference as memory (GB) x processing time (by the millisecond) for each
    request, plus the request and response bytes ("data processed"); requests served by
    provisioned concurrency use their own GB-second price, and provisioned concurrency itself
    costs memory x concurrency x time while it is provisioned. Locally the processing time is the
    container's time for the request (``ModelLatency``); the cold start before it
    (``ModelSetupTime``) is not billed (our reading of "compute capacity used to process
    inference requests"; UNCONFIRMED).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], dict[str, Any]] = {}
        self._provisioned: dict[int, tuple[str, str, float, float]] = {}  # id -> (ep, v, GB, t0)

    def _row(self, endpoint: str, variant: str, memory_mb: int) -> dict[str, Any]:
        return self._rows.setdefault(
            (endpoint, variant),
            {
                "EndpointName": endpoint,
                "VariantName": variant,
                "MemorySizeInMB": memory_mb,
                "Requests": 0,
                "ComputeGbSeconds": 0.0,
                "ProvisionedComputeGbSeconds": 0.0,
                "ProvisionedGbSeconds": 0.0,
                "BytesIn": 0,
                "BytesOut": 0,
            },
        )

    def invocation(
        self,
        endpoint: str,
        variant: str,
        memory_mb: int,
        duration_ms: int,
        bytes_in: int,
        bytes_out: int,
        provisioned: bool = False,
    ) -> None:
        """Record one request: ``duration_ms`` of processing at ``memory_mb``."""
        gb_seconds = memory_mb / 1024 * duration_ms / 1000
        with self._lock:
            row = self._row(endpoint, variant, memory_mb)
            row["Requests"] += 1
            row["ProvisionedComputeGbSeconds" if provisioned else "ComputeGbSeconds"] += gb_seconds
            row["BytesIn"] += bytes_in
            row["BytesOut"] += bytes_out

    def provisioned_started(self, endpoint: str, fleet: Any) -> None:
        count = int(getattr(fleet, "provisioned_concurrency", 0))
        with self._lock:
            self._row(endpoint, fleet.name, fleet.memory_mb)
            if count and id(fleet) not in self._provisioned:
                gb = fleet.memory_mb / 1024 * count
                self._provisioned[id(fleet)] = (endpoint, fleet.name, gb, time.time())

    def provisioned_stopped(self, endpoint: str, fleet: Any) -> None:
        with self._lock:
            entry = self._provisioned.pop(id(fleet), None)
            if entry is not None:
                ep, variant, gb, started = entry
                self._rows[(ep, variant)]["ProvisionedGbSeconds"] += gb * (time.time() - started)

    def rows(self, now: float) -> list[dict[str, Any]]:
        try:
            table = _price_table()
            on_demand = {m: table.serverless_gb_second(config.REGION, m) for m in range(1024, 6145, 1024)}
            pc_compute = table.serverless_gb_second_with_provisioned_concurrency(config.REGION)
            pc = table.provisioned_concurrency_gb_second(config.REGION)
            data_in = table.data_processed_per_gb(config.REGION, "in")
            data_out = table.data_processed_per_gb(config.REGION, "out")
        except (ImportError, KeyError, ValueError, OSError):
            return []
        out = []
        with self._lock:
            rows = [dict(r) for r in self._rows.values()]
            running = {(ep, v): gb * (now - t0) for ep, v, gb, t0 in self._provisioned.values()}
        gb = 1024.0**3
        for row in rows:
            row["ProvisionedGbSeconds"] += running.get((row["EndpointName"], row["VariantName"]), 0.0)
            cost = (
                row["ComputeGbSeconds"] * on_demand.get(row["MemorySizeInMB"], on_demand[1024])
                + row["ProvisionedComputeGbSeconds"] * pc_compute
                + row["ProvisionedGbSeconds"] * pc
                + row["BytesIn"] / gb * data_in
                + row["BytesOut"] / gb * data_out
            )
            for key in ("ComputeGbSeconds", "ProvisionedComputeGbSeconds", "ProvisionedGbSeconds"):
                row[key] = round(row[key], 4)
            row["Running"] = (row["EndpointName"], row["VariantName"]) in running
            row["CostUsd"] = round(cost, 9)
            out.append(row)
        return sorted(out, key=lambda r: (r["EndpointName"], r["VariantName"]))
