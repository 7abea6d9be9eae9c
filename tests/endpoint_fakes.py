"""Scripted stand-ins for the SageMaker and SageMaker runtime clients, shared by the unit tests
of the endpoint helpers (waiting, clean-up, latency, concurrency): no server, no network.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

from botocore.exceptions import ClientError


def not_found(kind: str, name: str) -> ClientError:
    message = f'Could not find {kind} "arn:aws:sagemaker:us-east-1:123456789012:{kind}/{name}".'
    return ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "Describe")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


#: Where a stand-in client says its requests go: AWS's address, so waits keep AWS's pace.
AWS_META = SimpleNamespace(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com")


class ScriptedSageMaker:
    """DescribeEndpoint answers from a script of statuses (an exception ends the endpoint)."""

    meta = AWS_META

    def __init__(self, statuses: list[Any], reason: str = "") -> None:
        self.statuses = list(statuses)
        self.reason = reason
        self.deleted: list[tuple[str, str]] = []
        self.missing: set[tuple[str, str]] = set()

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if isinstance(status, Exception):
            raise status
        out = {"EndpointName": EndpointName, "EndpointStatus": status}
        if status == "Failed":
            out["FailureReason"] = self.reason
        return out

    def _delete(self, kind: str, name: str) -> None:
        if (kind, name) in self.missing:
            raise not_found(kind, name)
        self.deleted.append((kind, name))

    def delete_endpoint(self, EndpointName: str) -> None:
        self._delete("endpoint", EndpointName)

    def delete_endpoint_config(self, EndpointConfigName: str) -> None:
        self._delete("endpoint-config", EndpointConfigName)

    def delete_model(self, ModelName: str) -> None:
        self._delete("model", ModelName)


class FakeBody:
    def read(self) -> bytes:
        return b"0.1,approve\n"


class FakeRuntime:
    """InvokeEndpoint that records calls (thread-safe) and fails every ``fail_every``-th call."""

    def __init__(self, fail_every: int = 0) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.fail_every = fail_every

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            self.calls.append(kwargs)
            count = len(self.calls)
        if self.fail_every and count % self.fail_every == 0:
            raise RuntimeError("ThrottlingException")
        return {"Body": FakeBody(), "InvokedProductionVariant": "AllTraffic"}


class ThrottlingRuntime:
    """Admits ``slots`` requests at a time (each takes ``seconds``); throttles the rest at once."""

    exceptions = None

    def __init__(self, slots: int, seconds: float = 0.2) -> None:
        self.slots = threading.Semaphore(slots)
        self.seconds = seconds

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        if not self.slots.acquire(blocking=False):
            raise ClientError(
                {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                "InvokeEndpoint",
            )
        try:
            time.sleep(self.seconds)
            return {"Body": FakeBody()}
        finally:
            self.slots.release()
