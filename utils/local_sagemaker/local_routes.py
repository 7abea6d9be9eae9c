"""Reading the local SageMaker's own routes (``/_local/...``): signed requests, like any other.

Those routes show what AWS does not (the meter, a transform job's progress, an endpoint's worker
processes) and flush the telemetry queues. Like every request but the health check they must be
signed with the local key, which this module reads from the state folder.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from . import config
from .credentials import LocalCredentials, load_or_create

#: The service named in the signature's scope (the routes belong to the local SageMaker).
SIGNING_SERVICE = "sagemaker"


def get_json(
    url: str, path: str, timeout: float = 5.0, credentials: LocalCredentials | None = None
) -> Any:
    """``GET <url><path>``, signed; the JSON answer. Raises ``urllib.error.HTTPError`` on 4xx/5xx."""
    credentials = credentials or load_or_create(config.state_dir())
    request = AWSRequest(method="GET", url=url.rstrip("/") + path)
    signer = Credentials(credentials.access_key_id, credentials.secret_access_key)
    SigV4Auth(signer, SIGNING_SERVICE, config.REGION).add_auth(request)
    prepared = urllib.request.Request(request.url, headers=dict(request.headers.items()))
    with urllib.request.urlopen(prepared, timeout=timeout) as response:
        return json.loads(response.read())
