"""Run the AWS CLI from a notebook cell, the same way on Linux, macOS and Windows.

A ``!aws ...`` cell goes through the system shell, so anything beyond the bare command (quoting
JSON, ``$?``, ``2>&1 | tail``, ``> /dev/null``) differs between bash, cmd.exe and PowerShell.
:func:`aws_cli` runs the CLI without a shell: each argument is passed as it is written, JSON
arguments included, and the exit status comes back as a number.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["aws_cli", "aws_cli_command"]


def aws_cli_command() -> list[str]:
    """How to start the AWS CLI: the ``aws`` beside this interpreter, else on PATH, else the module.

    Beside this interpreter is the CLI ``requirements.txt`` installs (``aws.cmd`` on Windows,
    which ``shutil.which`` finds); on PATH, e.g. the AWS CLI v2 of a SageMaker Studio image.
    """
    found = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if found is not None:
        return [found]
    if importlib.util.find_spec("awscli") is not None:
        return [sys.executable, "-m", "awscli"]
    raise FileNotFoundError("the AWS CLI is not installed: pip install -r requirements.txt")


def aws_cli(*args: str, last_lines: int | None = None, show_status: bool = False) -> int:
    """Run ``aws <args>``; print what it printed (errors too); return its exit status.

    ``last_lines`` keeps only the last lines of the output (a long usage text ends with the
    one line that matters); ``show_status`` also prints ``exit status: N``.
    """
    done = subprocess.run([*aws_cli_command(), *args], capture_output=True, text=True, check=False)
    lines = (done.stdout + done.stderr).strip("\n").splitlines()
    if last_lines is not None:
        lines = lines[-last_lines:]
    for line in lines:
        print(line)
    if show_status:
        print("exit status:", done.returncode)
    return done.returncode
