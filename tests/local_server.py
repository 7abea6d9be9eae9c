"""The one local SageMaker a test session runs, and clients for it.

Started exactly as a learner starts it (``ensure_running``: a background process), in a temporary
state folder on a free port, with settings that make slow behaviour quick to observe; stopped at
the end with a check that the gateway and every worker it started are gone. Every test that
needs a server shares this one (the ``local_sm`` fixture in ``tests/conftest.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psutil
from botocore.config import Config

#: Small enough that the timeout test is quick, large enough for a busy 2-core CI machine.
INVOCATION_TIMEOUT = 1.5

SETTINGS = {
    "LOCAL_SAGEMAKER_PORT": "0",
    "LOCAL_SAGEMAKER_INVOCATION_TIMEOUT": str(INVOCATION_TIMEOUT),
    "LOCAL_SAGEMAKER_STARTUP_TIMEOUT": "60",
    # Async tests: a 60 s RequestTTLSeconds (AWS's minimum) expires after 1.2 s.
    "LOCAL_SAGEMAKER_ASYNC_TTL_SCALE": "0.02",
    # Serverless tests: workers idle for 1 s scale to zero (AWS: minutes, unpublished).
    "LOCAL_SAGEMAKER_SERVERLESS_IDLE_SECONDS": "1",
    # Healing tests: a frozen worker misses 3 pings 1 s apart (AWS's cadence: unpublished).
    "LOCAL_SAGEMAKER_HEALTH_CHECK_INTERVAL": "1",
    # Real-time autoscaling: a 60 s alarm period lasts 0.5 s, a 300 s cooldown 2.5 s.
    "LOCAL_SAGEMAKER_AUTOSCALING_TIME_SCALE": "120",
}


def _process_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def run_local_sagemaker(state_dir: Path) -> Iterator[str]:
    """Start the server with :data:`SETTINGS`, yield its URL, stop it and check nothing is left."""
    from utils.local_sagemaker.wire import daemon

    overrides = {"LOCAL_SAGEMAKER_STATE_DIR": str(state_dir), **SETTINGS}
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        url = daemon.ensure_running()
        yield url
        state = daemon.status()
        assert state is not None
        tree = _process_tree(state["pid"])
        assert daemon.stop() is True
        _, alive = psutil.wait_procs(tree, timeout=10)
        assert alive == [], f"processes left after stop: {alive}"
        assert daemon.status() is None
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def make_client(service: str, url: str, **config: Any) -> Any:
    """A boto3 client for ``service`` on the local SageMaker, signing with its key, without
    retries (errors show); ``config`` adds to botocore's Config."""
    from utils.local_sagemaker.core.credentials import client_environment_for

    env = client_environment_for(url)
    settings = {"retries": {"max_attempts": 1, "mode": "standard"}, "read_timeout": 30, **config}
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=Config(**settings),
    )


def s3_with_bucket(url: str, bucket: str) -> Any:
    """An S3 client on the local SageMaker at ``url``, with ``bucket`` created."""
    client = make_client("s3", url)
    client.create_bucket(Bucket=bucket)
    return client


def local_route(url: str, path: str, timeout: float = 15.0) -> Any:
    """The JSON of one of the local SageMaker's own ``/_local`` routes (a signed GET)."""
    from utils.local_sagemaker import local_route as signed_get

    return signed_get(url, path, timeout=timeout)
