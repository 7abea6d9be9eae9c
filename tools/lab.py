"""Open the tutorial: start the local SageMaker and JupyterLab, print where to go and how to stop.

    python tools/lab.py            # what `make lab` runs (any platform, from the project's venv)

JupyterLab refuses to start as root unless told ``--allow-root``; Docker images, cloud VMs and
many classroom machines run as root, so the flag is given exactly when the user is root (never
otherwise). Once the server answers, its address (with the login token) is printed in a box,
read from the server's own runtime file, so it is the address that works even when JupyterLab
had to pick another port. Ctrl+C stops JupyterLab; the local SageMaker and every endpoint it
runs are then stopped too, so nothing is left running.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_NOTEBOOK = "notebooks/00_start_here.ipynb"
SERVER_WAIT_SECONDS = 120.0


def is_root() -> bool:
    """True for the superuser on Unix; Windows has no root (``os.geteuid`` is absent there)."""
    geteuid = getattr(os, "geteuid", None)
    return geteuid is not None and geteuid() == 0


def jupyter_command(allow_root: bool) -> list[str]:
    command = [sys.executable, "-m", "jupyter", "lab", FIRST_NOTEBOOK]
    if allow_root:
        command.append("--allow-root")
    return command


def server_url(pid: int) -> str | None:
    """The address (with token) of the Jupyter server with this pid, once it is up."""
    from jupyter_server.serverapp import list_running_servers

    for server in list_running_servers():
        if server.get("pid") == pid:
            token = server.get("token")
            base = server["url"].rstrip("/")
            return f"{base}/lab/tree/{FIRST_NOTEBOOK}" + (f"?token={token}" if token else "")
    return None


def banner(url: str) -> str:
    lines = [
        "The tutorial is running. Open this address in your browser:",
        "",
        f"    {url}",
        "",
        "Stop: press Ctrl+C in this terminal (JupyterLab and the local SageMaker both stop).",
    ]
    width = max(len(line) for line in lines)
    rule = "=" * (width + 4)
    return "\n".join([rule, *(f"  {line}" for line in lines), rule])


def main() -> int:
    from utils import local_sagemaker
    from utils.session import start_local_sagemaker

    print("local SageMaker:", start_local_sagemaker(), flush=True)
    proc = subprocess.Popen(jupyter_command(is_root()), cwd=ROOT)
    try:
        deadline = time.monotonic() + SERVER_WAIT_SECONDS
        delay = 0.2
        url = None
        while url is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(delay)  # polling for the server's runtime file, with a growing interval
            delay = min(delay * 1.5, 2.0)
            url = server_url(proc.pid)
        if url is not None:
            print(banner(url), flush=True)
        elif proc.poll() is None:
            print("JupyterLab is still starting: its address is in the log above.", flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        # Jupyter got the same Ctrl+C (same process group) and asks to confirm; a second one
        # (or this) ends it.
        proc.terminate()
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
    finally:
        if local_sagemaker.stop():
            print("local SageMaker stopped (with every endpoint it ran).", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
