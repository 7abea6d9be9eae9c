"""tools/lesson_times.py: the rules that turn a notebook into minutes."""

import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import lesson_times  # noqa: E402


def _md(text, tags=()):
    return {"cell_type": "markdown", "metadata": {"tags": list(tags)}, "source": [text]}


def _code(text, tags=()):
    return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": [text], "outputs": []}


HEADER = _md("# 02 · Real-time inference\n\n| | |\n|---|---|\n| **Time** | about 35 minutes locally; 60 on AWS |\n")


def test_reading_counts_markdown_words_but_not_solutions_or_link_targets():
    cells = [
        _md("one two three [four](../docs/glossary.md#a-very-long-anchor)"),
        _code("print('code is not counted here')"),
        _md("## 9 · Solutions", tags=["solution"]),
        _md("hidden words", tags=["solution"]),
    ]
    assert lesson_times.reading_words(cells) == 4


def test_exercises_are_distinct_solution_numbers():
    cells = [
        _code("# Solution 1: something\nx = 1", ["solution"]),
        _code("# Solution 1: continued\ny = 2", ["solution"]),
        _code("# Solution 2: other\nz = 3", ["solution"]),
        _code("# a comment mentioning Solution 3: but not at the start of a line? no"),
    ]
    assert lesson_times.exercise_count(cells) == 2


def test_self_check_questions_come_from_the_question_file():
    questions = len(json.loads((ROOT / "utils/self_checks/03.json").read_text())["questions"])
    cells = [_code('from utils.self_check import self_check\nself_check("03")')]
    assert lesson_times.question_count(cells) == questions
    assert lesson_times.question_count([_code("x = 1")]) == 0


def test_header_minutes_is_the_first_number_of_minutes_in_the_time_row():
    assert lesson_times.header_minutes([HEADER]) == 35
    assert lesson_times.header_minutes([_md("# 00 · Start here\n\n| Time | 5 minutes |")]) == 5
    assert lesson_times.header_minutes([_md("# 00 · No table")]) is None


def test_readme_minutes_reads_the_last_column():
    table = "| # | Notebook | What | Minutes (local) |\n|---|---|---|---|\n| 02 | [x](y) | z | 35 |\n"
    assert lesson_times.readme_minutes(table) == {"02": 35}


@pytest.mark.parametrize(("run_s", "words", "exercises", "questions", "total"), [
    (30, 2000, 3, 5, 30),   # 0.5 + 10 + 12 + 5 = 27.5 minutes
    (0, 0, 0, 0, 5),        # never below 5
    (600, 1000, 0, 0, 15),  # 10 + 5 = 15 exactly
    (6, 1000, 2, 0, 15),    # 0.1 + 5 + 8 = 13.1: nearest 5
    (30, 1500, 2, 0, 15),   # 0.5 + 7.5 + 8 = 16: nearest 5
])
def test_total_rounds_to_the_nearest_five_minutes(run_s, words, exercises, questions, total):
    t = lesson_times.LessonTime("02", "02_x.ipynb", run_s, words, exercises, questions)
    assert t.total_min == total


def test_total_is_unknown_without_a_run_time():
    assert lesson_times.LessonTime("02", "02_x.ipynb", None, 100, 1, 1).total_min is None


def test_measure_executes_the_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import time\ntime.sleep(0.2)"),
                nbformat.v4.new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]})]
    path = tmp_path / "99_tiny.ipynb"
    nbformat.write(nb, path)
    seconds = lesson_times.measure_run_seconds(path, timeout=60)
    assert seconds >= 0.2
    assert nbformat.read(path, as_version=4).cells[0].outputs == []  # the file itself is untouched


def test_timings_file_round_trip(tmp_path, capsys):
    saved = tmp_path / "times.json"
    saved.write_text(json.dumps({"run_seconds": {"00": 60.0}}))
    assert lesson_times.main(["--timings", str(saved), "--json", str(ROOT / "notebooks/00_start_here.ipynb")]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["notebook"] == "00" and row["run_s"] == 60.0 and row["total_min"] % 5 == 0
