"""A cost snapshot as a small text table, for the notebooks and the CLI."""

from __future__ import annotations

from typing import Any


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
