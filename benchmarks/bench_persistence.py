"""What saving and restoring the local account costs, side by side in one run.

A private local SageMaker gets a course-sized account: S3 objects (``--objects``, 64 KB each),
log events (``--events``), metric data points (``--points``) and one endpoint. Printed:

* ``stop`` and ``start`` with that account saved, against the same with an empty account;
* how long after a change it is on disk (what a ``kill -9`` of the gateway can lose at most),
  right after the account was filled (the saver still writing it) and once it caught up;
* the size of the saved state;
* how long the restored endpoint takes to be InService again after ``start``.

    .venv/bin/python benchmarks/bench_persistence.py [--objects 200] [--events 20000] [--points 2000]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from private_server import BUCKET, private_local_sagemaker, wait_for_status


def timed(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - started


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def saved_within(s3: object, state_dir: Path, bucket: str, timeout: float = 30.0) -> float:
    """Create a bucket and poll the saved S3 part until it names it: the loss window."""
    s3.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    part = state_dir / "saved" / "s3.json"
    while time.monotonic() < deadline:
        if part.exists() and bucket in part.read_text():
            return time.perf_counter() - started
        time.sleep(0.01)  # polling the file the saver writes
    raise TimeoutError("the change never reached the disk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--points", type=int, default=2_000)
    args = parser.parse_args()

    from utils.local_sagemaker.wire import daemon

    with private_local_sagemaker() as server:
        empty_stop = timed(daemon.stop)
        empty_start = timed(daemon.ensure_running)
        server.url = daemon.ensure_running()  # a new port after each start

        s3 = server.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        for index in range(args.objects):
            s3.put_object(
                Bucket=BUCKET, Key=f"data/part-{index:05d}.bin", Body=os.urandom(64 * 1024)
            )
        logs = server.client("logs")
        logs.create_log_group(logGroupName="/bench")
        logs.create_log_stream(logGroupName="/bench", logStreamName="s")
        now_ms = int(time.time() * 1000)
        for start in range(0, args.events, 10_000):
            batch = [
                {"timestamp": now_ms + i, "message": f"line {i} of the benchmark's log"}
                for i in range(start, min(args.events, start + 10_000))
            ]
            logs.put_log_events(logGroupName="/bench", logStreamName="s", logEvents=batch)
        cloudwatch = server.client("cloudwatch")
        for start in range(0, args.points, 1000):
            cloudwatch.put_metric_data(
                Namespace="Bench",
                MetricData=[
                    {"MetricName": "Value", "Value": float(i)}
                    for i in range(start, min(args.points, start + 1000))
                ],
            )
        sm = server.client("sagemaker")
        server.deploy_loan_endpoint(sm, "bench", image="sklearn-inference:1.4-2")
        # right after the account was filled the saver is still writing it: a change waits for
        # that; once it has caught up, a change waits for the next look (about a second)
        window = saved_within(s3, server.state_dir, "bench-loss-window")
        quiet_window = saved_within(s3, server.state_dir, "bench-loss-window-quiet")

        full_stop = timed(daemon.stop)
        size = folder_size(server.state_dir / "saved")
        full_start = timed(daemon.ensure_running)
        server.url = daemon.ensure_running()
        sm = server.client("sagemaker")
        started = time.perf_counter()
        wait_for_status(sm, "bench")
        back = time.perf_counter() - started
        log_file = server.state_dir / "gateway.log"
        while "metric data and log events restored" not in log_file.read_text():
            time.sleep(0.05)  # polling the log for the background restore's end
        log = log_file.read_text().splitlines()
        restored = [line for line in log if "state restored" in line][-1]
        history = [line for line in log if "metric data and log events restored" in line][-1]
        assert len(
            server.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="data/")["Contents"]
        ) == min(args.objects, 1000)

    print(
        f"account: {args.objects} S3 objects of 64 KB, {args.events} log events, "
        f"{args.points} metric points, 1 endpoint; saved state {size / 1e6:.1f} MB"
    )
    print(f"{'':24}{'empty account':>15}{'this account':>15}")
    print(f"{'stop (saves last)':24}{empty_stop:>14.2f}s{full_stop:>14.2f}s")
    print(f"{'start (restores)':24}{empty_start:>14.2f}s{full_start:>14.2f}s")
    print(
        f"a change is on disk after {window:.2f} s right after the account was filled, "
        f"{quiet_window:.2f} s once the saver caught up (what a kill -9 can lose at most)"
    )
    print(f"the endpoint is InService again {back:.2f} s after start returned")
    print("restore, part by part (from the server log):")
    print("  " + restored)
    print("  " + history)


if __name__ == "__main__":
    main()
