"""Find a Chromium for the browser test, or get one the way this platform allows.

    python tests/browser/chromium.py      # what `make test` runs before the tests

Where a browser is looked for, in order: ``HANDSON_CHROMIUM`` (a path), ``chromium`` /
``chromium-browser`` / ``google-chrome`` on the PATH, then Playwright's own downloaded Chromium.
When none is there, this script tries, in order:

1. Debian's (or Ubuntu's) ``chromium`` package, when apt-get can install packages here (root, or
   sudo without a password);
2. Playwright's own browser download (``playwright install chromium``), where the network allows
   it (no apt-get, e.g. macOS and Windows, or apt-get failed); ``HANDSON_BROWSER_DOWNLOAD=0``
   forbids it;
3. otherwise it prints, loudly, how to enable the test, which then skips itself with the same
   message. It never fails the run: the rest of the suite does not depend on a browser.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

INSTALL_TIMEOUT_SECONDS = 900

HOW_TO_ENABLE = (
    "The browser test (the decision app in a real headless Chromium) needs a Chromium. Enable it "
    "with one of: `sudo apt-get install chromium` (Debian/Ubuntu); "
    "`.venv/bin/python -m playwright install chromium` (any platform with internet access); or "
    "HANDSON_CHROMIUM=/path/to/chromium-or-chrome."
)


def _runs(path: str) -> bool:
    """True when ``path`` is a browser that starts (Ubuntu's snap stub, for one, may not)."""
    try:
        done = subprocess.run(
            [path, "--headless", "--no-sandbox", "--version"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _playwright_chromium() -> str | None:
    """Playwright's own Chromium, if it was downloaded (``playwright install chromium``)."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            path = playwright.chromium.executable_path
    except Exception:
        return None
    return path if path and Path(path).exists() else None


def find_chromium() -> str | None:
    """The path of a Chromium that runs, or None."""
    forced = os.environ.get("HANDSON_CHROMIUM")
    if forced:
        return forced if _runs(forced) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path and _runs(path):
            return path
    path = _playwright_chromium()
    return path if path and _runs(path) else None


def _as_root(command: list[str]) -> list[str] | None:
    """``command`` run as root: directly when root, through passwordless sudo, else None."""
    if getattr(os, "geteuid", lambda: -1)() == 0:
        return command
    sudo = shutil.which("sudo")
    if (
        sudo
        and subprocess.run([sudo, "-n", "true"], capture_output=True, check=False).returncode == 0
    ):
        return [sudo, "-n", *command]
    return None


def _install_with_apt() -> bool:
    apt = shutil.which("apt-get")
    if apt is None:
        return False
    update = _as_root([apt, "update"])
    install = _as_root([apt, "install", "-y", "--no-install-recommends", "chromium"])
    if update is None or install is None:
        print("apt-get is here but needs root (or passwordless sudo) to install chromium.")
        return False
    print("Installing Debian's chromium for the browser test:", " ".join(install), flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (update, install):
        try:
            subprocess.run(command, env=env, timeout=INSTALL_TIMEOUT_SECONDS, check=True)
        except (OSError, subprocess.SubprocessError) as error:
            print(f"apt-get failed: {error}")
            return False
    return True


def _install_with_playwright() -> bool:
    if os.environ.get("HANDSON_BROWSER_DOWNLOAD", "1") == "0":
        return False
    command = [sys.executable, "-m", "playwright", "install", "chromium"]
    print("Downloading Playwright's Chromium for the browser test:", " ".join(command), flush=True)
    try:
        subprocess.run(command, timeout=INSTALL_TIMEOUT_SECONDS, check=True)
    except (OSError, subprocess.SubprocessError) as error:
        print(f"the download failed (no network access to Playwright's servers?): {error}")
        return False
    return True


def ensure_chromium() -> str | None:
    """Find a Chromium, installing one where the platform allows; None when there is no way."""
    path = find_chromium()
    if path is None and _install_with_apt():
        path = find_chromium()
    if path is None and _install_with_playwright():
        path = find_chromium()
    return path


def main() -> int:
    path = ensure_chromium()
    if path:
        print("browser test: using", path)
        return 0
    bar = "!" * 78
    print(f"\n{bar}\nNO BROWSER: the browser test will be SKIPPED.\n{HOW_TO_ENABLE}\n{bar}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
