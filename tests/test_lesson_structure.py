"""The shape every lesson shares: exercises, then collapsed solutions, then the clean-up; one
request-path diagram, shown in notebook 00 and linked from the lessons that walk a path.

A notebook adopts the exercise scheme by having a ``## N · Solutions`` heading; from then on these
tests hold it to the whole scheme (see each test's docstring).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REQUEST_PATHS = ROOT / "docs" / "request-paths.md"
HEADING = re.compile(r"^## (\d+) · (.+)$", re.M)
MERMAID = re.compile(r"```mermaid\n.*?```", re.S)
HIDDEN = {"source_hidden": True, "outputs_hidden": True}


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _section_titles(cells: list[dict]) -> list[tuple[int, str]]:
    """(cell index, title) of every ``## N · Title`` heading, in order."""
    found = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            found += [(index, m.group(2)) for m in HEADING.finditer(_source(cell))]
    return found


def _with_solutions() -> list[Path]:
    return [p for p in NOTEBOOKS if any(t == "Solutions" for _, t in _section_titles(_cells(p)))]


WITH_SOLUTIONS = _with_solutions()


@pytest.mark.parametrize("path", WITH_SOLUTIONS, ids=[p.name for p in WITH_SOLUTIONS])
def test_exercises_then_collapsed_solutions_then_clean_up(path: Path) -> None:
    """Check your understanding (01-07) -> Exercises -> Solutions -> Clean up -> Key points."""
    cells = _cells(path)
    titles = [t for _, t in _section_titles(cells)]
    tail = ["Exercises", "Solutions", "Clean up"]
    if "Check your understanding" in titles:
        tail.insert(0, "Check your understanding")
    assert titles[-len(tail):] == tail, titles
    assert _source(cells[-1]).startswith("## Key points")


@pytest.mark.parametrize("path", WITH_SOLUTIONS, ids=[p.name for p in WITH_SOLUTIONS])
def test_solution_cells_are_tagged_hidden_and_say_their_answer_first(path: Path) -> None:
    """Every cell between the Solutions and Clean up headings is hidden (source and outputs) and
    tagged ``solution``; the heading cell opens collapsed; solutions are numbered from 1, each
    starting with a code cell whose first line is ``# Solution K: <the answer>`` (a code cell
    without that line continues the solution before it)."""
    cells = _cells(path)
    sections = {t: i for i, t in _section_titles(cells)}
    start, end = sections["Solutions"], sections["Clean up"]
    assert cells[start]["metadata"].get("jp-MarkdownHeadingCollapsed") is True
    solutions = cells[start + 1 : end]
    assert any(c["cell_type"] == "code" for c in solutions)
    number = 0
    for cell in solutions:
        assert "solution" in cell["metadata"].get("tags", []), _source(cell)[:80]
        assert cell["metadata"].get("jupyter") == HIDDEN, _source(cell)[:80]
        if cell["cell_type"] == "code" and (number == 0 or _source(cell).startswith("# Solution")):
            number += 1
            assert re.match(rf"# Solution {number}: \S", _source(cell)), _source(cell)[:80]
    for cell in cells[:start] + cells[end:]:
        assert "solution" not in cell["metadata"].get("tags", []), _source(cell)[:80]


def test_notebook_00_shows_the_request_path_diagram_of_the_docs() -> None:
    (diagram,) = MERMAID.findall(REQUEST_PATHS.read_text(encoding="utf-8"))
    shown = [c for c in _cells(ROOT / "notebooks" / "00_start_here.ipynb")
             if c["cell_type"] == "markdown" and MERMAID.search(_source(c))]
    assert [MERMAID.search(_source(c)).group(0) for c in shown] == [diagram]


def _github_anchor(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_to_the_request_paths_name_existing_sections() -> None:
    anchors = {
        _github_anchor(h) for h in re.findall(r"^#+ (.+)$", REQUEST_PATHS.read_text("utf-8"), re.M)
    }
    linked = set()
    for path in NOTEBOOKS:
        for cell in _cells(path):
            linked |= set(re.findall(r"request-paths\.md#([\w-]+)", _source(cell)))
    assert linked, "no notebook links to a part of docs/request-paths.md"
    assert linked <= anchors, sorted(linked - anchors)
