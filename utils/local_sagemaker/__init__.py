"""A local SageMaker: the real-time inference API on 127.0.0.1, no AWS account needed.

One gateway process serves the SageMaker control plane and runtime (our code) and every helper
service the notebooks touch (S3, STS, IAM, CloudWatch Logs and metrics, Application Auto Scaling,
SNS: moto, in-process) on a single port; endpoints run as real worker processes that implement
the SageMaker container contract. See ``utils.local_sagemaker.daemon`` for the Python API used by
the notebooks' setup helper; this package import stays light (no boto3, no moto) on purpose.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "client_environment",
    "ensure_running",
    "is_running",
    "local_route",
    "status",
    "stop",
    "url",
]


def __getattr__(name: str) -> Any:
    # Lazy re-export: ``import utils.local_sagemaker`` must not pull in the daemon's imports,
    # because every endpoint worker process imports this package too.
    if name in __all__:
        from . import daemon

        return getattr(daemon, name)
    raise AttributeError(name)
