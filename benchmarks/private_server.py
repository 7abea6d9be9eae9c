"""What every benchmark needs: its own local SageMaker, clients for it, the loan model in its S3.

Each benchmark runs against a private server (a temporary state folder, a free port) so that it
measures nothing else and leaves nothing behind: ``with private_local_sagemaker() as server:``
starts it and always stops it (with all its workers) and removes its state folder at the end.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUCKET = "bench"
MODEL_KEY = "model/model.tar.gz"


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
