"""Sustained load on the local SageMaker: 8 clients for 60 s on a one-instance endpoint.

For the project's loan-approval model on a one-instance real-time endpoint, ``--clients``
threads (each with its own boto3 client, retries off so every failure shows) call
InvokeEndpoint back to back for ``--seconds``. Printed side by side in one run:

* requests answered and failed (by error code), and the rate;
* latency p50, p90, p99 and max over the whole run;
* the gateway's resident memory (RSS): before the load (after a warm-up that loads what the
  first calls load), every ``--sample`` seconds during it, right after it and again once the
  last log lines and metrics are shipped, with the change and the change per 1,000 requests,
  so a leak (growth that keeps pace with the requests) shows apart from a one-off step;
* the worker's RSS before and after, for comparison, and the machine's load average.

The benchmark starts its own local SageMaker (temporary state folder, free port) and stops it.
It exits with status 1 if any request failed.

Run: ``python benchmarks/bench_load.py [--clients 8] [--seconds 60]``
"""

from __future__ import annotations

import argparse
import collections
import os
import threading
import time
from typing import Any

from private_server import latency_ms, private_local_sagemaker

MB = 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load")
    parser.add_argument("--warmup", type=int, default=200, help="calls before 'before'")
    parser.add_argument("--sample", type=float, default=10.0, help="RSS sampling interval, s")
    args = parser.parse_args()

    import psutil
    from botocore.exceptions import ClientError

    from utils.data import FEATURE_COLUMNS, load_german_credit
    from utils.local_sagemaker.wire import daemon

    with private_local_sagemaker() as server:
        state = daemon.status()
        assert state is not None
        gateway = psutil.Process(int(state["pid"]))
        sm = server.client("sagemaker")
        server.deploy_loan_endpoint(sm, "bench-load")
        [instance] = server.local_route("/_local/endpoints/bench-load")["Instances"]
        worker = psutil.Process(int(instance["Pid"]))
        body = load_german_credit()[FEATURE_COLUMNS].head(5).to_csv(header=False, index=False)
        payload = body.encode()
        no_retries = {"retries": {"max_attempts": 1, "mode": "standard"}}
        clients = [server.client("sagemaker-runtime", **no_retries) for _ in range(args.clients)]

        def call(client: Any) -> None:
            client.invoke_endpoint(
                EndpointName="bench-load",
                ContentType="text/csv",
                Accept="application/json",
                Body=payload,
            )["Body"].read()

        for i in range(args.warmup):  # every client once, then the rest on the first
            call(clients[i % len(clients)])
        server.local_route("/_local/flush")  # ship the warm-up's log lines and metrics
        rss_start = gateway.memory_info().rss
        worker_start = worker.memory_info().rss

        stop = threading.Event()
        latencies: list[list[float]] = [[] for _ in clients]
        errors: collections.Counter[str] = collections.Counter()
        errors_lock = threading.Lock()
        barrier = threading.Barrier(len(clients) + 1)

        def run(index: int) -> None:
            client = clients[index]
            barrier.wait()
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    call(client)
                except ClientError as err:
                    with errors_lock:
                        errors[str(err.response["Error"]["Code"])] += 1
                    continue
                except Exception as exc:  # a connection error is an error too
                    with errors_lock:
                        errors[type(exc).__name__] += 1
                    continue
                latencies[index].append(time.perf_counter() - started)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
        for thread in threads:
            thread.start()
        barrier.wait()
        began = time.perf_counter()
        samples: list[tuple[float, int, int]] = []
        deadline = began + args.seconds
        while (left := deadline - time.perf_counter()) > 0:
            stop.wait(min(args.sample, left))  # the sampling interval of a fixed-length run
            done = sum(len(series) for series in latencies)
            samples.append((time.perf_counter() - began, done, gateway.memory_info().rss))
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        rss_end = gateway.memory_info().rss
        server.local_route("/_local/flush")  # the run's last log lines and metrics shipped
        rss_flushed = gateway.memory_info().rss
        worker_end = worker.memory_info().rss
        status = sm.describe_endpoint(EndpointName="bench-load")["EndpointStatus"]
        load = os.getloadavg()

    every = [x for series in latencies for x in series]
    failed = sum(errors.values())
    print(f"load: {len(clients)} clients for {elapsed:.1f} s on a one-instance endpoint")
    print(
        f"{'requests':<26} {len(every) + failed} ({len(every)} answered, {failed} failed: "
        f"{', '.join(f'{c} x{n}' for c, n in errors.most_common()) or 'none'})"
    )
    print(f"{'rate':<26} {len(every) / elapsed:7.1f} requests/s")
    if every:
        stats = latency_ms(every)
        print(
            f"{'latency':<26} p50 {stats['p50']:6.1f} ms   p90 {stats['p90']:6.1f} ms   "
            f"p99 {stats['p99']:6.1f} ms   max {stats['max']:6.1f} ms"
        )
    print(f"{'endpoint after the load':<26} {status}")
    print(f"{'gateway RSS before':<26} {rss_start / MB:7.1f} MB (after {args.warmup} warm-up calls)")
    for at, done, rss in samples:
        print(f"{f'  at {at:4.0f} s':<26} {rss / MB:7.1f} MB ({done} requests)")
    print(f"{'gateway RSS after':<26} {rss_end / MB:7.1f} MB")
    print(f"{'  after shipping logs':<26} {rss_flushed / MB:7.1f} MB")
    growth = rss_flushed - rss_start
    per_thousand = growth / MB / max(1, len(every)) * 1000
    print(
        f"{'gateway RSS change':<26} {growth / MB:+7.1f} MB ({growth / rss_start:+.1%}; "
        f"{per_thousand:+.3f} MB per 1,000 requests)"
    )
    if len(samples) >= 2:
        # growth over the second half of the run against the first: a leak keeps growing
        half = len(samples) // 2
        first = samples[half - 1][2] - rss_start if half else 0
        second = samples[-1][2] - samples[half - 1][2]
        print(
            f"{'  first half / second half':<26} {first / MB:+7.1f} MB / {second / MB:+7.1f} MB"
        )
    print(
        f"{'worker RSS before / after':<26} {worker_start / MB:7.1f} MB / {worker_end / MB:7.1f} MB"
    )
    print(
        f"load average at the end (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"on {os.cpu_count()} CPUs (other programs' load slows the rate, not the memory)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
