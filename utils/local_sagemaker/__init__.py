"""A local SageMaker: the SageMaker API on 127.0.0.1, no AWS account needed.

One gateway process serves the SageMaker control plane and runtime (our code) and every helper
service the notebooks touch (S3, STS, IAM, CloudWatch Logs and metrics, Application Auto Scaling,
SNS: moto, in-process) on a single port; endpoints run as real worker processes that implement
the SageMaker container contract. How it is built: ARCHITECTURE.md at the project root.

This module is its **public face**: the lessons (``utils/*.py``) and the notebooks use these
names, its HTTP routes and its command line (``python -m utils.local_sagemaker``), never the
modules behind them (an import-linter contract keeps it so):

* the server: :func:`ensure_running`, :func:`stop`, :func:`reset` (stop it and delete the
  account it saved), :func:`status`, :func:`is_running`,
  :func:`url`, :func:`client_environment` (the AWS settings and local key that reach it),
  :func:`sdk_environment` (what the SageMaker SDK v3 needs besides, offline),
  :func:`local_route` (a signed read of one of its ``/_local`` routes);
* what things cost: :func:`current_costs` (the local meter), :func:`estimate_from_aws` (the same
  view on AWS), :func:`format_costs`, :func:`hourly_price` and the price table
  (:class:`PriceTable`, read from ``utils/prices.json``);
* model archives as SageMaker unpacks them: :func:`safe_extract`, :func:`open_archive`;
* :data:`SERVERLESS_IDLE_TAG`, the local-only tag that sets a serverless endpoint's idle period.

The names are loaded on first use: every endpoint worker process imports this package too, and
must not pay for the gateway's imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core.archive import ArchiveError, UnsafeArchiveError, open_archive, safe_extract
    from .core.price_schema import (
        INSTANCE_MODES,
        SERVERLESS_BY_MEMORY_KEY,
        InstanceMode,
        validate_price_data,
    )
    from .core.prices import (
        DEFAULT_PRICES_PATH,
        DEFAULT_REGION,
        PriceSource,
        PriceTable,
        PriceTableError,
        UnknownPriceError,
        hourly_price,
    )
    from .services.meter.aws_estimate import estimate_from_aws
    from .services.meter.report import format_costs
    from .services.serverless.config import IDLE_TAG as SERVERLESS_IDLE_TAG
    from .wire.costs import current_costs
    from .wire.daemon import (
        CONFLICTING_AWS_VARIABLES,
        client_environment,
        ensure_running,
        is_running,
        local_route,
        reset,
        sdk_environment,
        status,
        stop,
        url,
    )

#: Public name -> (module, name in that module).
_EXPORTS: dict[str, tuple[str, str]] = {
    "client_environment": (".wire.daemon", "client_environment"),
    "CONFLICTING_AWS_VARIABLES": (".wire.daemon", "CONFLICTING_AWS_VARIABLES"),
    "ensure_running": (".wire.daemon", "ensure_running"),
    "is_running": (".wire.daemon", "is_running"),
    "local_route": (".wire.daemon", "local_route"),
    "reset": (".wire.daemon", "reset"),
    "sdk_environment": (".wire.daemon", "sdk_environment"),
    "status": (".wire.daemon", "status"),
    "stop": (".wire.daemon", "stop"),
    "url": (".wire.daemon", "url"),
    "current_costs": (".wire.costs", "current_costs"),
    "estimate_from_aws": (".services.meter.aws_estimate", "estimate_from_aws"),
    "format_costs": (".services.meter.report", "format_costs"),
    "hourly_price": (".core.prices", "hourly_price"),
    "PriceTable": (".core.prices", "PriceTable"),
    "PriceTableError": (".core.prices", "PriceTableError"),
    "PriceSource": (".core.prices", "PriceSource"),
    "UnknownPriceError": (".core.prices", "UnknownPriceError"),
    "DEFAULT_PRICES_PATH": (".core.prices", "DEFAULT_PRICES_PATH"),
    "DEFAULT_REGION": (".core.prices", "DEFAULT_REGION"),
    "INSTANCE_MODES": (".core.price_schema", "INSTANCE_MODES"),
    "InstanceMode": (".core.price_schema", "InstanceMode"),
    "SERVERLESS_BY_MEMORY_KEY": (".core.price_schema", "SERVERLESS_BY_MEMORY_KEY"),
    "validate_price_data": (".core.price_schema", "validate_price_data"),
    "ArchiveError": (".core.archive", "ArchiveError"),
    "UnsafeArchiveError": (".core.archive", "UnsafeArchiveError"),
    "open_archive": (".core.archive", "open_archive"),
    "safe_extract": (".core.archive", "safe_extract"),
    "SERVERLESS_IDLE_TAG": (".services.serverless.config", "IDLE_TAG"),
}

__all__ = [
    "CONFLICTING_AWS_VARIABLES",
    "DEFAULT_PRICES_PATH",
    "DEFAULT_REGION",
    "INSTANCE_MODES",
    "SERVERLESS_BY_MEMORY_KEY",
    "SERVERLESS_IDLE_TAG",
    "ArchiveError",
    "InstanceMode",
    "PriceSource",
    "PriceTable",
    "PriceTableError",
    "UnknownPriceError",
    "UnsafeArchiveError",
    "client_environment",
    "current_costs",
    "ensure_running",
    "estimate_from_aws",
    "format_costs",
    "hourly_price",
    "is_running",
    "local_route",
    "open_archive",
    "reset",
    "safe_extract",
    "sdk_environment",
    "status",
    "stop",
    "url",
    "validate_price_data",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), attribute)
    globals()[name] = value  # later look-ups find it directly
    return value
