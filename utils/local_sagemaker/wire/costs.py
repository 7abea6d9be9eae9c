"""The cost meter of a running local SageMaker, read through its ``/_local/costs`` route."""

from __future__ import annotations

from typing import Any

from .daemon import local_route
from .daemon import url as running_url


def current_costs(url: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
    """Fetch the meter's snapshot (default: from the server ``ensure_running`` uses).

    ``Endpoints``, ``TransformJobs`` and ``Serverless`` rows, ``TotalUsd``, ``TotalIsPartial``.
    """
    if url is None:
        url = running_url()
        if url is None:
            raise RuntimeError(
                "The local SageMaker is not running (python -m utils.local_sagemaker start)."
            )
    snapshot: dict[str, Any] = local_route(url, "/_local/costs", timeout=timeout)
    return snapshot
