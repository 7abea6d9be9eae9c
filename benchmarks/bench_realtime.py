"""Real-time inference on the local SageMaker, measured side by side in one run.

Prints, for the project's loan-approval model and the same request rows:

* create -> InService: median time from CreateEndpoint until DescribeEndpoint says InService
  (a real worker process start, model download from S3, extraction, model load and /ping);
* invoke p50: boto3 -> local SageMaker, a raw HTTP POST to the gateway (no boto3; signed once,
  as a signature stays valid for 15 minutes), a direct POST to the worker (the container
  contract, with the worker's secret), and the same handlers called in-process;
* throughput with 8 concurrent clients on the same two instances, through the local SageMaker
  and directly to the workers, with the same client on both sides: boto3 (each thread its own
  client; the direct side's client sends the very same signed request, redirected to the
  worker's ``/invocations`` just before it goes out), and a pooled raw HTTP client (one
  keep-alive connection per thread; the gateway side's request signed once). Rounds alternate
  between the two sides, so a change in machine load hits both;

and the ratios between them.

The gateway's own cost (issue #12's goal: at most 0.3 ms at the median) is "raw POST to
gateway" minus "direct POST to the worker", measured in pairs on a one-instance endpoint, so
both requests of a pair reach the very same worker process: ``--pairs`` times, the two requests
back to back, the order alternating from pair to pair (neither side always goes first), and the
figure is the median of the pairs' differences with its 95% confidence interval. Load from other
programs slows both requests of a pair alike and drops out of the difference; what it adds to
the gateway's two extra process wake-ups per request does not, so the gateway process's CPU time
per request is printed too (read from the process, not the wall clock; it also counts the
gateway's background threads). It includes
checking the request's signature. The same pairs are measured with a bare Python relay
(``bare_relay.py``: no checks, no routing) in the gateway's place, in blocks alternating with the
gateway's: what a Python process in the middle costs as such on this machine, so the gateway's
figure splits into that hop and the gateway's own work. The machine's load average is printed with the figures: on a
shared machine only the ratios and the paired figure mean something. The benchmark
starts its own local SageMaker (temporary state folder, free port) and stops it at the end, so
it never touches a server a notebook is using.

Run: ``python benchmarks/bench_realtime.py [--requests 300] [--pairs 3000] [--creates 3]
[--rounds 3]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from private_server import create_config, create_endpoint, latency_ms, private_local_sagemaker

CLIENTS = 8
#: Issue #12's goals: the gateway's added p50 and boto3's throughput ratio.
ADDED_P50_GOAL_MS = 0.3
THROUGHPUT_RATIO_GOAL = 0.8
#: Pairs sent with one signature (an even number: the order keeps alternating across blocks).
PAIRS_PER_SIGNATURE = 500


def _timed(fn: Any, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def _paired_differences(via_gateway: Any, direct: Any, pairs: int) -> list[float]:
    """``pairs`` differences "via gateway - direct", in seconds, each of two requests sent back
    to back; the order alternates from pair to pair, so neither side always goes first."""
    clock = time.perf_counter
    differences = []
    for index in range(pairs):
        first, second = (via_gateway, direct) if index % 2 == 0 else (direct, via_gateway)
        start = clock()
        first()
        middle = clock()
        second()
        end = clock()
        gateway_first = index % 2 == 0
        difference = (middle - start) - (end - middle)
        differences.append(difference if gateway_first else -difference)
    return differences


class _Relay:
    """A running ``bare_relay.py``: its port, and ``stop`` (it ends when its input closes)."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _start_relay(instance: dict[str, Any]) -> _Relay:
    """``bare_relay.py`` in front of ``instance`` (its URL, and its secret as added headers)."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("bare_relay.py")), instance["Url"]],
        env={**os.environ, "BARE_RELAY_HEADERS": json.dumps(instance["Headers"])},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        process.wait()
        raise RuntimeError(f"bare_relay.py did not start: {line!r}")
    return _Relay(process, int(line.split()[-1]))


def _median_interval(samples: list[float]) -> tuple[float, float]:
    """A 95% confidence interval of the median, from order statistics (distribution-free: the
    ranks n/2 -+ 1.96 sqrt(n)/2 of the sorted samples)."""
    ordered = sorted(samples)
    n = len(ordered)
    half_width = 1.96 * n**0.5 / 2
    low = max(0, int(n / 2 - half_width))
    high = min(n - 1, int(n / 2 + half_width + 0.5))
    return ordered[low], ordered[high]


def _median_ms(samples: list[float]) -> str:
    """``samples``' median in ms with its 95% interval, as the paired figures print it."""
    low, high = _median_interval(samples)
    median = statistics.median(samples)
    return f"{median * 1000:.3f} ms (95% CI {low * 1000:.3f} to {high * 1000:.3f} ms)"


