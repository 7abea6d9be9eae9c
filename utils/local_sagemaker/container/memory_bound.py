"""A serverless variant's memory size, enforced by the worker on itself where the platform can.

On AWS a serverless endpoint's container gets ``MemorySizeInMB`` of memory, and a model that needs
more fails. Locally the worker caps its own address space with ``RLIMIT_AS`` as its first act
(before the model or any user code is loaded), so such a model fails with a real ``MemoryError``
and the health check fails as on AWS.

Only Linux enforces ``RLIMIT_AS``: macOS accepts the setting and ignores it, Windows has no
``resource`` module at all. There the worker runs without a bound and says so once in its log
(the endpoint's CloudWatch log stream): the endpoint works and is metered as usual, only a model
too big for its memory size is not refused. A bound applied by the worker itself rather than by
the parent between fork and exec (``preexec_fn``) also keeps the start-up the same on every
platform (Windows has no fork).
"""

from __future__ import annotations

import logging
import os
import sys

from ..core.worker_contract import MEMORY_LIMIT_ENV

log = logging.getLogger("local_sagemaker.memory")


def apply_from_environment() -> int | None:
    """Bound this process to ``LOCAL_SAGEMAKER_WORKER_MEMORY_MB``; the bound in MB, or None.

    Returns None, after logging why, where the platform cannot enforce it; never raises.
    """
    value = os.environ.get(MEMORY_LIMIT_ENV)
    if not value:
        return None
    megabytes = int(value)
    reason = _why_unenforceable()
    if reason is None:
        import resource

        limit = megabytes * 1024 * 1024
        try:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            return megabytes
        except (ValueError, OSError) as error:
            reason = f"setting RLIMIT_AS failed ({error})"
    log.warning(
        "MemorySizeInMB=%d is not enforced on this platform: %s. The endpoint works and is "
        "billed for its memory size as on AWS, but a model that needs more memory is not "
        "refused here as it would be on AWS.",
        megabytes,
        reason,
    )
    return None


def _why_unenforceable() -> str | None:
    if not sys.platform.startswith("linux"):
        return f"only Linux enforces an address-space limit (this is {sys.platform})"
    try:
        import resource
    except ImportError:
        return "Python's resource module is missing"
    if not hasattr(resource, "RLIMIT_AS"):
        return "Python's resource module has no RLIMIT_AS"
    return None
