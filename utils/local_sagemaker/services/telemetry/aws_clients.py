"""boto3 clients for the AWS services moto serves behind the gateway's own port.

The local SageMaker talks to moto only as any AWS client would: with boto3 pointed at the
gateway URL (dummy credentials, the one local region).
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from ...core.settings import REGION


def make_client(service: str, url: str) -> Any:
    """A boto3 client for ``service`` on the local gateway (dummy credentials, one region)."""
    return boto3.session.Session().client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5),
    )
