"""The nbval sanitizer (tests/nbval_sanitize.cfg), read the way nbval reads it.

nbval takes a rule only where a ``regex: …`` line is followed by a ``replace: …`` line with a
space after the colon; a rule it cannot read is skipped without a word, so these tests parse the
file with nbval's own function.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from nbval.plugin import get_sanitize_patterns

CONFIG = Path(__file__).with_name("nbval_sanitize.cfg")


def sanitize(text: str) -> str:
    """What nbval compares: every rule applied in the file's order."""
    for regex, replace in get_sanitize_patterns(CONFIG.read_text()):
        text = re.sub(regex, replace, text)
    return text


def test_nbval_reads_every_rule() -> None:
    text = CONFIG.read_text()
    sections = re.findall(r"^\[(.+)\]$", text, flags=re.MULTILINE)
    assert len(get_sanitize_patterns(text)) == len(sections), (
        "a section of nbval_sanitize.cfg is not read by nbval (a 'replace:' without a space "
        "and a value after it?)"
    )


@pytest.mark.parametrize("transition", ["Creating", "Updating"])
def test_a_transition_not_seen_by_a_fresh_run_is_not_compared(transition: str) -> None:
    stored = f"{transition:<10} 0.2 s\nInService  1.4 s\nAllTraffic: 2 instances, config c-1f2e3d4c\n"
    fresh = "InService  0.3 s\nAllTraffic: 2 instances, config c-0a9b8c7d\n"
    assert sanitize(stored) == sanitize(fresh)


def test_the_other_statuses_are_still_compared() -> None:
    assert sanitize("Creating   0.1 s\nFailed     0.9 s\n") == "Failed     <DURATION>\n"
    assert sanitize("Creating   0.1 s\nFailed     0.9 s\n") != sanitize("InService  0.9 s\n")
    assert sanitize("Updating   0.1 s\n") == "Updating   <DURATION>\n"  # no status after it: kept
    assert sanitize("Deleting   0.1 s\nDeleted    0.5 s\n").startswith("Deleting")
