"""Self-check questions at the end of a lesson: answered in the notebook, readable anywhere.

`self_check("02")` shows the questions in `utils/self_checks/02.json`. Each answer is a
collapsible HTML `<details>` element: the learner clicks the answer they believe is right and
sees at once whether it is, and why. That needs no kernel, no JavaScript and no widget state, so
the same stored output works in JupyterLab, on GitHub and nbviewer, and is identical on every
run (strict nbval compares it). A PDF made through LaTeX uses the Markdown form, which lists the
answers after the questions.

Why not a quiz library: the maintained ones (jupyterquiz, for one) build their questions in
JavaScript, so GitHub and a PDF show nothing, and their stored output carries a random element
id that changes on every run; widget-based ones show `VBox(...)` without a kernel.

Question files are data, checked by `load()`: a title, 3 to 5 questions, each with 2 to 5
answers of which exactly one is right, an explanation, and the sources its facts come from.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from IPython.display import display

QUESTIONS_DIR = Path(__file__).with_name("self_checks")
MIN_QUESTIONS, MAX_QUESTIONS = 3, 5
MIN_OPTIONS, MAX_OPTIONS = 2, 5
LETTERS = "ABCDE"

_QUESTION_KEYS = {"question", "options", "explanation", "sources"}
_OPTION_KEYS = {"text", "correct", "why"}
_CODE = re.compile(r"`([^`]+)`")
_EMPHASIS = re.compile(r"(?<![*\w])\*([^*\s][^*]*)\*(?![*\w])")


class SelfCheckError(ValueError):
    """A question file that does not have the documented shape."""


@dataclass(frozen=True)
class Option:
    text: str
    correct: bool
    why: str = ""  # shown when this answer is clicked; for a wrong one, why it is wrong


@dataclass(frozen=True)
class Question:
    prompt: str
    options: tuple[Option, ...]
    explanation: str
    sources: tuple[str, ...]

    @property
    def answer_index(self) -> int:
        return next(i for i, option in enumerate(self.options) if option.correct)


@dataclass(frozen=True)
class SelfCheck:
    """One notebook's questions; IPython shows it as HTML, Markdown or plain text."""

    notebook: str
    title: str
    questions: tuple[Question, ...]

    def _heading(self) -> str:
        return f"Check your understanding · {self.notebook} {self.title}"

    def _repr_html_(self) -> str:
        parts = [
            '<div class="handson-self-check">',
            f"<p><strong>{_inline(self._heading())}</strong><br>"
            "Pick an answer, then click it: it opens to say whether it is right, and why.</p>",
            "<ol>",
        ]
        for question in self.questions:
            parts.append(f"<li><p>{_inline(question.prompt)}</p>")
            for letter, option in zip(LETTERS, question.options, strict=False):
                parts.append(
                    f"<details><summary>{letter}. {_inline(option.text)}</summary>"
                    f"<blockquote>{_feedback_html(option, question)}</blockquote></details>"
                )
            parts.append("</li>")
        parts.append("</ol>")
        parts.append("<details><summary>All answers</summary><ol>")
        for question in self.questions:
            parts.append(
                f"<li>{LETTERS[question.answer_index]}. {_inline(question.explanation)}</li>"
            )
        parts.append("</ol></details></div>")
        return "\n".join(parts)

    def _repr_markdown_(self) -> str:
        lines = [f"**{self._heading()}**", ""]
        for number, question in enumerate(self.questions, start=1):
            lines.append(f"{number}. {question.prompt}")
            lines.append("")
            lines.extend(
                f"   - {letter}. {option.text}"
                for letter, option in zip(LETTERS, question.options, strict=False)
            )
            lines.append("")
        lines.append("**Answers**")
        lines.append("")
        for number, question in enumerate(self.questions, start=1):
            lines.append(f"{number}. {LETTERS[question.answer_index]}. {question.explanation}")
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return self._repr_markdown_().replace("**", "")


