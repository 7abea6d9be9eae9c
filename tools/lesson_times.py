"""How long each lesson takes a learner: measured run time + reading + exercises.

The minutes in a notebook's header and in the README table come from here, so they are measured,
not guessed. For each notebook it prints:

- run: the time to execute the notebook top to bottom on this machine (it executes each one in a
  fresh kernel, against the local SageMaker), or the seconds read from a timing file;
- reading: the words of its Markdown cells at 200 words a minute, leaving out the Solutions
  section (cells tagged `solution`), which a learner opens only after trying;
- exercises: 4 minutes per exercise (predict, write or change a few lines, run, compare with the
  solution; an exercise is a distinct `# Solution K:` cell) and 1 minute per self-check question
  (`self_check("NN")`);
- total: the three added, rounded to the nearest 5 minutes (halves up, never below 5). That is
  what the header's `Time` row (its first "N minutes") and the README table should say; the columns "header" and
  "README" show what they say now.

    python tools/lesson_times.py                          # execute every notebook, print the table
    python tools/lesson_times.py --save build/times.json  # ... and keep the run times
    python tools/lesson_times.py --timings build/times.json        # no executing: use saved times
    python tools/lesson_times.py notebooks/02_real_time_inference.ipynb   # some notebooks only

On AWS a notebook takes longer: endpoints need minutes to start instead of seconds. The header
says so in words; the numbers here are the local ones.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
README = ROOT / "README.md"
QUESTIONS_DIR = ROOT / "utils" / "self_checks"

WORDS_PER_MINUTE = 200
MINUTES_PER_EXERCISE = 4
MINUTES_PER_QUESTION = 1
ROUND_TO_MINUTES = 5
CELL_TIMEOUT_S = 900

_SOLUTION = re.compile(r"^#\s*Solution\s+(\d+)\s*:", re.M)
_SELF_CHECK = re.compile(r"""self_check\(\s*["'](\d\d)["']\s*\)""")
_MINUTES = re.compile(r"(\d+)\s*minutes?")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")


@dataclass(frozen=True)
class LessonTime:
    notebook: str  # "02"
    name: str  # "02_real_time_inference.ipynb"
    run_s: float | None
    words: int
    exercises: int
    questions: int

    @property
    def reading_min(self) -> float:
        return self.words / WORDS_PER_MINUTE

    @property
    def exercise_min(self) -> float:
        return self.exercises * MINUTES_PER_EXERCISE + self.questions * MINUTES_PER_QUESTION

    @property
    def total_min(self) -> int | None:
        if self.run_s is None:
            return None
        raw = self.run_s / 60 + self.reading_min + self.exercise_min
        return max(ROUND_TO_MINUTES, ROUND_TO_MINUTES * math.floor(raw / ROUND_TO_MINUTES + 0.5))


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _is_solution(cell: dict) -> bool:
    return "solution" in cell.get("metadata", {}).get("tags", [])


def reading_words(cells: list[dict]) -> int:
    """Words a learner reads in the Markdown cells, Solutions section left out, link targets too."""
    text = "\n".join(
        _LINK_TARGET.sub("]", _source(c))
        for c in cells
        if c["cell_type"] == "markdown" and not _is_solution(c)
    )
    return len(text.split())


def exercise_count(cells: list[dict]) -> int:
    """Distinct exercises: the K of each `# Solution K:` line in the code cells."""
    numbers = {m for c in cells if c["cell_type"] == "code" for m in _SOLUTION.findall(_source(c))}
    return len(numbers)


def question_count(cells: list[dict]) -> int:
    """Self-check questions the notebook shows (from its utils/self_checks/NN.json)."""
    total = 0
    for c in cells:
        if c["cell_type"] != "code":
            continue
        for notebook in _SELF_CHECK.findall(_source(c)):
            path = QUESTIONS_DIR / f"{notebook}.json"
            if path.is_file():
                total += len(json.loads(path.read_text(encoding="utf-8"))["questions"])
    return total


def header_minutes(cells: list[dict]) -> int | None:
    """The first "N minutes" in the `Time` row of the notebook's first cell, if any."""
    for line in _source(cells[0]).splitlines():
        cells_of_row = [part.strip(" *") for part in line.strip().strip("|").split("|")]
        if len(cells_of_row) >= 2 and cells_of_row[0].lower() == "time":
            found = _MINUTES.search(line)
            return int(found.group(1)) if found else None
    return None


def readme_minutes(readme: str | None = None) -> dict[str, int]:
    """The README table's last column, by notebook number: {"02": 20, ...}."""
    text = README.read_text(encoding="utf-8") if readme is None else readme
    found = {}
    for line in text.splitlines():
        match = re.match(r"^\|\s*(\d\d)\s*\|.*\|\s*(\d+)\s*\|\s*$", line)
        if match:
            found[match.group(1)] = int(match.group(2))
    return found


def measure_run_seconds(path: Path, timeout: int = CELL_TIMEOUT_S) -> float:
    """Execute a copy of the notebook in a fresh kernel (cwd notebooks/) and time it."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    # Cells tagged raises-exception are meant to fail; nbclient honours the tag.
    started = time.perf_counter()
    client.execute()
    return time.perf_counter() - started


def lesson_time(path: Path, run_s: float | None) -> LessonTime:
    cells = _cells(path)
    return LessonTime(
        notebook=path.name[:2], name=path.name, run_s=run_s, words=reading_words(cells),
        exercises=exercise_count(cells), questions=question_count(cells),
    )


def format_table(times: list[LessonTime], readme: dict[str, int], headers: dict[str, int | None]) -> str:
    head = (f"{'notebook':<36} {'run':>7} {'reading':>9} {'exercises':>10} {'total':>6}"
            f" {'header':>7} {'README':>7}")
    lines = [head, "-" * len(head)]
    for t in times:
        run = "?" if t.run_s is None else f"{t.run_s / 60:.1f}"
        total = "?" if t.total_min is None else str(t.total_min)
        exercises = f"{t.exercise_min:.0f} ({t.exercises}+{t.questions}q)"
        now_header = headers.get(t.notebook)
        lines.append(
            f"{t.name:<36} {run:>7} {t.reading_min:>9.1f} {exercises:>10} {total:>6}"
            f" {'-' if now_header is None else now_header:>7} {readme.get(t.notebook, '-'):>7}"
        )
    lines.append("")
    lines.append(
        f"minutes; run measured on this machine, reading at {WORDS_PER_MINUTE} words/min of Markdown "
        f"(Solutions left out), exercises {MINUTES_PER_EXERCISE} min each + "
        f"{MINUTES_PER_QUESTION} min per self-check question (q); total rounded to the nearest "
        f"{ROUND_TO_MINUTES} min"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook")
    parser.add_argument("--timings", type=Path, help="read run seconds from this JSON file")
    parser.add_argument("--save", type=Path, help="write the measured run seconds to this JSON file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    paths = [p.resolve() for p in args.notebooks] or sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    saved: dict[str, float] = {}
    if args.timings:
        saved = json.loads(args.timings.read_text(encoding="utf-8"))["run_seconds"]

    times = []
    for path in paths:
        number = path.name[:2]
        if args.timings:
            run_s = saved.get(number)
        else:
            print(f"executing {path.name} ...", file=sys.stderr, flush=True)
            run_s = measure_run_seconds(path)
        times.append(lesson_time(path, run_s))

    if args.save:
        measured = {t.notebook: round(t.run_s, 1) for t in times if t.run_s is not None}
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps({"run_seconds": measured}, indent=1) + "\n", encoding="utf-8")

    if args.json:
        print(json.dumps([
            {"notebook": t.notebook, "run_s": t.run_s, "reading_min": round(t.reading_min, 1),
             "exercise_min": t.exercise_min, "total_min": t.total_min} for t in times
        ], indent=1))
    else:
        headers = {t.notebook: header_minutes(_cells(p)) for t, p in zip(times, paths, strict=True)}
        print(format_table(times, readme_minutes(), headers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
