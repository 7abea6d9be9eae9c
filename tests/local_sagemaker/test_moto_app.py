"""moto's app as the gateway runs it: the same backend for every host, the folder read once."""

from __future__ import annotations

import os
from typing import Any

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from utils.local_sagemaker.wire.moto_app import MotoApp

HOSTS = [
    "logs.us-east-1.amazonaws.com",
    "monitoring.us-east-1.amazonaws.com",
    "s3.us-east-1.amazonaws.com",
    "sts.us-east-1.amazonaws.com",
    "iam.us-east-1.amazonaws.com",
    "sns.us-east-1.amazonaws.com",
    "sqs.us-east-1.amazonaws.com",
    "application-autoscaling.us-east-1.amazonaws.com",
    "s3",  # a module's own name
    "moto_api",
    "nothing.example",
]


def test_each_host_gets_the_backend_moto_gives_it(monkeypatch: pytest.MonkeyPatch) -> None:
    stock = DomainDispatcherApplication(create_backend_app)
    ours = MotoApp()
    expected = {host: stock.get_backend_for_host(host) for host in HOSTS}
    assert {host: ours.get_backend_for_host(host) for host in HOSTS} == expected
    assert ours.get_backend_for_host(None) is None

    def no_folder_reads(*args: Any) -> Any:
        raise AssertionError("moto's folder was listed again")

    monkeypatch.setattr(os, "listdir", no_folder_reads)
    found = [host for host in HOSTS if expected[host]]
    assert {host: ours.get_backend_for_host(host) for host in found} == {
        host: expected[host] for host in found
    }


def test_concurrent_first_requests_for_many_hosts_get_the_same_backends() -> None:
    """First requests for different services and regions at once, bypassing moto's lock (the
    cache must not depend on it): every thread gets the backend moto gives its host, and the
    cache ends up holding exactly those."""
    hosts = [
        f"{service}.{region}.amazonaws.com"
        for service in ("logs", "monitoring", "sqs", "sns")
        for region in ("us-east-1", "eu-west-1")
    ]
    stock = DomainDispatcherApplication(create_backend_app)
    expected = {host: stock.get_backend_for_host(host) for host in hosts}
    assert all(expected.values())
    for _ in range(3):
        ours = MotoApp()
        seen = _first_requests(ours, [hosts[i % len(hosts)] for i in range(4 * len(hosts))])
        assert len(seen) == 4 * len(hosts)
        assert all(backend == expected[host] for host, backend in seen)
        assert {host: ours.get_backend_for_host(host) for host in hosts} == expected


def _first_requests(app: MotoApp, hosts: list[str]) -> list[tuple[str, Any]]:
    """Each host looked up by its own thread, all released at the same moment."""
    import threading

    start = threading.Barrier(len(hosts))
    seen: list[tuple[str, Any]] = []

    def first_request(host: str) -> None:
        start.wait()
        seen.append((host, app.get_backend_for_host(host)))

    workers = [threading.Thread(target=first_request, args=(host,)) for host in hosts]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return seen
