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
