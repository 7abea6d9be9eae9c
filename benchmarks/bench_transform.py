"""Batch transform on the local SageMaker beside in-process parse-and-predict, in one run.

Prints, for the project's loan-approval model and the same 200,000 synthetic applications:

* in-process: the artifact's own ``input_fn`` (CSV parsing with validation) -> ``predict_fn``
  -> ``output_fn`` on all rows at once (the best of two runs), in one Python process of its own
  in a session of its own, as every instance runs: the upper bound for one core;
* transform jobs on the local SageMaker, timed as DescribeTransformJob reports them, from
  CreationTime to TransformEndTime (worker start, model download and load, S3 reads, requests,
  ``.out`` uploads): the plain model-ready input, the same with two instances and larger
  payloads, and the notebook's ID-column job (InputFilter, JoinSource and OutputFilter on every
  record);

and each job's rate as a fraction of the in-process rate (goals: at least 0.5 for the best job, at
least 1.5 for the plain job on two instances), with the load average before and after. The
benchmark starts its own local SageMaker (temporary state folder, free port) and stops it at the
end.

Fairness. Where Linux groups tasks by session (autogroup), each session gets one share of a busy
machine, and every instance, batch agent and the gateway run in sessions of their own
(ARCHITECTURE.md, "Instances are sessions"). The in-process run therefore gets a process and a
session of its own too, rather than sharing this benchmark's. On a busy machine a two-instance
job still gets two shares (three with the gateway) where the in-process run gets one, as two
machines would on AWS: its ratio then says more about the other load than about the local
SageMaker. Compare ratios taken at a load average below the number of cores; ``--phases`` also
prints what the CPU-seconds allow, which the load moves less (it still inflates them: processes
that share cores with others get less done per CPU-second): the in-process CPU-seconds over the
job's CPU-seconds spread over all the machine's cores, a bound that only a job keeping every core
busy can reach (a one-instance job cannot). The job is polled every half second,
so that the polling costs the machine next to nothing; its time is the service's own.

Run: ``python benchmarks/bench_transform.py [--rows 200000] [--files 8] [--phases]``
(``--phases`` prints each job's start-up time, thread-seconds per phase, the CPU-seconds of
the gateway beside those of the processes it started: instances, batch agents, and the bound
those CPU-seconds set on the ratio).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
from private_server import LOAN, private_local_sagemaker

#: DescribeTransformJob poll interval (seconds). The job's time is DescribeTransformJob's own
#: (CreationTime to TransformEndTime), so polling often would add nothing but load.
JOB_POLL_SECONDS = 0.5


def _cpu_seconds(gateway: psutil.Process) -> tuple[float, float, set[int]]:
    """CPU-seconds so far of the gateway itself and of the processes it started (instances,
    batch agents, worker templates; an exited one counts in its parent's children times once
    reaped), and the pids of those still running."""
    own = gateway.cpu_times()
    started = own.children_user + own.children_system
    pids = set()
    for child in gateway.children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        started += times.user + times.system + times.children_user + times.children_system
        pids.add(child.pid)
    return own.user + own.system, started, pids


def _cpu_after(gateway: psutil.Process, running_before: set[int]) -> tuple[float, float]:
    """:func:`_cpu_seconds` once the job's processes have exited and been reaped."""
    deadline = time.monotonic() + 10
    while True:
        own, started, running = _cpu_seconds(gateway)
        if running <= running_before or time.monotonic() > deadline:
            return own, started
        time.sleep(0.05)


def in_process(model_dir: str, data_file: str) -> dict[str, float]:
    """The container's handler chain on every row of ``data_file``, in this process: the best
    wall time and CPU time of two runs, and the number of output lines."""
    from utils.artifact import import_handlers

    handlers = import_handlers(model_dir)
    model = handlers.model_fn(model_dir)
    with open(data_file, encoding="utf-8") as handle:
        text = handle.read()
    best = cpu = float("inf")
    for _ in range(2):
        start, cpu_start = time.perf_counter(), time.process_time()
        frame = handlers.input_fn(text, "text/csv")
        out, _ = handlers.output_fn(handlers.predict_fn(frame, model), "text/csv")
        best = min(best, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - cpu_start)
    return {"wall": best, "cpu": cpu, "lines": out.count("\n")}


