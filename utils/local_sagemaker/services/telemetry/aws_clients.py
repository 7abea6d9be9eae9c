"""boto3 clients for the AWS services moto serves behind the gateway's own port.

The local SageMaker talks to moto only as any AWS client would: with boto3 pointed at the
gateway URL (the local access key, the one local region).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from ...core.credentials import LocalCredentials
from ...core.settings import REGION, SERVICE_APP_ID


def make_client(
    service: str,
    url: str,
    credentials: LocalCredentials,
    app_id: str = SERVICE_APP_ID,
    send: Callable[..., Any] | None = None,
) -> Any:
    """A boto3 client for ``service`` on the local gateway, signing with the local key and
    naming itself ``app_id`` in its User-Agent. ``send``, if given, is botocore's
    ``before-send`` hook: it answers each request in place of the HTTP sender (the gateway's
    in-process transport, ``wire/in_process.py``)."""
    client = boto3.session.Session().client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        config=Config(
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=5,
            user_agent_appid=app_id,  # the call log tells the service's calls by it
        ),
    )
    if send is not None:
        client.meta.events.register("before-send", send)
    return client
