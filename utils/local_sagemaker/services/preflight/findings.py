"""What the preflight found: one :class:`Finding` per check, gathered in a :class:`Report`."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from enum import Enum


class Severity(Enum):
    """``ERROR``: it would not deploy or not answer; ``WARNING``: it would, with a risk worth
    knowing; ``OK``: the check passed."""

    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


_MARK = {Severity.OK: "PASS", Severity.WARNING: "WARN", Severity.ERROR: "FAIL"}


@dataclass(frozen=True)
class Finding:
    """One check's result: what was found, what AWS would show for it, and the fix."""

    check: str
    severity: Severity
    summary: str
    #: The text AWS shows for this problem (FailureReason, ModelError, or the container log line).
    aws_shows: str | None = None
    fix: str | None = None

    def format(self, width: int = 100) -> str:
        lines = [f"{_MARK[self.severity]}  {self.check:<10} {self.summary}"]
        for label, text in (("AWS shows", self.aws_shows), ("Fix", self.fix)):
            if text:
                wrapped = textwrap.fill(
                    text, width, initial_indent=f"      {label + ':':<11}",
                    subsequent_indent=" " * 17, break_long_words=False, break_on_hyphens=False,
                )
                lines.append(wrapped)
        return "\n".join(lines)


def ok(check: str, summary: str) -> Finding:
    return Finding(check, Severity.OK, summary)


def warning(check: str, summary: str, aws_shows: str | None, fix: str | None) -> Finding:
    return Finding(check, Severity.WARNING, summary, aws_shows, fix)


def error(check: str, summary: str, aws_shows: str | None, fix: str | None) -> Finding:
    return Finding(check, Severity.ERROR, summary, aws_shows, fix)


@dataclass
class Report:
    """Every finding of one preflight, in the order the checks ran."""

    artifact: str
    image: str
    findings: list[Finding] = field(default_factory=list)
    #: Wall-clock seconds the whole preflight took.
    seconds: float = 0.0
    #: The container log of the trial instance (empty when no instance was started).
    log: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def passed(self) -> bool:
        """True when the artifact would deploy and answer: no finding is an error."""
        return not self.errors

    def format(self) -> str:
        head = f"Preflight of {self.artifact} for {self.image}"
        body = "\n".join(finding.format() for finding in self.findings)
        problems = len(self.errors)
        if problems:
            verdict = (
                f"Result: FAIL, {problems} problem{'s' if problems > 1 else ''} to fix before "
                f"deploying (checked in {self.seconds:.1f} s)."
            )
        else:
            verdict = f"Result: PASS, it would deploy and answer (checked in {self.seconds:.1f} s)."
        return f"{head}\n\n{body}\n\n{verdict}"
