"""Waits a learner sits through: what to expect on AWS, said before a long one starts.

Creating an endpoint takes seconds on the local SageMaker and minutes on AWS; a scale-in to zero
waits for a CloudWatch alarm of 15 one-minute periods. A helper about to wait that long on AWS
says so first, with the limit after which it gives up (every wait is bounded).
"""

from __future__ import annotations

from typing import Any


def announce_aws_wait(tut: Any, what: str, usually: str, limit_s: float) -> None:
    """On AWS, say before a long wait how long it usually takes and when the helper gives up.

    Locally these waits take seconds and nothing is printed (so a notebook's stored output,
    made locally, is the same as before).
    """
    if tut.is_local:
        return
    limit = f"{limit_s:.0f} s" if limit_s < 120 else f"{limit_s / 60:.0f} min"
    print(f"On AWS {what} usually takes {usually}; waiting at most {limit}.")
