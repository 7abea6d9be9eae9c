"""The fidelity registry stays in step with the FIDELITY markers in the local SageMaker's code.

``docs/fidelity.md`` and notebook 00's "where it differs from AWS" section are generated from the
markers by ``tools/fidelity.py``; these tests fail when either is stale, when a marker is
incomplete, or when the word UNCONFIRMED appears in the code outside a marker.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import fidelity  # noqa: E402  (tools/ is not a package)

GOOD = '''
def f():
    # FIDELITY transform.example UNCONFIRMED: an example behaviour
    #   local: the local choice, which goes on
    #     over two lines
    #   why: the reason it is the most likely
    #   notice: how a learner would see it
    return 1  # an ordinary comment


# FIDELITY runtime.other CONFIRMED: another behaviour
#   local: what happens
#   source: aws/some-repo#1
# An ordinary comment right after the marker ends it.
'''


def test_markers_are_parsed_with_their_fields():
    markers = fidelity.parse_source(GOOD, "x.py")
    assert [(m.id, m.status, m.title, m.line) for m in markers] == [
        ("transform.example", "UNCONFIRMED", "an example behaviour", 3),
        ("runtime.other", "CONFIRMED", "another behaviour", 11),
    ]
    assert markers[0].fields == {
        "local": "the local choice, which goes on over two lines",
        "why": "the reason it is the most likely",
        "notice": "how a learner would see it",
    }
    assert markers[1].fields == {"local": "what happens", "source": "aws/some-repo#1"}


def test_an_unknown_field_is_refused():
    source = "# FIDELITY runtime.x CONFIRMED: t\n#   locale: typo\n"
    with pytest.raises(fidelity.MarkerError, match="expected one of"):
        fidelity.parse_source(source, "x.py")


def _collect(tmp_path: Path, source: str) -> list[fidelity.Marker]:
    package = tmp_path / "utils" / "local_sagemaker"
    package.mkdir(parents=True)
    (package / "m.py").write_text(source, encoding="utf-8")
    original = fidelity.ROOT
    fidelity.ROOT = tmp_path
    try:
        return fidelity.collect(package)
    finally:
        fidelity.ROOT = original


def test_an_unconfirmed_marker_needs_a_reason_and_a_notice(tmp_path):
    with pytest.raises(fidelity.MarkerError, match="needs why, notice"):
        _collect(tmp_path, "# FIDELITY runtime.x UNCONFIRMED: t\n#   local: l\n")


def test_unconfirmed_outside_a_marker_is_refused(tmp_path):
    with pytest.raises(fidelity.MarkerError, match="outside a FIDELITY marker"):
        _collect(tmp_path, '"""The text is UNCONFIRMED."""\n')


def test_ids_are_unique_and_areas_known(tmp_path):
    twice = "# FIDELITY runtime.x DIFFERS: t\n#   local: l\n#   why: w\n#   notice: n\nx = 1\n" * 2
    with pytest.raises(fidelity.MarkerError, match="also at"):
        _collect(tmp_path, twice)
    (tmp_path / "utils").rename(tmp_path / "old")
    with pytest.raises(fidelity.MarkerError, match="unknown area"):
        _collect(tmp_path, "# FIDELITY nowhere.x CONFIRMED: t\n#   local: l\n#   source: s\n")


def test_the_markers_in_the_code_are_complete():
    markers = fidelity.collect()
    assert markers, "the local SageMaker records its fidelity choices"


def test_docs_fidelity_md_is_generated_from_the_markers():
    expected = fidelity.render_registry(fidelity.collect())
    actual = fidelity.REGISTRY.read_text(encoding="utf-8")
    assert actual == expected, "docs/fidelity.md is stale: run python tools/fidelity.py --write"


def test_notebook_00_shows_the_registry():
    expected = fidelity.render_notebook_section(fidelity.collect())
    assert fidelity.notebook_section()[2] == expected, (
        "notebook 00's fidelity section is stale: run python tools/fidelity.py --write"
    )
