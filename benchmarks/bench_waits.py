"""How late the lessons' wait helpers see a local transform job end: AWS's poll pace vs the local one.

A lesson cell that runs a batch transform waits in ``utils.batch.wait_for_transform_job``, which
polls DescribeTransformJob with an interval that grows by half each time. On AWS it grows to
15 s (a job takes minutes; each poll is a request). Against the local SageMaker the interval stops
at ``utils.polling.LOCAL_MAX_POLL_SECONDS``. This prints, side by side in one run, for the same
transform job (the loan model on ``--rows`` synthetic applications) run ``--jobs`` times each way,
alternating the two ways so both see the same machine load:

* **seen late**: from the job's ``TransformEndTime`` (the server's clock, the same machine) to the
  moment the helper returned: time the learner waits for nothing;
* **job**: from CreateTransformJob to the helper's return,

as median, min and max, and the ratio of the median jobs. "AWS's pace" is the same helper with
the local cap set to AWS's (:data:`utils.polling.MAX_POLL_SECONDS`), as every local wait was
before the cap existed.

Run: ``python benchmarks/bench_waits.py [--jobs 4] [--rows 60000]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from private_server import BUCKET, LOAN, private_local_sagemaker

from utils import batch, data, polling

WAYS = {
    "aws": f"AWS's pace (interval up to {polling.MAX_POLL_SECONDS:g} s)",
    "local": f"local cap (up to {polling.LOCAL_MAX_POLL_SECONDS:g} s)",
}


def _run_job(tut: Any, name: str, input_uri: str, way: str) -> tuple[float, float]:
    """(seconds the helper saw the end late, seconds from create to the helper's return)."""
    local_cap = polling.LOCAL_MAX_POLL_SECONDS
    if way == "aws":
        polling.LOCAL_MAX_POLL_SECONDS = polling.MAX_POLL_SECONDS
    try:
        started = time.perf_counter()
        tut.sagemaker.create_transform_job(
            TransformJobName=name,
            ModelName=LOAN,
            TransformInput={
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/{name}/", "AssembleWith": "Line"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        )
        described = batch.wait_for_transform_job(tut, name, quiet=True)
        returned_wall, returned = time.time(), time.perf_counter()
    finally:
        polling.LOCAL_MAX_POLL_SECONDS = local_cap
    if described["TransformJobStatus"] != "Completed":
        raise RuntimeError(f"{name}: {described.get('FailureReason')}")
    return returned_wall - described["TransformEndTime"].timestamp(), returned - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=4, help="transform jobs measured per way")
    parser.add_argument("--rows", type=int, default=60_000, help="applications per job")
    args = parser.parse_args()

    with private_local_sagemaker() as server:
        sm = server.client("sagemaker")
        server.create_loan_model(sm)
        csv = data.to_csv_rows(data.generate_applications(args.rows, seed=1))
        server.client("s3").put_object(Bucket=BUCKET, Key="in/applications.csv", Body=csv)
        # what the helper reads of the lesson's Tutorial: the SageMaker client, the backend
        tut = type("Tut", (), {"sagemaker": sm, "is_local": True, "endpoint_url": server.url})()
        results: dict[str, list[tuple[float, float]]] = {way: [] for way in WAYS}
        _run_job(tut, "bench-warm-up", f"s3://{BUCKET}/in/", "local")  # not counted
        for i in range(args.jobs):
            for way in WAYS:
                results[way].append(_run_job(tut, f"bench-{way}-{i}", f"s3://{BUCKET}/in/", way))

    print(f"local transform job, {args.rows:,} applications, {args.jobs} jobs per way (alternating)")
    print(f"{'polling':<34}{'seen late s: median':>20}{'min':>7}{'max':>7}"
          f"{'job s: median':>15}{'min':>7}{'max':>7}")
    for way, label in WAYS.items():
        late = [r[0] for r in results[way]]
        job = [r[1] for r in results[way]]
        print(f"{label:<34}{statistics.median(late):20.2f}{min(late):7.2f}{max(late):7.2f}"
              f"{statistics.median(job):15.2f}{min(job):7.2f}{max(job):7.2f}")
    ratio = statistics.median(r[1] for r in results["aws"]) / statistics.median(
        r[1] for r in results["local"]
    )
    print(f"job, AWS's pace / local cap (medians): {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
