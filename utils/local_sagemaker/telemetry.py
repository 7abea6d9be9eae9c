"""CloudWatch Logs and metrics for endpoints, shipped to moto through the gateway's own port.

The local SageMaker talks to moto only as any AWS client would: boto3 clients pointed at the
gateway URL. Shipping happens on background threads so the invoke path only appends to a list:

* :class:`LogShipper` groups container output by stream and calls ``put_log_events``;
* :class:`MetricsPublisher` aggregates per-invocation numbers into ``StatisticValues`` and calls
  ``put_metric_data`` (namespace ``AWS/SageMaker``, dimensions EndpointName and VariantName).

Neither uses a timer: each flusher sleeps on a condition until there is something to send, sends
everything queued so far in one batch, and repeats; under load batches grow by themselves.
:meth:`flush` lets callers (tests, the ``/_local/flush`` route) wait until everything queued has
reached moto.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from . import config
from .credentials import LocalCredentials


def make_client(service: str, url: str, credentials: LocalCredentials) -> Any:
    """A boto3 client for ``service`` on the local gateway, signing with the local key."""
    return boto3.session.Session().client(
        service,
        endpoint_url=url,
        region_name=config.REGION,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        config=Config(
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=5,
            user_agent_appid=config.SERVICE_APP_ID,
        ),
    )


class _Flusher:
    """A queue drained in batches by one daemon thread; ``flush`` waits for the drain.

    After each send the thread waits up to ``min_interval`` for more items (or for a ``flush``)
    before sending again: shipping costs CPU in the gateway process, and doing it once per
    request would slow the very invocations being measured. CloudWatch aggregates per minute
    anyway, so a one-second batching window changes nothing a learner can see.
    """

    def __init__(self, name: str, min_interval: float = 1.0) -> None:
        self._items: list[Any] = []
        self._cond = threading.Condition()
        self._queued = 0
        self._done = 0
        self._urgent = False
        self._stopped = False
        self._min_interval = min_interval
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> None:
        with self._cond:
            self._items.append(item)
            self._queued += 1
            if len(self._items) == 1:
                # Only the first item wakes the flusher: it waits for "something to send", then
                # for its batching window, which further items do not shorten. Waking it on every
                # item would cost the request path a thread switch each time.
                self._cond.notify_all()

    def _run(self) -> None:
        last_send = float("-inf")
        while True:
            with self._cond:
                while not self._items and not self._stopped:
                    self._cond.wait()
                while not self._stopped and not self._urgent:
                    remaining = last_send + self._min_interval - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)  # batching window; a flush() cuts it short
                if self._stopped and not self._items:
                    return
                batch, self._items = self._items, []
                self._urgent = False
            try:
                if batch:
                    self._send(batch)
            except Exception as exc:  # moto down or a bad batch: report, never kill the thread
                print(f"local SageMaker: could not ship {type(self).__name__} batch: {exc!r}")
            last_send = time.monotonic()
            with self._cond:
                self._done += len(batch)
                self._cond.notify_all()

    def _send(self, batch: list[Any]) -> None:
        raise NotImplementedError

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued before this call has been sent (or failed)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._queued
            self._urgent = True
            self._cond.notify_all()
            while self._done < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()


class LogShipper(_Flusher):
    """Ships container log lines to CloudWatch Logs (one stream per instance)."""

    #: put_log_events limits: 10,000 events and 1 MiB (26 bytes overhead per event) per call.
    MAX_EVENTS = 10_000
    MAX_BYTES = 1_048_576

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        self._client_factory = client_factory
        self._client: Any = None
        self._known: set[tuple[str, str | None]] = set()
        super().__init__("log-shipper")

    def ensure_stream(self, group: str, stream: str | None = None) -> None:
        """Queue creation of a log group (and stream) so they exist before the first line."""
        self._put(("create", group, stream, 0, ""))

    def emit(self, group: str, stream: str, message: str, timestamp_ms: int | None = None) -> None:
        """Queue one log event."""
        ts = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
        self._put(("event", group, stream, ts, message))

    def _create(self, client: Any, group: str, stream: str | None) -> None:
        if (group, None) not in self._known:
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_group(logGroupName=group)
            self._known.add((group, None))
        if stream and (group, stream) not in self._known:
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_stream(logGroupName=group, logStreamName=stream)
            self._known.add((group, stream))

    def _send(self, batch: list[Any]) -> None:
        if self._client is None:
            self._client = self._client_factory()
        client = self._client
        by_stream: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for kind, group, stream, ts, message in batch:
            if kind == "create":
                self._create(client, group, stream)
            else:
                self._create(client, group, stream)
                by_stream[(group, stream)].append({"timestamp": ts, "message": message or " "})
        for (group, stream), events in by_stream.items():
            events.sort(key=lambda e: e["timestamp"])
            chunk: list[dict[str, Any]] = []
            size = 0
            for event in events:
                event_size = len(event["message"].encode()) + 26
                if chunk and (len(chunk) >= self.MAX_EVENTS or size + event_size > self.MAX_BYTES):
                    client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=chunk)
                    chunk, size = [], 0
                chunk.append(event)
                size += event_size
            if chunk:
                client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=chunk)


class MetricsPublisher(_Flusher):
    """Publishes the per-invocation endpoint metrics of ``AWS/SageMaker``."""

    NAMESPACE = "AWS/SageMaker"

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        self._client_factory = client_factory
        self._client: Any = None
        super().__init__("metrics-publisher")

    def record_invocation(
        self,
        endpoint: str,
        variant: str,
        model_latency_us: int | None,
        overhead_latency_us: int,
        status: int,
    ) -> None:
        """Queue one invocation: its latencies (microseconds, as AWS reports them) and outcome."""
        self._put((endpoint, variant, model_latency_us, overhead_latency_us, status, time.time()))

    def _send(self, batch: list[Any]) -> None:
        if self._client is None:
            self._client = self._client_factory()
        stats: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
        for endpoint, variant, model_us, overhead_us, status, _ in batch:
            key = (endpoint, variant)
            stats[(*key, "Invocations", "None")].append(1)
            stats[(*key, "Invocation4XXErrors", "None")].append(1 if 400 <= status < 500 else 0)
            stats[(*key, "Invocation5XXErrors", "None")].append(
                1 if status >= 500 or status == 0 else 0
            )
            if model_us is not None:
                stats[(*key, "ModelLatency", "Microseconds")].append(model_us)
            stats[(*key, "OverheadLatency", "Microseconds")].append(overhead_us)
        data = []
        for (endpoint, variant, name, unit), values in stats.items():
            data.append(
                {
                    "MetricName": name,
                    "Dimensions": [
                        {"Name": "EndpointName", "Value": endpoint},
                        {"Name": "VariantName", "Value": variant},
                    ],
                    "StatisticValues": {
                        "SampleCount": float(len(values)),
                        "Sum": float(sum(values)),
                        "Minimum": float(min(values)),
                        "Maximum": float(max(values)),
                    },
                    "Unit": unit,
                }
            )
        for start in range(0, len(data), 500):
            self._client.put_metric_data(
                Namespace=self.NAMESPACE, MetricData=data[start : start + 500]
            )
