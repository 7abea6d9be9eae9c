"""The endpoint registry's state is read and written under its one lock.

The runtime looks endpoints up on every request thread while control-plane calls add and remove
them; a read outside the lock can see the dictionary mid-change. These tests swap the registry's
lock for one that counts how often it is taken, so they check the rule without timing anything.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any, cast

from utils.local_sagemaker.services.endpoints.registry import Registry


class CountingLock:
    """A re-entrant lock that counts how many times it was entered."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.entered = 0

    def __enter__(self) -> CountingLock:
        self._lock.acquire()
        self.entered += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def registry_with(names: list[str]) -> tuple[Registry, CountingLock]:
    registry = Registry(deployer=cast(Any, None), ensure_log_stream=lambda *_: None)
    lock = CountingLock()
    registry.lock = cast(Any, lock)
    for name in names:
        registry.endpoints[name.lower()] = cast(Any, SimpleNamespace(name=name))
    return registry, lock


def test_endpoint_for_invoke_reads_under_the_lock() -> None:
    registry, lock = registry_with(["Churn-Endpoint"])
    found = registry.endpoint_for_invoke("Churn-Endpoint")
    assert found is not None and found.name == "Churn-Endpoint"
    assert lock.entered == 1


def test_endpoint_for_invoke_matches_the_exact_name() -> None:
    registry, lock = registry_with(["Churn-Endpoint"])
    assert registry.endpoint_for_invoke("churn-endpoint") is None  # AWS matches case on invoke
    assert registry.endpoint_for_invoke("other") is None
    assert lock.entered == 2
