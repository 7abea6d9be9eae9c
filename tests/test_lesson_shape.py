"""Every lesson ends the same way, so a learner always knows where they are.

Notebooks 00-07 and 09 (08 is the course's clean-up) end with these level-2 sections, in this
order:

    ## N · Check your understanding   (01-07: one code cell, self_check("NN"); 00 and 09 have none)
    ## N · Exercises                  (statements only, each says "predict" first)
    ## N · Solutions                  (collapsed: the heading starts folded in JupyterLab, every
                                       cell below it is tagged `solution` with source and outputs
                                       hidden; each solution's first code cell opens
                                       "# Solution K: <answer>")
    ## N · Clean up                   (holds the notebook's last code cell)
    ## Key points

and each notebook's header time is the README table's minutes. Each check returns the problems
it finds, so a failure lists all of them at once.
"""

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import lesson_times  # noqa: E402

from utils import self_check  # noqa: E402

LESSONS = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if p.name[:2] != "08")
#: Lessons without a self-check: 00 (nothing taught yet) and 09 (the course's follow-up).
WITHOUT_SELF_CHECK = {"00", "09"}
ALL_NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ENDING = ["Check your understanding", "Exercises", "Solutions", "Clean up"]
HEADING = re.compile(r"^## (?:(\d+) · )?(.+?)\s*$", re.M)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _sections(cells: list[dict]) -> list[tuple[str, int | None, int]]:
    """(title, number, index of the heading cell) for each level-2 heading, in order."""
    found = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        for number, title in HEADING.findall(_source(cell)):
            found.append((title, int(number) if number else None, index))
    return found


def _section_cells(cells: list[dict], title: str) -> tuple[int, list[dict]]:
    """The heading cell's index and the cells after it up to the next level-2 heading."""
    sections = _sections(cells)
    for position, (name, _, index) in enumerate(sections):
        if name == title:
            end = sections[position + 1][2] if position + 1 < len(sections) else len(cells)
            return index, cells[index + 1:end]
    return -1, []


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def check_ending(path: Path) -> list[str]:
    """The last level-2 sections are the ending above, numbered in order, then Key points."""
    expected = ENDING if path.name[:2] not in WITHOUT_SELF_CHECK else ENDING[1:]
    sections = _sections(_cells(path))
    titles = [title for title, _, _ in sections]
    tail = titles[-(len(expected) + 1):]
    problems = []
    if tail != [*expected, "Key points"]:
        problems.append(f"the notebook should end with {[*expected, 'Key points']}, it ends with {tail}")
        return problems
    numbers = [number for _, number, _ in sections[-(len(expected) + 1):-1]]
    if None in numbers or numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        problems.append(f"number the ending sections in order ('## N · Title'): {numbers}")
    if sections[-1][1] is not None:
        problems.append("'## Key points' has no number")
    if not _source(_cells(path)[-1]).startswith("## Key points"):
        problems.append("'## Key points' is the last cell")
    return problems


def check_self_check(path: Path) -> list[str]:
    notebook = path.name[:2]
    _, body = _section_cells(_cells(path), "Check your understanding")
    code = [c for c in body if c["cell_type"] == "code"]
    if len(code) != 1:
        return [f"'Check your understanding' should hold exactly one code cell, it holds {len(code)}"]
    source = _source(code[0]).strip()
    expected = f'from utils.self_check import self_check\n\nself_check("{notebook}")'
    if re.sub(r"\n+", "\n", source) != re.sub(r"\n+", "\n", expected):
        return [f"the self-check cell should read: {expected!r}, it reads {source!r}"]
    try:
        self_check.load(notebook)
    except self_check.SelfCheckError as error:
        return [str(error)]
    if not code[0].get("outputs"):
        return ["the self-check cell has no stored output (execute the notebook)"]
    return []


def _solution_numbers(cells: list[dict]) -> list[int]:
    return [int(m) for c in cells if c["cell_type"] == "code"
            for m in re.findall(r"^# Solution (\d+):", _source(c), flags=re.M)]


def check_exercises(path: Path) -> list[str]:
    cells = _cells(path)
    heading, body = _section_cells(cells, "Exercises")
    problems = []
    if any(c["cell_type"] == "code" for c in body):
        problems.append("'Exercises' holds statements only; their code goes under 'Solutions'")
    text = "\n".join(_source(c) for c in ([cells[heading]] if heading >= 0 else []) + body)
    # statements as "**Exercise K.** ..." paragraphs, or else as a numbered list "K. ..."
    marker = r"\*\*Exercise \d+\.?\*\*" if re.search(r"\*\*Exercise \d+", text) else r"(?m)^\d+\.\s"
    intro, *statements = re.split(marker, text)
    if not statements:
        problems.append("no exercise statements ('**Exercise K.**' or a numbered list) under 'Exercises'")
    if "predict" not in intro.lower():  # one "predict first" for all, or one in each statement
        for number, statement in enumerate(statements, start=1):
            if "predict" not in statement.lower():
                problems.append(f"exercise {number} should ask the learner to predict first")
    solved = _solution_numbers(cells)
    if solved != list(range(1, len(statements) + 1)):
        problems.append(f"{len(statements)} exercises but solutions numbered {solved}, in that order")
    return problems


