"""Self-check questions: every file has the documented shape, and shows the same everywhere."""

import copy
import json
import re

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from utils import self_check
from utils.pricing import PriceTable

NOTEBOOKS = [f"{n:02d}" for n in range(1, 8)]


def _raw(notebook: str) -> dict:
    return json.loads(self_check.path_for(notebook).read_text(encoding="utf-8"))


def test_question_files_are_exactly_01_to_07():
    names = sorted(p.name for p in self_check.QUESTIONS_DIR.iterdir())
    assert names == [f"{n}.json" for n in NOTEBOOKS]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_file_has_the_documented_shape(notebook):
    check = self_check.load(notebook)  # raises SelfCheckError on any departure
    assert 3 <= len(check.questions) <= 5
    for question in check.questions:
        assert sum(option.correct for option in question.options) == 1
        assert question.explanation
        assert question.sources


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_prices_quoted_are_the_price_tables(notebook):
    """A question quoting the price table names its date and its current prices."""
    table = PriceTable.load()
    m5_large = table.instance_hourly("ml.m5.large", "us-east-1", "realtime")
    for question in _raw(notebook)["questions"]:
        text = json.dumps(question)
        if "prices.json" in text:
            assert table.as_of in text, f"{question['question'][:60]}… quotes another price date"
        if "ml.m5.large" in text and re.search(r"\$\d\.\d+ per (instance-)?hour", text):
            assert f"${m5_large:g} per" in text, question["question"][:60]


def test_answers_are_not_always_in_the_same_place():
    positions = {q.answer_index for n in NOTEBOOKS for q in self_check.load(n).questions}
    assert len(positions) >= 3


def _valid() -> dict:
    return copy.deepcopy(_raw("02"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["questions"][0]["options"][0].update(correct=True), "exactly one answer"),
        (lambda d: [o.update(correct=False) for o in d["questions"][1]["options"]], "exactly one answer"),
        (lambda d: d["questions"][0].update(explanation="  "), "explanation must be non-empty"),
        (lambda d: d["questions"][0].update(sources=[]), "sources"),
        (lambda d: d.update(questions=d["questions"][:2]), "3 to 5 questions"),
        (lambda d: d["questions"].extend(d["questions"][:1]), "3 to 5 questions"),
        (lambda d: d["questions"][0].update(options=d["questions"][0]["options"][:1]), "2 to 5 answers"),
        (lambda d: d["questions"][0]["options"][1].update(correct="yes"), "true or false"),
        (lambda d: d["questions"][0].update(hint="x"), "expected exactly the keys"),
        (lambda d: d.update(notebook="03"), "expected '02'"),
        (lambda d: d["questions"][0]["options"][1].update(text=d["questions"][0]["options"][0]["text"]),
         "same text"),
    ],
)
def test_a_malformed_file_is_refused_with_a_message_that_says_where(change, message):
    raw = _valid()
    change(raw)
    with pytest.raises(self_check.SelfCheckError, match=re.escape(message)):
        self_check.parse(raw, "02", where="02.json")


def test_unknown_notebook_is_refused():
    with pytest.raises(self_check.SelfCheckError, match="missing"):
        self_check.load("42")
    with pytest.raises(self_check.SelfCheckError, match="two digits"):
        self_check.load("2")


def _displayed(notebook: str) -> dict:
    InteractiveShell.instance()
    with capture_output() as captured:
        self_check.self_check(notebook)
    (output,) = captured.outputs
    return output.data


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_output_is_static_and_the_same_every_run(notebook):
    first, second = _displayed(notebook), _displayed(notebook)
    assert first == second
    assert set(first) == {"text/html", "text/markdown", "text/plain"}
    assert "<script" not in first["text/html"] and " id=" not in first["text/html"]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_question_shows_with_feedback_and_answer_key(notebook):
    check = self_check.load(notebook)
    data = _displayed(notebook)
    page, markdown = data["text/html"], data["text/markdown"]
    answers_at = markdown.index("**Answers**")
    for number, question in enumerate(check.questions, start=1):
        right = self_check.LETTERS[question.answer_index]
        assert self_check._inline(question.prompt) in page
        # one collapsible answer per option, the right one carrying the explanation
        assert page.count("<details><summary>") == sum(len(q.options) for q in check.questions) + 1
        assert f"✔ <strong>Right.</strong> {self_check._inline(question.explanation)}" in page
        # Markdown (used for PDF): questions first, answers after them
        assert markdown.index(question.prompt) < answers_at
        assert f"{number}. {right}. {question.explanation}" in markdown[answers_at:]
    assert page.count("✔") == len(check.questions)
