"""When the local SageMaker stops under a notebook: one clear message, not a connection traceback.

The local SageMaker is a background process. It can go away while a notebook is open: ``python
-m utils.local_sagemaker stop`` in a terminal, Ctrl+C in ``make lab``'s terminal, a reboot. The
next AWS call from the notebook then fails deep inside botocore with ``Could not connect to the
endpoint URL``, which says nothing about what to do. ``setup()`` on the local backend calls
:func:`install` in a notebook kernel: from then on such an error prints what happened and the
command that fixes it, followed by the error's own one-line message. The cell still fails, so
nothing after it runs against a missing server. Every other exception shows as before.

Running the setup cell again is the other way back: ``setup()`` starts the local SageMaker when
it is not running and, when this kernel had been connected to one before, says that it did
(:func:`restart_notice`).
"""

from __future__ import annotations

from typing import Any

#: The command that starts the local SageMaker (from the project folder, in the tutorial's venv).
START_COMMAND = "python -m utils.local_sagemaker start"


def is_connection_failure(error: BaseException) -> bool:
    """Whether ``error`` is botocore failing to reach (or losing) the server."""
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

    return isinstance(error, EndpointConnectionError | ConnectionClosedError)


def explain(error: BaseException, url: str | None, running: bool) -> str | None:
    """A few lines for a connection failure to the local SageMaker at ``url`` while it is not
    ``running``; None for anything else (another error, another address, a server that is up)."""
    if running or url is None or not is_connection_failure(error):
        return None
    if url.rstrip("/") not in str(error):
        return None
    return "\n".join(
        [
            f"The local SageMaker at {url} is not running: it was stopped, or the machine "
            "restarted.",
            "  - Run the notebook's setup cell again (`tut = setup(...)`): it starts the local "
            "SageMaker and says so.",
            f"  - Or, in a terminal in the project folder: {START_COMMAND}",
            "Then run this cell again (endpoints and jobs created before the stop may need to "
            "be created again: run the notebook from the top if a name is not found).",
        ]
    )


def restart_notice(previous_url: str | None, was_running: bool, url: str) -> str | None:
    """What ``setup()`` says when it had to start the local SageMaker again in this kernel."""
    if previous_url is None or was_running:
        return None
    return (
        f"The local SageMaker this notebook used ({previous_url}) had stopped; setup() started "
        f"it again at {url}."
    )


def install(url: str, shell: Any = None) -> bool:
    """Explain connection failures to the local SageMaker at ``url`` in this IPython kernel
    (``shell``: the kernel's shell, found when not given); False outside one."""
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
        if shell is None:
            return False

    def handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> Any:
        from utils import local_sagemaker

        text = explain(value, url, local_sagemaker.is_running())
        if text is None:
            return shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        print(text)
        return [f"{etype.__name__}: {value}"]

    shell.set_custom_exc((EndpointConnectionError, ConnectionClosedError), handler)
    return True
