"""docs/: the glossary has the course's terms, every link into it lands on a heading, README links
every document, and relative links in the docs point at files that exist."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GLOSSARY = DOCS / "glossary.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# The terms the lessons share (the list the notebooks link to); more may be added freely.
REQUIRED_TERMS = [
    "Production variant", "Endpoint configuration", "Endpoint", "Model (SageMaker resource)",
    "Model artifact (model.tar.gz)", "Inference container", "Handler functions", "InService",
    "Cold start", "Provisioned concurrency", "MaxConcurrency", "GB-second", "Transform job",
    "Mini-batch", "MultiRecord", "SplitType", "AssembleWith", "JoinSource",
    "InputFilter / OutputFilter", "Asynchronous inference", "Backlog", "Scale to zero",
    "Target tracking", "Scalable target", "Cooldown", "ModelError", "ThrottlingException",
    "p50 / p95", "Instance-hour", "Tag",
]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def github_anchor(heading: str) -> str:
    """The id GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def glossary_headings() -> list[str]:
    return re.findall(r"^### (.+)$", GLOSSARY.read_text(encoding="utf-8"), flags=re.M)


def test_github_anchor_matches_githubs_rules():
    assert github_anchor("Production variant") == "production-variant"
    assert github_anchor("Model artifact (model.tar.gz)") == "model-artifact-modeltargz"
    assert github_anchor("InputFilter / OutputFilter") == "inputfilter--outputfilter"
    assert github_anchor("Health check (`/ping`)") == "health-check-ping"


def test_glossary_has_every_required_term_once():
    headings = glossary_headings()
    assert len(headings) == len(set(headings)), "a term appears twice"
    missing = [term for term in REQUIRED_TERMS if term not in headings]
    assert not missing, f"add ### headings for {missing}"


def test_glossary_terms_are_in_alphabetical_order():
    headings = glossary_headings()
    assert headings == sorted(headings, key=str.casefold)


def test_every_glossary_entry_says_where_it_is_taught():
    text = GLOSSARY.read_text(encoding="utf-8")
    entries = re.split(r"^### ", text, flags=re.M)[1:]
    notebook_names = {p.name for p in NOTEBOOKS}
    for entry in entries:
        term, body = entry.split("\n", 1)
        assert "Taught in" in body, f"{term}: say which notebook teaches it"
        taught = re.findall(r"\(\.\./notebooks/([^)]+\.ipynb)\)", body)
        assert taught and set(taught) <= notebook_names, f"{term}: links {taught}"
        assert len(body.split()) >= 15, f"{term}: define it in a sentence or two"


def _markdown_sources() -> list[tuple[str, str, Path]]:
    """(where, markdown text, folder links are relative to) for README, docs and notebooks."""
    sources = [("README.md", (ROOT / "README.md").read_text(encoding="utf-8"), ROOT)]
    sources += [(p.name, p.read_text(encoding="utf-8"), DOCS) for p in sorted(DOCS.glob("*.md"))]
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        sources.append((path.name, text, path.parent))
    return sources


@pytest.mark.parametrize(("where", "text", "base"), _markdown_sources(),
                         ids=[s[0] for s in _markdown_sources()])
def test_relative_links_point_at_files_and_glossary_headings(where, text, base):
    anchors = {github_anchor(h) for h in glossary_headings()}
    prose = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", text, flags=re.S))
    for target in LINK.findall(prose):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # external links and same-page anchors
        path, _, fragment = target.partition("#")
        resolved = (base / path).resolve()
        assert resolved.exists(), f"{where}: {target} does not exist"
        if resolved == GLOSSARY.resolve() and fragment:
            assert fragment in anchors, f"{where}: no glossary heading for #{fragment}"


def test_readme_links_every_document():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {Path(t.partition("#")[0]).name for t in LINK.findall(readme) if t.startswith("docs/")}
    unlinked = sorted(p.name for p in DOCS.glob("*.md") if p.name not in linked)
    assert not unlinked, f"README should link {unlinked}"
