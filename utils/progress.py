"""Waits a learner sits through: live progress while they last, what to expect on AWS before.

Creating an endpoint takes seconds on the local SageMaker and minutes on AWS; a transform job
longer; a scale-in to zero waits for a CloudWatch alarm of 15 one-minute periods. Two things
keep such a wait from looking like a hang:

* :func:`announce_aws_wait`: on AWS, before a long wait, how long it usually takes and when the
  helper gives up (every wait is bounded);
* :class:`LiveWait`: while a helper waits, one live line under its output with what it waits
  for, the current status, the time elapsed (and a bar when the amount of work is known),
  redrawn every second. The line is drawn by tqdm's formatter and disappears when the wait ends,
  so what stays is the helper's own lines: each status as it changes, its summary.

How the live line disappears: it is drawn after a carriage return, and the next line the
helper keeps is written over it (in a terminal, spaces rub out what is longer). JupyterLab draws a
carriage return that way, and nbval and ``tools/clean_notebooks`` apply it to the text before
comparing or committing it, so a notebook's stored output is the same with or without the live
line -- provided a kept line follows it: a helper that draws one ends its wait with
:meth:`LiveWait.finish` or :meth:`LiveWait.end`. Anywhere else than a notebook or a terminal (a log file, a test that
collects the lines through ``show``) the live line is off.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal, TextIO

from tqdm import tqdm

#: How often the live line is redrawn while a helper sleeps between two polls.
REDRAW_SECONDS = 1.0

Mode = Literal["notebook", "terminal"]


def announce_aws_wait(tut: Any, what: str, usually: str, limit_s: float) -> None:
    """On AWS, say before a long wait how long it usually takes and when the helper gives up.

    Locally these waits take seconds and nothing is printed (so a notebook's stored output,
    made locally, is the same as before).
    """
    if tut.is_local:
        return
    limit = f"{limit_s:.0f} s" if limit_s < 120 else f"{limit_s / 60:.0f} min"
    print(f"On AWS {what} usually takes {usually}; waiting at most {limit}.")


def live_mode(stream: TextIO) -> Mode | None:
    """How a live line can be drawn on ``stream``: in a notebook, in a terminal, or not at all."""
    if type(stream).__module__.startswith("ipykernel"):
        return "notebook"
    isatty = getattr(stream, "isatty", None)
    return "terminal" if isatty is not None and isatty() else None


def frame(what: str, status: str, elapsed: float, done: int | None, total: int | None) -> str:
    """The live line's text: ``endpoint loan-rt-1a2b: Creating [00:42]``, with a bar when
    ``total`` is known (``3/10``)."""
    if total:
        bar_format = "{desc} {percentage:3.0f}%|{bar:20}| {n_fmt}/{total_fmt} [{elapsed}]"
    else:
        bar_format = "{desc} [{elapsed}]"
    return str(
        tqdm.format_meter(
            done or 0, total, elapsed, prefix=f"{what}: {status}", bar_format=bar_format
        )
    )


class LiveWait:
    """The live line of one wait; lines the helper keeps go through :meth:`line`.

    ``show`` is where the helper's own lines go. The live line is drawn only when they are
    printed to the screen (``show`` is ``print``, the default of every waiting helper): a test
    that passes its own ``show`` gets exactly the lines, nothing else. ``mode`` forces how the
    line is drawn on ``stream`` (default: :func:`live_mode`).
    """

    def __init__(
        self,
        what: str,
        show: Callable[[str], None] | None = print,
        clock: Callable[[], float] = time.monotonic,
        stream: TextIO | None = None,
        mode: Mode | Literal["auto"] | None = "auto",
    ) -> None:
        self._what = what
        self._show = show
        self._clock = clock
        self._stream = stream if stream is not None else sys.stdout
        if mode == "auto":
            mode = live_mode(self._stream) if show is print else None
        self._mode: Mode | None = mode
        self._start = clock()
        self._status: str | None = None  # nothing drawn before the first update
        self._done: int | None = None
        self._total: int | None = None
        self._drawn = ""  # what the live line shows now ("" when it is not drawn)

    def __enter__(self) -> LiveWait:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def update(self, status: str, done: int | None = None, total: int | None = None) -> None:
        """Show ``status`` (and ``done`` of ``total``) on the live line."""
        self._status, self._done, self._total = status, done, total
        self._draw()

    def line(self, text: str) -> None:
        """A line the helper keeps (a status change): written over the live line, which is
        drawn again under it."""
        self._erase()
        if self._show is not None:
            self._show(text)
        self._draw()

    def finish(self, text: str) -> None:
        """The wait's last kept line (its summary, or why it stopped): the live line is gone."""
        self._erase()
        self._mode = None
        if self._show is not None:
            self._show(text)

    def end(self, text: str) -> None:
        """End a wait that keeps no line of its own: where a live line was drawn, ``text`` takes
        its place (so the output ends on a clean line); elsewhere nothing is printed."""
        if self._mode is not None:
            self.finish(text)

    def sleep(self, seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
        """Sleep ``seconds``, redrawing the live line every :data:`REDRAW_SECONDS`."""
        if self._mode is None:
            sleep(seconds)
            return
        end = self._clock() + seconds
        while (left := end - self._clock()) > 0:
            sleep(min(left, REDRAW_SECONDS))
            self._draw()

    def close(self) -> None:
        """Stop drawing. In a terminal the live line is rubbed out; in a notebook the wait should
        have ended with :meth:`finish` (an error's traceback follows the live line otherwise)."""
        if self._mode == "terminal":
            self._erase()
        self._mode = None

    def _draw(self) -> None:
        if self._mode is None or self._status is None:
            return
        text = frame(self._what, self._status, self._clock() - self._start, self._done, self._total)
        padding = " " * max(0, len(self._drawn) - len(text)) if self._mode == "terminal" else ""
        self._stream.write(f"\r{text}{padding}")
        self._stream.flush()
        self._drawn = text

    def _erase(self) -> None:
        """Return to the start of the live line, so that what is written next replaces it."""
        if not self._drawn or self._mode is None:
            return
        if self._mode == "terminal":
            self._stream.write("\r" + " " * len(self._drawn))
        self._stream.write("\r")
        self._stream.flush()
        self._drawn = ""
