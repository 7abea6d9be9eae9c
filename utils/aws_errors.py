"""Explain the two AWS errors a lab meets most, instead of showing a long traceback.

On AWS a notebook can be stopped by an account quota (``ResourceLimitExceeded``) or by a missing
permission (``AccessDenied``, ``AccessDeniedException``). Neither is the lesson's fault, and a
botocore traceback says little about what to do. ``setup("aws")`` calls :func:`install` in a
notebook kernel: from then on such an error prints what it means and where to fix it
(``docs/studio.md``), followed by the error's own one-line message. The cell still fails, so
nothing after it runs on a half-made state. Every other exception shows as before.
"""

from __future__ import annotations

from typing import Any

QUOTA_CODES = {"ResourceLimitExceeded"}
PERMISSION_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
GUIDE = "docs/studio.md"


def explain(error: Exception) -> str | None:
    """A few lines explaining ``error`` if it is a quota or permission error, else None."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code", "")
    operation = getattr(error, "operation_name", "this call")
    if code in QUOTA_CODES:
        return "\n".join(
            [
                f"{operation} would go over one of your AWS account's service quotas "
                "(the message below names it).",
                "  - See your quotas: Service Quotas -> AWS services -> Amazon SageMaker, in this "
                "region; request an increase there (it can take a day).",
                "  - Resources left running by earlier notebooks count too: notebook 08 finds and "
                "deletes them.",
                f"  - The quotas the tutorial needs: {GUIDE}, section 7.",
            ]
        )
    if code in PERMISSION_CODES:
        return "\n".join(
            [
                f"The identity running this notebook may not call {operation} "
                "(the message below names the action).",
                "  - Attach iam/learner-policy.json to it (in Studio: to the space's execution "
                f"role); the execution role needs iam/execution-role-policy.json. See {GUIDE}, "
                "section 6.",
            ]
        )
    return None


def _handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> Any:
    text = explain(value) if isinstance(value, Exception) else None
    if text is None:
        return shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    print(text)
    return [f"{etype.__name__}: {value}"]


def install() -> bool:
    """Show quota and permission errors explained in this IPython kernel; False outside one."""
    try:
        from botocore.exceptions import ClientError
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc((ClientError,), _handler)
    return True
