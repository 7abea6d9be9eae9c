"""What every benchmark needs: its own local SageMaker, clients for it, the loan model deployed.

Each benchmark runs against a private server (a temporary state folder, a free port) so that it
measures nothing else and leaves nothing behind: ``with private_local_sagemaker() as server:``
starts it and always stops it (with all its workers) and removes its state folder at the end.

The benchmarks deploy the same model the same way, so that is written once here: the loan model
in the server's S3 and a model for it (:meth:`PrivateServer.create_loan_model`), an endpoint
configuration (:meth:`PrivateServer.create_loan_config`, :func:`create_config`), an endpoint
timed from CreateEndpoint to InService (:func:`create_endpoint`), or all of it at once
(:meth:`PrivateServer.deploy_loan_endpoint`). Waits poll through the lessons' own
:func:`utils.endpoint_status.wait_for_endpoint`, and latencies go through
:func:`utils.latency.latency_stats`, so a benchmark's figures mean what the notebooks' do.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUCKET = "bench"
MODEL_KEY = "model/model.tar.gz"
#: The name of the loan model and of its endpoint configuration in every benchmark.
LOAN = "bench"
#: The role the benchmarks' models name (the local SageMaker accepts any well-formed ARN).
ROLE_ARN = "arn:aws:iam::123456789012:role/bench"
#: DescribeEndpoint poll interval while timing a start: small beside a start (hundreds of ms),
#: and a poll answers in about a millisecond, so polling this often costs the server little.
START_POLL_SECONDS = 0.01


@dataclass
class PrivateServer:
    url: str
    state_dir: Path

    def client(self, service: str, **config: Any) -> Any:
        """A boto3 client for ``service`` on this server; ``config`` goes to botocore's Config."""
        import boto3
        from botocore.config import Config

        from utils.local_sagemaker.core.credentials import client_environment_for

        env = client_environment_for(self.url)
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            config=Config(**config) if config else None,
        )

    def signed_headers(
        self, method: str, path: str, body: bytes, headers: dict[str, str], service: str
    ) -> dict[str, str]:
        """``headers`` plus a SigV4 signature with the server's key, for a raw HTTP request.

        A signature stays valid for 15 minutes, so a benchmark may send the same request again.
        """
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        from utils.local_sagemaker.core.credentials import client_environment_for

        env = client_environment_for(self.url)
        request = AWSRequest(method=method, url=self.url + path, data=body, headers=headers)
        credentials = Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
        SigV4Auth(credentials, service, env["AWS_DEFAULT_REGION"]).add_auth(request)
        return dict(request.headers.items())

    def gateway_pid(self) -> int:
        """The process id of this server's gateway."""
        from utils.local_sagemaker.wire import daemon

        state = daemon.status()
        assert state is not None, "the private local SageMaker is not running"
        return int(state["pid"])

    def local_route(self, path: str) -> Any:
        """The JSON of one of the server's ``/_local`` routes (a signed GET)."""
        from utils.local_sagemaker import local_route

        return local_route(self.url, path)

    def upload_loan_model(self) -> tuple[str, Path]:
        """Train the loan model (seed 0), package it, put it in the bucket.

        Returns the archive's S3 URL and its local path (for the in-process comparison).
        """
        from utils.artifact import package_model
        from utils.model import train_model

        archive = package_model(train_model(seed=0).pipeline, self.state_dir / "artifact")
        s3 = self.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(archive), BUCKET, MODEL_KEY)
        return f"s3://{BUCKET}/{MODEL_KEY}", archive

    def create_loan_model(self, sm: Any, image: str = "sklearn") -> Path:
        """Upload the loan model and CreateModel ``LOAN`` for it; returns the local archive.

        ``image`` is the container (a short name or an AWS image's name); the serving
        environment names the artifact's inference script, which an AWS container needs.
        """
        from utils.artifact import SERVING_ENVIRONMENT

        model_url, archive = self.upload_loan_model()
        sm.create_model(
            ModelName=LOAN,
            PrimaryContainer={
                "Image": image,
                "ModelDataUrl": model_url,
                "Environment": SERVING_ENVIRONMENT,
            },
            ExecutionRoleArn=ROLE_ARN,
        )
        return archive

    def create_loan_config(
        self,
        sm: Any,
        instances: int = 1,
        serverless: dict[str, int] | None = None,
        image: str = "sklearn",
    ) -> Path:
        """The loan model and an endpoint configuration ``LOAN`` with one variant for it.

        The variant has ``instances`` ml.m5.large instances, or is serverless with the
        ``serverless`` ``ServerlessConfig``. Returns the model's local archive.
        """
        archive = self.create_loan_model(sm, image)
        create_config(sm, LOAN, instances, serverless)
        return archive

    def deploy_loan_endpoint(
        self,
        sm: Any,
        name: str,
        instances: int = 1,
        serverless: dict[str, int] | None = None,
        image: str = "sklearn",
    ) -> Path:
        """The loan model, its configuration and endpoint ``name``, InService; returns the archive."""
        archive = self.create_loan_config(sm, instances, serverless, image)
        create_endpoint(sm, name)
        return archive


def create_config(
    sm: Any, name: str, instances: int = 1, serverless: dict[str, int] | None = None
) -> None:
    """An endpoint configuration ``name`` with one variant for the loan model (already created).

    The variant has ``instances`` ml.m5.large instances, or is serverless with the
    ``serverless`` ``ServerlessConfig``.
    """
    variant: dict[str, Any] = {"VariantName": "AllTraffic", "ModelName": LOAN}
    if serverless is not None:
        variant["ServerlessConfig"] = serverless
    else:
        variant.update(InstanceType="ml.m5.large", InitialInstanceCount=instances)
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])


def wait_for_status(sm: Any, name: str, until: str = "InService") -> None:
    """Poll DescribeEndpoint every ``START_POLL_SECONDS`` until ``until`` (or ``"Deleted"``).

    Raises on ``Failed`` with the endpoint's FailureReason (the lessons' waiter, silent).
    """
    from utils.endpoint_status import wait_for_endpoint

    wait_for_endpoint(sm, name, until, poll_seconds=START_POLL_SECONDS, timeout=600, show=None)


def create_endpoint(sm: Any, name: str, config: str = LOAN) -> float:
    """CreateEndpoint ``name`` from ``config`` and wait until InService; returns the seconds taken.

    The time includes everything an endpoint's start does: the worker's start, the model's
    download from S3 and extraction, its load and the first /ping.
    """
    started = time.perf_counter()
    sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    wait_for_status(sm, name)
    return time.perf_counter() - started


def latency_ms(samples_s: list[float]) -> dict[str, float]:
    """:func:`utils.latency.latency_stats` of durations measured in seconds (figures in ms)."""
    from utils.latency import latency_stats

    return latency_stats([sample * 1000 for sample in samples_s])


@contextmanager
def private_local_sagemaker(**settings: str) -> Iterator[PrivateServer]:
    """Start a local SageMaker for this benchmark (``settings``: extra LOCAL_SAGEMAKER_* values)."""
    state_dir = tempfile.mkdtemp(prefix="bench-local-sagemaker-")
    os.environ.update(
        {"LOCAL_SAGEMAKER_STATE_DIR": state_dir, "LOCAL_SAGEMAKER_PORT": "0", **settings}
    )
    from utils.local_sagemaker.wire import daemon

    url = daemon.ensure_running()
    try:
        yield PrivateServer(url, Path(state_dir))
    finally:
        daemon.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
