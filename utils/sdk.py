"""Plumbing for the SageMaker Python SDK v3 in notebooks: keep its import from flooding the output.

Importing ``sagemaker.serve`` (SDK 3.27) imports ``sagemaker.core.experiments._metrics``, which
calls ``logging.basicConfig(level=logging.INFO)`` at import time. That gives the *root* logger a
stderr handler and the INFO level, so from then on every library's INFO lines (botocore's "Found
endpoint for s3 via: environment_global", the SDK's config messages, its emoji progress lines)
print into the notebook. :func:`quiet_sdk_logging` imports that module so that ``basicConfig``
changes nothing, leaving warnings and errors visible as before. It changes nothing else,
works the same on AWS, and is harmless to call twice.

Everything else the SDK needs offline is done by ``utils.session.setup()``: the standard AWS
endpoint settings, the local key, an explicit default bucket and a role whose policy passes the
SDK's role check (the local IAM answers ``iam:SimulatePrincipalPolicy``), and telemetry off (a
user config file with ``TelemetryOptOut``). See README.md, "The SageMaker SDK v3 without AWS".
"""

from __future__ import annotations

import logging

#: The SDK module whose import calls ``logging.basicConfig(level=logging.INFO)``.
_BASICCONFIG_MODULE = "sagemaker.core.experiments._metrics"


def quiet_sdk_logging() -> None:
    """Import the SDK's serving modules without letting them reconfigure the root logger.

    ``logging.basicConfig`` does nothing when the root logger already has a handler, so a
    temporary ``NullHandler`` is put there during the import (it also swallows the INFO lines
    the import itself logs), then removed. If the SDK was imported earlier, the handler its
    ``basicConfig`` added is removed and the root level put back to WARNING.
    """
    import importlib

    root = logging.getLogger()
    guard = logging.NullHandler()
    root.addHandler(guard)
    try:
        importlib.import_module(_BASICCONFIG_MODULE)
        importlib.import_module("sagemaker.serve")
    finally:
        root.removeHandler(guard)
    for handler in list(root.handlers):
        if _is_basic_config_handler(handler):
            root.removeHandler(handler)
            if root.level == logging.INFO:
                root.setLevel(logging.WARNING)


def _is_basic_config_handler(handler: logging.Handler) -> bool:
    """A handler that ``logging.basicConfig()`` made: a plain StreamHandler, default format."""
    formatter = handler.formatter
    return (
        type(handler) is logging.StreamHandler
        and formatter is not None
        and formatter._fmt == logging.BASIC_FORMAT
    )