def _inline(text: str) -> str:
    """Escape text for HTML, keeping the Markdown `code` and *emphasis* the files use."""
    escaped = html.escape(text, quote=False)
    return _EMPHASIS.sub(r"<em>\1</em>", _CODE.sub(r"<code>\1</code>", escaped))


def _feedback_html(option: Option, question: Question) -> str:
    if option.correct:
        return f"✔ <strong>Right.</strong> {_inline(question.explanation)}"
    why = f" {_inline(option.why)}" if option.why else ""
    return f"✘ <strong>Not this one.</strong>{why} Try another answer."


def path_for(notebook: str) -> Path:
    """The question file of a notebook: utils/self_checks/NN.json."""
    if not re.fullmatch(r"\d\d", notebook):
        raise SelfCheckError(f"notebook must be two digits such as '02', not {notebook!r}")
    return QUESTIONS_DIR / f"{notebook}.json"


def load(notebook: str) -> SelfCheck:
    """Read and check a notebook's question file; errors name the file and the question."""
    path = path_for(notebook)
    if not path.is_file():
        raise SelfCheckError(f"no self-check questions for notebook {notebook}: {path.name} is missing")
    raw = json.loads(path.read_text(encoding="utf-8"))
    return parse(raw, notebook, where=path.name)


def parse(raw: object, notebook: str, where: str = "questions") -> SelfCheck:
    """Check the shape of one question file's content and build the SelfCheck."""
    if not isinstance(raw, dict) or set(raw) != {"notebook", "title", "questions"}:
        raise SelfCheckError(f"{where}: expected exactly the keys notebook, title, questions")
    if raw["notebook"] != notebook:
        raise SelfCheckError(f"{where}: says notebook {raw['notebook']!r}, expected {notebook!r}")
    title = _text(raw["title"], f"{where}: title")
    items = raw["questions"]
    if not isinstance(items, list) or not MIN_QUESTIONS <= len(items) <= MAX_QUESTIONS:
        raise SelfCheckError(f"{where}: needs {MIN_QUESTIONS} to {MAX_QUESTIONS} questions")
    questions = tuple(
        _question(item, f"{where}, question {number}")
        for number, item in enumerate(items, start=1)
    )
    return SelfCheck(notebook=notebook, title=title, questions=questions)


def _question(item: object, where: str) -> Question:
    if not isinstance(item, dict) or set(item) != _QUESTION_KEYS:
        raise SelfCheckError(f"{where}: expected exactly the keys {sorted(_QUESTION_KEYS)}")
    options = item["options"]
    if not isinstance(options, list) or not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise SelfCheckError(f"{where}: needs {MIN_OPTIONS} to {MAX_OPTIONS} answers")
    parsed = tuple(_option(o, f"{where}, answer {LETTERS[i]}") for i, o in enumerate(options))
    right = sum(option.correct for option in parsed)
    if right != 1:
        raise SelfCheckError(f"{where}: exactly one answer must be right, found {right}")
    if len({option.text for option in parsed}) != len(parsed):
        raise SelfCheckError(f"{where}: two answers have the same text")
    sources = item["sources"]
    if not isinstance(sources, list) or not sources:
        raise SelfCheckError(f"{where}: list the sources of its facts")
    return Question(
        prompt=_text(item["question"], f"{where}: question"),
        options=parsed,
        explanation=_text(item["explanation"], f"{where}: explanation"),
        sources=tuple(_text(s, f"{where}: source") for s in sources),
    )


def _option(item: object, where: str) -> Option:
    if not isinstance(item, dict) or not {"text", "correct"} <= set(item) <= _OPTION_KEYS:
        raise SelfCheckError(f"{where}: expected the keys text, correct and optionally why")
    if not isinstance(item["correct"], bool):
        raise SelfCheckError(f"{where}: correct must be true or false")
    why = _text(item["why"], f"{where}: why") if "why" in item else ""
    return Option(text=_text(item["text"], f"{where}: text"), correct=item["correct"], why=why)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SelfCheckError(f"{where} must be non-empty text")
    return value.strip()


def self_check(notebook: str) -> None:
    """Show a notebook's self-check questions, e.g. `self_check("02")`."""
    display(load(notebook))