def check_solutions(path: Path) -> list[str]:
    cells = _cells(path)
    heading, body = _section_cells(cells, "Solutions")
    problems = []
    if heading < 0:
        return ["no 'Solutions' section"]
    if cells[heading].get("metadata", {}).get("jp-MarkdownHeadingCollapsed") is not True:
        problems.append("the 'Solutions' heading cell needs metadata jp-MarkdownHeadingCollapsed: true")
    if not any(c["cell_type"] == "code" for c in body):
        problems.append("'Solutions' holds no solution code cell")
    seen_solution = False
    for cell in body:
        where = _source(cell).strip().splitlines()[0][:60] if _source(cell).strip() else "(empty cell)"
        if "solution" not in _tags(cell):
            problems.append(f"tag 'solution' missing on: {where}")
        hidden = cell.get("metadata", {}).get("jupyter", {})
        if not (hidden.get("source_hidden") and hidden.get("outputs_hidden")):
            problems.append(f"hide source and outputs (metadata jupyter) of: {where}")
        if cell["cell_type"] == "code":
            if "nbval-skip" in _tags(cell) or "skip-execution" in _tags(cell):
                problems.append(f"solution cells run under nbval: {where}")
            opens = re.match(r"# Solution \d+: \S", _source(cell))
            if not opens and not seen_solution:  # later cells may continue the solution above
                problems.append(f"a solution starts with '# Solution K: <answer>': {where}")
            seen_solution = seen_solution or bool(opens)
    stray = [c for i, c in enumerate(cells) if "solution" in _tags(c)
             and not (heading < i <= heading + len(body))]
    if stray:
        problems.append(f"{len(stray)} cell(s) tagged 'solution' outside the Solutions section")
    return problems


def check_cleanup_is_last(path: Path) -> list[str]:
    cells = _cells(path)
    heading, body = _section_cells(cells, "Clean up")
    code_indexes = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and _source(c).strip()]
    if heading < 0 or not code_indexes:
        return ["no 'Clean up' section with code"]
    if not heading < code_indexes[-1] <= heading + len(body):
        return ["the last code cell belongs in 'Clean up'"]
    return []


def check_glossary_linked(path: Path) -> list[str]:
    text = "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "markdown")
    if "../docs/glossary.md#" not in text:
        return ["link the glossary where its terms first appear: [term](../docs/glossary.md#term)"]
    return []


def check_header_time(path: Path, readme: dict[str, int]) -> list[str]:
    minutes = lesson_times.header_minutes(_cells(path))
    listed = readme.get(path.name[:2])
    if minutes is None:
        return ["the header needs a 'Time' row with 'N minutes'"]
    if minutes != listed:
        return [f"the header says {minutes} minutes, the README table {listed}"]
    return []


def _ids(paths):
    return [p.name for p in paths]


@pytest.mark.parametrize("path", LESSONS, ids=_ids(LESSONS))
@pytest.mark.parametrize("check", [check_ending, check_exercises, check_solutions, check_cleanup_is_last])
def test_lesson_ending(path, check):
    assert check(path) == []


WITH_SELF_CHECK = [p for p in LESSONS if p.name[:2] not in WITHOUT_SELF_CHECK]


@pytest.mark.parametrize("path", WITH_SELF_CHECK, ids=_ids(WITH_SELF_CHECK))
def test_lesson_has_its_self_check(path):
    assert check_self_check(path) == []


@pytest.mark.parametrize("path", LESSONS[1:], ids=_ids(LESSONS[1:]))
def test_lesson_links_the_glossary(path):
    assert check_glossary_linked(path) == []


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_ids(ALL_NOTEBOOKS))
def test_header_time_is_the_readme_time(path):
    assert check_header_time(path, lesson_times.readme_minutes()) == []


# The checks themselves, on a small notebook built here: a compliant one passes, and each kind
# of departure is reported.

def _md(text, **metadata):
    return {"cell_type": "markdown", "metadata": metadata, "source": [text]}


def _code(text, outputs=(), **metadata):
    return {"cell_type": "code", "metadata": metadata, "source": [text], "outputs": list(outputs),
            "execution_count": 1}


