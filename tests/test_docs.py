"""docs/: the glossary has the course's terms, every link into a document lands on one of its
headings, README links every document, relative links point at files that exist, and notebook 00
shows the request-path diagram of docs/request-paths.md, which the lessons link to."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GLOSSARY = DOCS / "glossary.md"
REQUEST_PATHS = DOCS / "request-paths.md"
MERMAID = re.compile(r"```mermaid\n.*?```", re.S)
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


def anchors_of(document: Path) -> set[str]:
    """The anchors of every heading in a Markdown file (outside code blocks)."""
    text = re.sub(r"```.*?```", "", document.read_text(encoding="utf-8"), flags=re.S)
    return {github_anchor(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}


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
def test_relative_links_point_at_files_and_headings(where, text, base):
    prose = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", text, flags=re.S))
    for target in LINK.findall(prose):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # external links and same-page anchors
        path, _, fragment = target.partition("#")
        resolved = (base / path).resolve()
        assert resolved.exists(), f"{where}: {target} does not exist"
        if resolved.suffix == ".md" and fragment:
            assert fragment in anchors_of(resolved), f"{where}: no heading for #{fragment} in {path}"


def test_readme_links_every_document():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {Path(t.partition("#")[0]).name for t in LINK.findall(readme) if t.startswith("docs/")}
    unlinked = sorted(p.name for p in DOCS.glob("*.md") if p.name not in linked)
    assert not unlinked, f"README should link {unlinked}"


def test_notebook_00_shows_the_request_path_diagram_of_the_docs():
    (diagram,) = MERMAID.findall(REQUEST_PATHS.read_text(encoding="utf-8"))
    cells = json.loads((ROOT / "notebooks" / "00_start_here.ipynb").read_text(encoding="utf-8"))["cells"]
    shown = [MERMAID.search("".join(c["source"])) for c in cells if c["cell_type"] == "markdown"]
    assert [m.group(0) for m in shown if m] == [diagram]


def test_lessons_link_to_parts_of_the_request_path_diagram():
    linked = set()
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        linked |= set(re.findall(r"request-paths\.md#([\w-]+)", text))
    assert linked, "no notebook links to a part of docs/request-paths.md"
    assert linked <= anchors_of(REQUEST_PATHS), sorted(linked - anchors_of(REQUEST_PATHS))


def test_instructor_guide_times_are_the_readme_times():
    """The guide's measured table and the README table give each notebook the same minutes."""
    guide = (DOCS / "instructor-guide.md").read_text(encoding="utf-8")
    table = guide.split("<!-- lesson-times:start -->")[1].split("<!-- lesson-times:end -->")[0]
    totals = {m.group(1): int(m.group(2))
              for m in re.finditer(r"^\| \[(\d\d) · [^|]*\|[^|]*\|[^|]*\|[^|]*\| (\d+) \|", table, re.M)}
    readme = {m.group(1): int(m.group(2)) for m in re.finditer(
        r"^\|\s*(\d\d)\s*\|.*\|\s*(\d+)\s*\|\s*$", (ROOT / "README.md").read_text(encoding="utf-8"), re.M)}
    assert totals and totals == readme
