"""A local SageMaker started before the project was updated is restarted on the next start.

Learners pull new code while a local SageMaker from an earlier session still runs; it would keep
serving the old code, and endpoints would fail in ways the lessons never explain. The server
records a hash of its sources when it starts; ``ensure_running`` compares it with the files on
disk and restarts a server whose code is not the current one, saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil
import pytest
from local_server import run_local_sagemaker

from utils.local_sagemaker.wire import daemon


def gone(pid: int) -> bool:
    """The process has exited (a zombie not yet reaped by this test process counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_code_version_follows_the_sources(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"compiled")
    first = daemon.code_version(tmp_path)
    (tmp_path / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"recompiled")
    assert daemon.code_version(tmp_path) == first  # compiled files are not the sources
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    assert daemon.code_version(tmp_path) != first
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("")
    assert daemon.code_version(tmp_path) != first  # a new module counts too


def test_a_server_running_older_code_is_restarted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = run_local_sagemaker(tmp_path)
    url = next(server)
    try:
        first = daemon.status()
        assert first is not None and first["code"] == daemon.code_version()
        notices: list[str] = []
        assert daemon.ensure_running(notify=notices.append) == url  # same code: reused
        assert notices == [] and daemon.status() == first

        # The sources on disk change while it runs (the learner pulled an update).
        monkeypatch.setattr(daemon, "code_version", lambda root=daemon.CODE_ROOT: "0" * 16)
        restarted_url = daemon.ensure_running(notify=notices.append)
        monkeypatch.undo()

        assert notices == [daemon.RESTARTED_NOTICE]
        second = daemon.status()
        assert second is not None and second["pid"] != first["pid"]
        assert second["url"] == restarted_url
        assert gone(first["pid"])
        # The new server records the code it runs, so the next start reuses it.
        assert daemon.ensure_running(notify=notices.append) == restarted_url
        assert len(notices) == 1
    finally:
        next(server, None)  # stops the server and checks that no process is left


def test_the_notice_goes_to_stderr(capsys: Any) -> None:
    """Not stdout: ``eval "$(python -m utils.local_sagemaker env)"`` runs what stdout says."""
    daemon.print_notice("restarted")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "restarted\n"