HIDDEN = {"tags": ["solution"], "jupyter": {"source_hidden": True, "outputs_hidden": True}}


def _lesson() -> list[dict]:
    return [
        _md("# 02 · Real-time inference\n\n| | |\n|---|---|\n| **Time** | about 25 minutes |"),
        _md("## 1 · Idea"),
        _code("x = 1"),
        _md("## 2 · Check your understanding"),
        _code('from utils.self_check import self_check\n\nself_check("02")', outputs=[{"data": {}}]),
        _md("## 3 · Exercises\n\n**Exercise 1.** Predict first: what is x?\n\n"
            "**Exercise 2.** Predict, then try: and y?"),
        _md("## 4 · Solutions", **{"jp-MarkdownHeadingCollapsed": True}),
        _code("# Solution 1: one\nprint(x)", **HIDDEN),
        _md("Why the answer is one.", **HIDDEN),
        _code("# Solution 2: two\nprint(2)", **HIDDEN),
        _md("## 5 · Clean up"),
        _code("cleanup()"),
        _md("## Key points\n\n- [endpoint](../docs/glossary.md#endpoint)"),
    ]


def _write(tmp_path, cells, name="02_real_time_inference.ipynb") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"cells": cells}), encoding="utf-8")
    return path


ALL_CHECKS = [check_ending, check_exercises, check_solutions, check_cleanup_is_last, check_self_check,
              check_glossary_linked]


def test_a_compliant_lesson_passes_every_check(tmp_path):
    path = _write(tmp_path, _lesson())
    assert [p for check in ALL_CHECKS for p in check(path)] == []
    assert check_header_time(path, {"02": 25}) == []


def test_a_numbered_list_with_one_predict_first_is_fine(tmp_path):
    cells = _lesson()
    cells[5]["source"] = ["## 3 · Exercises\n\nPredict first, then check.\n\n1. What is x?\n2. And y?\n"]
    assert check_exercises(_write(tmp_path, cells)) == []


@pytest.mark.parametrize(("break_it", "check", "expected"), [
    (lambda c: c.pop(3), check_ending, "should end with"),
    (lambda c: c[6]["metadata"].pop("jp-MarkdownHeadingCollapsed"), check_solutions, "jp-MarkdownHeadingCollapsed"),
    (lambda c: c[7]["metadata"].update(tags=[]), check_solutions, "tag 'solution' missing"),
    (lambda c: c[8]["metadata"].pop("jupyter"), check_solutions, "hide source and outputs"),
    (lambda c: c.append(_md("A last word.")), check_ending, "'## Key points' is the last cell"),
    (lambda c: (c[7].update(source=["# Solution 2: two"]), c[9].update(source=["# Solution 1: one"])),
     check_exercises, "solutions numbered [2, 1]"),
    (lambda c: c[9]["metadata"]["jupyter"].update(outputs_hidden=False), check_solutions, "hide source and outputs"),
    (lambda c: c[7].update(source=["print(x)"]), check_solutions, "# Solution K:"),
    (lambda c: c[9].update(source=["print(2)"]), check_exercises, "solutions numbered [1]"),
    (lambda c: c[7]["metadata"]["tags"].append("nbval-skip"), check_solutions, "run under nbval"),
    (lambda c: c[2]["metadata"].update(tags=["solution"]), check_solutions, "outside the Solutions section"),
    (lambda c: c[5].update(source=["## 3 · Exercises\n\n**Exercise 1.** What is x?\n\n**Exercise 2.** Predict y."]),
     check_exercises, "exercise 1 should ask"),
    (lambda c: c[5].update(source=["## 3 · Exercises\n\nTry these.\n\n1. What is x?\n2. Predict y."]),
     check_exercises, "exercise 1 should ask"),
    (lambda c: c[5].update(source=["## 3 · Exercises\n\nNothing to do."]), check_exercises, "no exercise statements"),
    (lambda c: c[9].update(source=["# Solution 3: three"]), check_exercises, "solutions numbered [1, 3]"),
    (lambda c: c.insert(6, _code("y = 2")), check_exercises, "statements only"),
    (lambda c: c[4].update(source=['self_check("03")']), check_self_check, "should read"),
    (lambda c: c.append(_code("after()")), check_cleanup_is_last, "last code cell"),
    (lambda c: c[-1].update(source=["## Key points"]), check_glossary_linked, "link the glossary"),
])
def test_each_departure_is_reported(tmp_path, break_it, check, expected):
    cells = _lesson()
    break_it(cells)
    problems = check(_write(tmp_path, cells))
    assert any(expected in problem for problem in problems), problems


def test_header_time_must_match_the_readme(tmp_path):
    path = _write(tmp_path, _lesson())
    assert "the README table 20" in check_header_time(path, {"02": 20})[0]
