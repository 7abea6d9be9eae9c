"""`make lab`'s launcher and the browser test's Chromium finder (no JupyterLab, no browser started)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lab = _load(ROOT / "tools" / "lab.py")
chromium = _load(ROOT / "tests" / "browser" / "chromium.py")


def test_allow_root_only_for_root() -> None:
    assert "--allow-root" in lab.jupyter_command(allow_root=True)
    assert "--allow-root" not in lab.jupyter_command(allow_root=False)
    assert lab.jupyter_command(False)[-1] == lab.FIRST_NOTEBOOK


def test_the_banner_says_where_to_go_and_how_to_stop() -> None:
    text = lab.banner("http://127.0.0.1:8888/lab/tree/x?token=abc")
    assert "http://127.0.0.1:8888/lab/tree/x?token=abc" in text
    assert "Ctrl+C" in text


def test_make_alone_prints_the_two_commands() -> None:
    done = subprocess.run(["make", "-s"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert [line.split()[:2] for line in done.stdout.splitlines()] == [
        ["make", "lab"],
        ["make", "test"],
    ]


def test_a_forced_browser_that_does_not_run_is_not_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("HANDSON_CHROMIUM", str(fake))
    assert chromium.find_chromium() is None


def test_a_forced_browser_that_runs_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "chrome"
    fake.write_text("#!/bin/sh\necho Chromium 1.0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("HANDSON_CHROMIUM", str(fake))
    assert chromium.find_chromium() == str(fake)


def test_without_any_way_to_get_a_browser_the_script_says_how_and_succeeds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(chromium, "find_chromium", lambda: None)
    monkeypatch.setattr(chromium, "_install_with_apt", lambda: False)
    monkeypatch.setattr(chromium, "_install_with_playwright", lambda: False)
    assert chromium.main() == 0
    out = capsys.readouterr().out
    assert "SKIPPED" in out and "apt-get install chromium" in out and "playwright install" in out


def test_is_root_follows_the_effective_user() -> None:
    geteuid = getattr(__import__("os"), "geteuid", None)
    assert lab.is_root() == (geteuid is not None and geteuid() == 0)
    assert sys.executable in lab.jupyter_command(False)