def in_process_apart(model_dir: Path, data_file: Path) -> dict[str, float]:
    """:func:`in_process` in a Python process and session of its own, as an instance runs."""
    done = subprocess.run(
        [sys.executable, __file__, "--in-process", str(model_dir), str(data_file)],
        check=True,
        capture_output=True,
        text=True,
        start_new_session=True,  # scheduled like an instance (see the module docstring)
    )
    result: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return result


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--phases", action="store_true", help="print where each job spent time")
    parser.add_argument(
        "--in-process", nargs=2, metavar=("MODEL_DIR", "CSV"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.in_process:
        print(json.dumps(in_process(*args.in_process)))
        return 0
    print(_load())

    from utils.artifact import remove_tree, safe_extract
    from utils.batch import job_seconds, wait_for_transform_job
    from utils.data import FEATURE_COLUMNS, ID_COLUMN, generate_applications

    with private_local_sagemaker() as server:
        sm, s3 = server.client("sagemaker"), server.client("s3")
        gateway = psutil.Process(server.gateway_pid())
        archive = server.create_loan_model(sm)
        # what utils.batch's waiter needs of a tutorial session: the client and the server's URL
        session = SimpleNamespace(sagemaker=sm, endpoint_url=server.url)

        apps = generate_applications(args.rows, seed=0)
        plain = apps[FEATURE_COLUMNS].to_csv(header=False, index=False, lineterminator="\n")
        with_id = apps[[ID_COLUMN, *FEATURE_COLUMNS]].to_csv(
            header=False, index=False, lineterminator="\n"
        )
        for prefix, text in (("plain", plain), ("ids", with_id)):
            lines = text.splitlines(keepends=True)
            size = -(-len(lines) // args.files)
            for n in range(args.files):
                part = "".join(lines[n * size : (n + 1) * size]).encode()
                s3.put_object(Bucket="bench", Key=f"{prefix}/part-{n:02d}.csv", Body=part)
        print(
            f"{args.rows:,} synthetic applications in {args.files} files, "
            f"{len(plain) / 1e6:.1f} MB (model-ready) / {len(with_id) / 1e6:.1f} MB (with id)"
        )

        # In-process: the container's handler chain on every row, in a process of its own.
        model_dir = server.state_dir / "opt-ml-model"
        safe_extract(archive, model_dir)
        data_file = server.state_dir / "plain.csv"
        data_file.write_text(plain, encoding="utf-8")
        baseline = in_process_apart(model_dir, data_file)
        assert baseline["lines"] == args.rows
        best, cpu = baseline["wall"], baseline["cpu"]
        in_process_rate = args.rows / best
        cores = os.cpu_count() or 1
        print(
            f"\nin-process input_fn -> predict_fn -> output_fn: {best:.2f} s, "
            f"{in_process_rate:,.0f} rows/s" + (f" (CPU {cpu:.2f} s)" if args.phases else "")
        )

        base: dict[str, Any] = {
            "ModelName": LOAN,
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": ""}},
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            "TransformOutput": {"S3OutputPath": "", "Accept": "text/csv", "AssembleWith": "Line"},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        }
        jobs: list[tuple[str, str, dict[str, Any], int]] = [
            ("defaults: 1 instance, 6 MB, 1 concurrent", "plain", {}, 1),
            (
                "2 instances, 20 MB, 2 concurrent",
                "plain",
                {"MaxPayloadInMB": 20, "MaxConcurrentTransforms": 2},
                2,
            ),
            (
                "id column: filters + join, 2 inst., 20 MB, 2 conc.",
                "ids",
                {
                    "MaxPayloadInMB": 20,
                    "MaxConcurrentTransforms": 2,
                    "DataProcessing": {
                        "InputFilter": "$[1:]",
                        "JoinSource": "Input",
                        "OutputFilter": "$[0,-1]",
                    },
                },
                2,
            ),
        ]
        print(f"\n{'transform job':<52} {'job s':>7} {'rows/s':>9} {'vs in-process':>14}")
        ratios = []
        for n, (label, prefix, extra, instances) in enumerate(jobs):
            request = {**base, **extra, "TransformJobName": f"bench-{n}"}
            request["TransformInput"] = {
                **base["TransformInput"],
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://bench/{prefix}/"}
                },
            }
            request["TransformOutput"] = {
                **base["TransformOutput"],
                "S3OutputPath": f"s3://bench/out-{n}/",
            }
            request["TransformResources"] = {
                "InstanceType": "ml.m5.large",
                "InstanceCount": instances,
            }
            gateway_cpu, started_cpu, alive_before = _cpu_seconds(gateway)
            sm.create_transform_job(**request)
            described = wait_for_transform_job(
                session, request["TransformJobName"], quiet=True, max_poll_seconds=JOB_POLL_SECONDS
            )
            gateway_after, started_after = _cpu_after(gateway, alive_before)
            if described["TransformJobStatus"] != "Completed":
                print(
                    f"{label}: {described['TransformJobStatus']} {described.get('FailureReason')}"
                )
                return 1
            body = io.BytesIO()
            s3.download_fileobj("bench", f"out-{n}/part-00.csv.out", body)
            assert body.getvalue().count(b"\n") == -(-args.rows // args.files)
            wall, running = job_seconds(described)
            rate = args.rows / wall
            phases = server.local_route(f"/_local/transform-jobs/bench-{n}")["PhaseSeconds"]
            if args.phases:
                job_cpu = (gateway_after - gateway_cpu) + (started_after - started_cpu)
                print(
                    f"    startup {wall - running:.2f} s, running {running:.2f} s, "
                    f"thread-seconds {phases}"
                )
                print(
                    f"    CPU-seconds: gateway {gateway_after - gateway_cpu:.2f}, instances and "
                    f"agents {started_after - started_cpu:.2f}; with all {cores} cores busy at most "
                    f"{cpu / (job_cpu / cores):.2f}x"
                )
            ratios.append(rate / in_process_rate)
            print(f"{label:<52} {wall:>7.2f} {rate:>9,.0f} {rate / in_process_rate:>13.2f}x")
        print(f"\nbest transform / in-process: {max(ratios):.2f} (goal: at least 0.50)")
        print(f"two instances / in-process: {ratios[1]:.2f} (goal: at least 1.50)")
        print(_load())
        remove_tree(model_dir)
        return 0


if __name__ == "__main__":
    sys.exit(main())