def _throughput(worker: Any, seconds: float) -> float:
    """Requests per second with CLIENTS threads, each calling ``worker(thread_state)``."""
    stop = threading.Event()
    counts = [0] * CLIENTS
    barrier = threading.Barrier(CLIENTS + 1)

    def run(index: int) -> None:
        state: dict[str, Any] = {}
        worker(state)  # warm-up (connection, client)
        barrier.wait()
        while not stop.is_set():
            worker(state)
            counts[index] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    stop.wait(seconds)  # the measurement window
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per latency series")
    parser.add_argument(
        "--pairs", type=int, default=3000, help="gateway/direct pairs for the added latency"
    )
    parser.add_argument("--creates", type=int, default=3, help="endpoints created for the median")
    parser.add_argument("--seconds", type=float, default=2.0, help="throughput window")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds per side")
    args = parser.parse_args()

    import psutil

    from utils.artifact import import_handlers, invoke_handlers, safe_extract
    from utils.data import FEATURE_COLUMNS, load_german_credit

    with private_local_sagemaker() as server:
        sm, rt = server.client("sagemaker"), server.client("sagemaker-runtime")
        archive = server.create_loan_config(sm, instances=2)

        creates = []
        for i in range(args.creates):
            name = f"bench-create-{i}"
            creates.append(create_endpoint(sm, name))
            if i < args.creates - 1:
                sm.delete_endpoint(EndpointName=name)
        endpoint = f"bench-create-{args.creates - 1}"
        create_config(sm, "bench-one", instances=1)
        create_endpoint(sm, "bench-paired", "bench-one")

        rows = load_german_credit()[FEATURE_COLUMNS].head(5)
        body = rows.to_csv(header=False, index=False).encode()
        headers = {"Content-Type": "text/csv", "Accept": "application/json"}

        instances = server.local_route(f"/_local/endpoints/{endpoint}")["Instances"]
        worker = urllib.parse.urlsplit(instances[0]["Url"])
        gateway = urllib.parse.urlsplit(server.url)
        assert gateway.hostname and gateway.port and worker.hostname and worker.port

        def boto_call(state: dict[str, Any] | None = None) -> None:
            if state is not None and "c" not in state:  # each thread its own client, made once
                state["c"] = server.client("sagemaker-runtime")
            c = rt if state is None else state["c"]
            c.invoke_endpoint(
                EndpointName=endpoint, ContentType="text/csv", Accept="application/json", Body=body
            )["Body"].read()

        def raw_call(host: str, port: int, path: str, headers: dict[str, str]) -> Any:
            conn = http.client.HTTPConnection(host, port)

            def call(state: dict[str, Any] | None = None) -> None:
                if state is not None and "c" not in state:
                    state["c"] = http.client.HTTPConnection(host, port)
                c = conn if state is None else state["c"]
                c.request("POST", path, body=body, headers=headers)
                response = c.getresponse()
                response.read()
                assert response.status == 200, response.status

            return call

        invoke_path = f"/endpoints/{endpoint}/invocations"
        signed = server.signed_headers("POST", invoke_path, body, headers, "sagemaker")
        gateway_call = raw_call(gateway.hostname, gateway.port, invoke_path, signed)
        worker_headers = {**headers, **instances[0]["Headers"]}
        worker_call = raw_call(worker.hostname, worker.port, "/invocations", worker_headers)

        model_dir = server.state_dir / "inprocess"
        safe_extract(archive, model_dir)
        handlers = import_handlers(model_dir)
        model = handlers.model_fn(str(model_dir))
        text = body.decode()

        def in_process() -> None:
            invoke_handlers(handlers, model, text, "text/csv", "application/json")

        paths = {
            "boto3 -> local SageMaker": boto_call,
            "raw POST -> gateway": gateway_call,
            "direct POST -> worker": worker_call,
            "in-process handlers": in_process,
        }
        for fn in paths.values():
            _timed(fn, 20)  # warm-up
        # Interleaved (one call of each path per round), so a change in machine load hits
        # every series alike and the ratios stay fair on a shared machine.
        series: dict[str, list[float]] = {label: [] for label in paths}
        for _ in range(args.requests):
            for label, fn in paths.items():
                series[label].extend(_timed(fn, 1))

        # The gateway's added latency, in pairs on the one-instance endpoint (one worker).
        [paired_instance] = server.local_route("/_local/endpoints/bench-paired")["Instances"]
        paired_worker = urllib.parse.urlsplit(paired_instance["Url"])
        assert paired_worker.hostname and paired_worker.port
        paired_path = "/endpoints/bench-paired/invocations"
        paired_signed = server.signed_headers("POST", paired_path, body, headers, "sagemaker")
        paired_gateway = raw_call(gateway.hostname, gateway.port, paired_path, paired_signed)
        paired_direct = raw_call(
            paired_worker.hostname,
            paired_worker.port,
            "/invocations",
            {**headers, **paired_instance["Headers"]},
        )
        # The same pairs with a bare Python relay in the gateway's place: what a Python hop as
        # such costs here (bare_relay.py), measured in blocks alternating with the gateway's.
        relay = _start_relay(paired_instance)
        gateway_seconds = 0.0
        differences, relay_differences = [], []
        try:
            paired_relay = raw_call("127.0.0.1", relay.port, "/invocations", headers)
            _paired_differences(paired_gateway, paired_direct, 50)  # warm-up
            _paired_differences(paired_relay, paired_direct, 50)
            gateway_process = psutil.Process(server.gateway_pid())
            for start in range(0, args.pairs, PAIRS_PER_SIGNATURE):
                # A signature is valid for 15 minutes, and on a busy machine the pairs take
                # longer: each block gets a fresh one (the same headers, on the same connection).
                paired_signed.update(
                    server.signed_headers("POST", paired_path, body, headers, "sagemaker")
                )
                count = min(PAIRS_PER_SIGNATURE, args.pairs - start)
                cpu_before = gateway_process.cpu_times()
                differences += _paired_differences(paired_gateway, paired_direct, count)
                cpu_after = gateway_process.cpu_times()
                gateway_seconds += sum(cpu_after[:2]) - sum(cpu_before[:2])
                relay_differences += _paired_differences(paired_relay, paired_direct, count)
        finally:
            relay.stop()
        gateway_cpu = gateway_seconds / args.pairs
        load_paired = os.getloadavg()
        next_worker = iter(range(1 << 30))
        lock = threading.Lock()

        def pick_instance() -> dict[str, Any]:
            """The next instance, round-robin: the client threads spread over the instances."""
            with lock:
                return instances[next(next_worker) % len(instances)]  # type: ignore[no-any-return]

        def boto_worker(state: dict[str, Any]) -> None:
            """boto3's InvokeEndpoint, sent to a worker's /invocations instead of the gateway."""
            if "c" not in state:
                instance = pick_instance()
                client = server.client("sagemaker-runtime")
                target = instance["Url"].rstrip("/") + "/invocations"
                secret = instance["Headers"]

                def redirect(request: Any, **_: Any) -> None:
                    request.url = target
                    for key, value in secret.items():
                        request.headers[key] = value

                client.meta.events.register("before-send.sagemaker-runtime.InvokeEndpoint", redirect)
                state["c"] = client
            state["c"].invoke_endpoint(
                EndpointName=endpoint, ContentType="text/csv", Accept="application/json", Body=body
            )["Body"].read()

        gateway_host, gateway_port = gateway.hostname, gateway.port

        def raw_gateway(state: dict[str, Any]) -> None:
            if "c" not in state:
                state["c"] = http.client.HTTPConnection(gateway_host, gateway_port)
            state["c"].request("POST", invoke_path, body=body, headers=signed)
            response = state["c"].getresponse()
            response.read()
            assert response.status == 200, response.status

        def raw_worker(state: dict[str, Any]) -> None:
            if "c" not in state:
                instance = pick_instance()
                target = urllib.parse.urlsplit(instance["Url"])
                assert target.hostname
                state["c"] = http.client.HTTPConnection(target.hostname, target.port)
                state["h"] = {**headers, **instance["Headers"]}
            state["c"].request("POST", "/invocations", body=body, headers=state["h"])
            response = state["c"].getresponse()
            response.read()
            assert response.status == 200, response.status

        signed.update(server.signed_headers("POST", invoke_path, body, headers, "sagemaker"))
        sides = {
            "boto3": (boto_call, boto_worker),
            "raw HTTP": (raw_gateway, raw_worker),
        }
        rates: dict[str, tuple[list[float], list[float]]] = {}
        for kind, (via_gateway, to_worker) in sides.items():
            rates[kind] = ([], [])
            for _ in range(args.rounds):  # alternate: load changes hit both sides alike
                rates[kind][0].append(_throughput(via_gateway, args.seconds))
                rates[kind][1].append(_throughput(to_worker, args.seconds))
        load = os.getloadavg()

        print(f"local SageMaker real-time benchmark ({len(rows)} rows per request, 2 instances)")
        print(
            f"create -> InService median: {statistics.median(creates) * 1000:8.1f} ms  "
            f"(runs: {', '.join(f'{c * 1000:.0f}' for c in creates)} ms)"
        )
        print()
        print(f"{'invoke path':<28}{'p50 ms':>9}{'p90 ms':>9}")
        p50 = {}
        for label, samples in series.items():
            stats = latency_ms(samples)
            p50[label] = stats["p50"] / 1000
            print(f"{label:<28}{stats['p50']:9.3f}{stats['p90']:9.3f}")
        print()
        direct = p50["direct POST -> worker"]
        added = statistics.median(differences)
        print(
            f"gateway added latency (raw gateway - direct worker) p50: {_median_ms(differences)}, "
            f"the median of {len(differences)} back-to-back pairs, order alternating, one worker; "
            f"goal <= {ADDED_P50_GOAL_MS} ms: "
            f"{'met' if added * 1000 <= ADDED_P50_GOAL_MS else 'NOT met'}"
        )
        print(
            f"  gateway CPU time per request: {gateway_cpu * 1000:.3f} ms (its process's CPU "
            f"seconds over the pairs, all threads: includes background work that runs per "
            f"second, not per request, so it grows when requests are slow); load average then: "
            f"{load_paired[0]:.2f}"
        )
        relay_added = statistics.median(relay_differences)
        print(
            f"  a bare Python relay instead of the gateway (bare_relay.py: reads the request, "
            f"writes it on, relays the answer; no checks) adds {_median_ms(relay_differences)} "
            f"in the same pairs: "
            f"the cost of a Python hop as such here; the gateway's own work (guard, signature, "
            f"routing, bookkeeping) is the rest, {(added - relay_added) * 1000:.3f} ms (the difference "
            f"of the two medians, not paired itself)"
        )
        print(
            f"  difference of the two series' p50s above: "
            f"{(p50['raw POST -> gateway'] - direct) * 1000:.3f} ms (unpaired)"
        )
        print(
            f"boto3 via local SageMaker / direct worker: {p50['boto3 -> local SageMaker'] / direct:.2f}x"
        )
        print(
            f"direct worker / in-process handlers:       {direct / p50['in-process handlers']:.2f}x"
        )
        print()
        print(
            f"throughput, {CLIENTS} concurrent clients, 2 instances, {args.rounds} alternating "
            f"rounds of {args.seconds:g} s per side (req/s):"
        )
        print(f"  {'client':<10}{'via local SageMaker':>22}{'direct to workers':>20}{'ratio':>8}")
        ratios = {}
        for kind, (local_rates, direct_rates) in rates.items():
            ratios[kind] = ratio = sum(local_rates) / sum(direct_rates)
            print(
                f"  {kind:<10}{statistics.median(local_rates):22.1f}"
                f"{statistics.median(direct_rates):20.1f}{ratio:8.2f}"
            )
        print(
            "  (ratio: all requests served via the local SageMaker / all served directly; the "
            "boto3 row is the comparison with the same client on both sides)"
        )
        met = ratios["boto3"] >= THROUGHPUT_RATIO_GOAL
        print(f"  goal: boto3 ratio >= {THROUGHPUT_RATIO_GOAL}: {'met' if met else 'NOT met'}")
        print(
            f"\nload average during the run (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} "
            f"{load[2]:.2f} on {os.cpu_count()} CPUs"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
