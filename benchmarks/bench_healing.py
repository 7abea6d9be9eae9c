"""Healing on the local SageMaker: how long after a worker is killed does the endpoint serve again?

For the project's loan-approval model on a one-instance real-time endpoint, ``--kills`` times:
create the endpoint, wait for InService, make one call, SIGKILL the worker process, then call
InvokeEndpoint in a loop until it answers again. Prints, side by side:

* kill -> out of routing: until the local SageMaker no longer counts the instance as alive (how
  fast the exit is noticed);
* kill -> serving again: from the kill until the first successful call (median, min, max);
* calls in the gap: how many failed, and with which error codes (AWS's ``ServiceUnavailable``
  is the expected one);
* create -> InService of the same endpoints, for comparison: a replacement is one new instance
  start, so the two should be close.

Each kill uses a fresh endpoint: a second kill of the same endpoint within a minute counts as a
model that keeps failing and is restarted with backoff (see ``services/fleet/healing.py``).
The benchmark starts its own local SageMaker (temporary state folder, free port) and stops it.

Run: ``python benchmarks/bench_healing.py [--kills 10]`` (POSIX only: it sends SIGKILL).
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import statistics
import sys
import time

from private_server import create_endpoint, private_local_sagemaker


def _summary(label: str, samples: list[float]) -> str:
    return (
        f"{label:<28} median {statistics.median(samples):7.3f} s   "
        f"min {min(samples):7.3f} s   max {max(samples):7.3f} s   (n={len(samples)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=10, help="workers killed (one endpoint each)")
    args = parser.parse_args()
    if sys.platform == "win32":
        print("bench_healing sends SIGKILL: run it on Linux or macOS")
        return 1

    from botocore.exceptions import ClientError

    from utils.data import FEATURE_COLUMNS, load_german_credit

    with private_local_sagemaker() as server:
        sm = server.client("sagemaker")
        rt = server.client("sagemaker-runtime", retries={"max_attempts": 1, "mode": "standard"})
        server.create_loan_config(sm)
        body = load_german_credit()[FEATURE_COLUMNS].head(5).to_csv(header=False, index=False)

        def call(name: str) -> str | None:
            """None when the endpoint answered, else the error code."""
            try:
                rt.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=body.encode())
            except ClientError as err:
                return str(err.response["Error"]["Code"])
            return None

        creates: list[float] = []
        resumes: list[float] = []
        detections: list[float] = []
        gap_errors: collections.Counter[str] = collections.Counter()
        for i in range(args.kills):
            name = f"bench-heal-{i}"
            creates.append(create_endpoint(sm, name))
            assert call(name) is None
            [instance] = server.local_route(f"/_local/endpoints/{name}")["Instances"]
            killed = time.perf_counter()
            os.kill(instance["Pid"], signal.SIGKILL)
            while any(
                i["Alive"] and i["InstanceId"] == instance["InstanceId"]
                for i in server.local_route(f"/_local/endpoints/{name}")["Instances"]
            ):
                pass  # the route answers in about a millisecond: no sleep needed
            detections.append(time.perf_counter() - killed)
            while (error := call(name)) is not None:
                gap_errors[error] += 1
                time.sleep(0.02)  # poll, leaving the CPU to the replacement's start
            resumes.append(time.perf_counter() - killed)
            status = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
            assert status == "InService", status
            sm.delete_endpoint(EndpointName=name)

    print(_summary("kill -> out of routing", detections))
    print(_summary("kill -> serving again", resumes))
    print(_summary("create -> InService", creates))
    print(
        f"{'replacement / fresh start':<28} "
        f"{statistics.median(resumes) / statistics.median(creates):6.2f}x (medians)"
    )
    failed = sum(gap_errors.values())
    codes = ", ".join(f"{code} x{n}" for code, n in gap_errors.most_common()) or "none"
    print(f"{'calls failed in the gaps':<28} {failed} ({codes})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
