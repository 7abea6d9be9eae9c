"""Serverless inference on the local SageMaker, measured side by side in one run.

Prints, for the project's loan-approval model on a 2 GB serverless endpoint:

* cold start: median latency of a request that finds no warm worker (a real process start, the
  model load and the health check, inside the request), after the endpoint scaled to zero;
* warm p50: the same request on a warm worker; and the ratio cold / warm;
* a burst at 2 x MaxConcurrency (all requests at once, botocore retries off): how many got a
  result, how many a ThrottlingException, and how many hung (no answer within 70 s; goal 0).

The benchmark starts its own local SageMaker (temporary state folder, free port, a 1 s idle
timeout so each cold start is quick to reach) and stops it at the end.

Run: ``python benchmarks/bench_serverless.py [--colds 5] [--warm 200] [--max-concurrency 4]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor, wait

from private_server import latency_ms, private_local_sagemaker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--colds", type=int, default=5)
    parser.add_argument("--warm", type=int, default=200)
    parser.add_argument("--max-concurrency", type=int, default=4)
    args = parser.parse_args()

    from utils import data

    # A 1 s idle timeout so that each cold start is quick to reach.
    with private_local_sagemaker(LOCAL_SAGEMAKER_SERVERLESS_IDLE_SECONDS="1") as server:
        # retries off: a throttle must show as a throttle, not be retried away
        config = {
            "retries": {"max_attempts": 1, "mode": "standard"},
            "read_timeout": 70,
            "max_pool_connections": 64,
        }
        sm, runtime = (
            server.client("sagemaker", **config),
            server.client("sagemaker-runtime", **config),
        )
        serverless = {"MemorySizeInMB": 2048, "MaxConcurrency": args.max_concurrency}
        server.deploy_loan_endpoint(sm, "bench-sl", serverless=serverless)
        body = data.to_csv_rows(data.generate_applications(1, seed=1))

        def invoke() -> float:
            start = time.perf_counter()
            runtime.invoke_endpoint(EndpointName="bench-sl", ContentType="text/csv", Body=body)
            return time.perf_counter() - start

        def warm_workers() -> int:
            return len(server.local_route("/_local/endpoints/bench-sl")["Instances"])

        colds = []
        for _ in range(args.colds):
            while warm_workers():  # poll until the idle timeout scaled the endpoint to zero
                time.sleep(0.05)
            colds.append(invoke())
        warms = [invoke() for _ in range(args.warm)]

        def call() -> str:
            try:
                runtime.invoke_endpoint(EndpointName="bench-sl", ContentType="text/csv", Body=body)
                return "result"
            except runtime.exceptions.ClientError as err:
                return err.response["Error"]["Code"]

        burst = 2 * args.max_concurrency
        while warm_workers():
            time.sleep(0.05)  # start the burst from zero: every admitted request is a cold start
        with ThreadPoolExecutor(max_workers=burst) as pool:
            futures = [pool.submit(call) for _ in range(burst)]
            done, pending = wait(futures, timeout=75)
        outcomes = [f.result() for f in done]
        results = outcomes.count("result")
        throttles = outcomes.count("ThrottlingException")
        other = len(outcomes) - results - throttles

        cold_median = statistics.median(colds)
        warm = latency_ms(warms)
        warm_p50 = warm["p50"] / 1000
        print(f"serverless endpoint, 2048 MB, MaxConcurrency {args.max_concurrency}")
        print(
            f"{'cold start (median of ' + str(args.colds) + ')':<34}{cold_median * 1000:>10.1f} ms"
        )
        print(f"{'warm p50 (' + str(args.warm) + ' requests)':<34}{warm_p50 * 1000:>10.1f} ms")
        print(f"{'warm p95':<34}{warm['p95']:>10.1f} ms")
        print(f"{'cold / warm':<34}{cold_median / warm_p50:>10.0f} x")
        print(f"burst of {burst} at once (2 x MaxConcurrency, botocore retries off):")
        print(
            f"  results {results}   throttles {throttles}   other errors {other}   hung {len(pending)}"
        )
        sm.delete_endpoint(EndpointName="bench-sl")
        return 0 if not pending else 1


if __name__ == "__main__":
    raise SystemExit(main())
