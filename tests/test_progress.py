"""The live line of a wait (utils.progress.LiveWait): drawn while a helper waits, gone from what
a notebook stores and from what nbval compares."""

from __future__ import annotations

import io
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from nbformat import NotebookNode
from nbval.plugin import coalesce_streams

from utils.progress import REDRAW_SECONDS, LiveWait, frame, live_mode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from clean_notebooks import clean


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _wait(mode: str | None) -> tuple[str, Clock]:
    """A wait as wait_for_endpoint does it: Creating for 3 s, then InService."""
    clock, out = Clock(), io.StringIO()
    with redirect_stdout(out), LiveWait("endpoint e", print, clock, out, mode) as live:
        live.line("Creating   0.0 s")
        live.update("Creating")
        live.sleep(3.0, clock.sleep)
        live.finish("InService  3.0 s")
    return out.getvalue(), clock


def test_frame_shows_what_status_elapsed_and_a_bar_when_the_total_is_known():
    assert frame("endpoint e", "Creating", 75.0, None, None) == "endpoint e: Creating [01:15]"
    with_bar = frame("job j", "InProgress", 42.0, 3, 10)
    assert with_bar.startswith("job j: InProgress  30%|") and with_bar.endswith("| 3/10 [00:42]")


@pytest.mark.parametrize("mode", ["notebook", "terminal"])
def test_the_live_line_is_redrawn_while_sleeping(mode):
    text, _ = _wait(mode)
    redraws = [f"endpoint e: Creating [00:0{s}]" for s in range(4)]
    assert all(r in text for r in redraws), text
    assert text.count("\r") >= 3 / REDRAW_SECONDS


def test_in_a_notebook_only_the_kept_lines_remain_for_nbval_and_the_committed_output():
    text, _ = _wait("notebook")
    kept = "Creating   0.0 s\nInService  3.0 s\n"
    fresh = coalesce_streams([NotebookNode(output_type="stream", name="stdout", text=text)])
    assert fresh[0].text == kept  # what nbval compares with the stored output
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [
        {"output_type": "stream", "name": "stdout", "text": text}]}]}
    assert "".join(clean(nb)["cells"][0]["outputs"][0]["text"]) == kept  # what is committed


def test_in_a_terminal_the_live_line_is_rubbed_out():
    text, _ = _wait("terminal")
    last_line = text.rsplit("\r", 1)[-1]
    assert last_line == "InService  3.0 s\n"


def test_off_where_the_lines_are_not_printed_to_a_screen():
    shown: list[str] = []
    clock, out = Clock(), io.StringIO()
    with LiveWait("endpoint e", shown.append, clock, out) as live:
        live.line("Creating   0.0 s")
        live.sleep(3.0, clock.sleep)
        live.finish("InService  3.0 s")
    assert shown == ["Creating   0.0 s", "InService  3.0 s"] and out.getvalue() == ""
    assert live_mode(io.StringIO()) is None  # not a terminal, not a notebook: a log file
