"""Endpoint start-up on the local SageMaker: workers forked from a warm template vs fresh processes.

Prints, side by side in one run, for the project's loan-approval model on a real-time endpoint:
create -> InService (from CreateEndpoint until DescribeEndpoint, polled, says InService: the
model's download from S3 and extraction, the worker's start, the model load and the /ping health
check) as median, min and max,

* with workers forked from the pre-warmed template (``LOCAL_SAGEMAKER_WORKER_START=template``,
  the default on Linux), and
* with the fallback every platform has, a fresh Python process per worker
  (``LOCAL_SAGEMAKER_WORKER_START=fresh``, what Windows and macOS always do),

and the ratio of the medians. Each way runs against its own local SageMaker (temporary state
folder, free port), started and stopped by the benchmark; the first endpoint of each is a warm-up
(the template finishing its imports, the OS file cache) and is not counted.

Run: ``python benchmarks/bench_startup.py [--creates 7] [--instances 1]``
"""

from __future__ import annotations

import argparse
import statistics
import sys

from private_server import create_endpoint, private_local_sagemaker, wait_for_status

MODES = {
    "template": "forked from the warm template",
    "fresh": "fresh process (the fallback)",
}


def measure(mode: str, creates: int, instances: int) -> list[float]:
    """create -> InService seconds for ``creates`` endpoints (after one warm-up) in ``mode``."""
    with private_local_sagemaker(LOCAL_SAGEMAKER_WORKER_START=mode) as server:
        sm = server.client("sagemaker")
        server.create_loan_config(sm, instances=instances)
        samples = []
        for i in range(creates + 1):
            name = f"bench-startup-{i}"
            elapsed = create_endpoint(sm, name)
            if i:  # the first one is the warm-up
                samples.append(elapsed)
            sm.delete_endpoint(EndpointName=name)
            wait_for_status(sm, name, "Deleted")
        return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--creates", type=int, default=7, help="endpoints measured per way")
    parser.add_argument("--instances", type=int, default=1, help="InitialInstanceCount")
    args = parser.parse_args()

    results = {mode: measure(mode, args.creates, args.instances) for mode in MODES}

    print(
        f"local SageMaker endpoint start-up: create -> InService, loan model, "
        f"{args.instances} instance(s), {args.creates} endpoints per way"
    )
    print(f"{'workers':<34}{'median ms':>11}{'min ms':>9}{'max ms':>9}")
    for mode, label in MODES.items():
        samples = results[mode]
        print(
            f"{label:<34}{statistics.median(samples) * 1000:11.0f}"
            f"{min(samples) * 1000:9.0f}{max(samples) * 1000:9.0f}"
        )
    ratio = statistics.median(results["fresh"]) / statistics.median(results["template"])
    print(f"fresh / template (medians): {ratio:.1f}x faster with the template")
    goal = 0.5
    met = statistics.median(results["template"]) <= goal
    print(f"goal: template median <= {goal * 1000:.0f} ms: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
