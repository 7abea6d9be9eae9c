"""The fidelity registry: every place where the local SageMaker makes a choice about AWS behaviour.

The local SageMaker copies what AWS does, but not every detail of AWS is public: some error texts
were never quoted anywhere, some behaviours are documented ambiguously. Each such place carries a
*marker* next to the code that implements it, and this tool turns the markers into the registry
(``docs/fidelity.md``), so the list a learner reads is always the list the code has.

A marker is a comment block in ``utils/local_sagemaker``::

    # FIDELITY transform.ping-failure CONFIRMED: a transform container that never answers /ping
    #   local: the job fails with "AlgorithmError: Model container failed to respond to ping. ..."
    #   source: aws/amazon-sagemaker-examples#852 quotes a real job's FailureReason.

* the header names an id (``<area>.<name>``), a status and a short title;
* ``CONFIRMED`` means a public source shows AWS doing this (``source`` is required);
* ``UNCONFIRMED`` means no source settles it: ``why`` says why the choice is the most likely one
  and ``notice`` says how a learner would see a difference on AWS;
* ``DIFFERS`` means the local SageMaker deliberately does something else (``why`` and
  ``notice`` required);
* fields: ``local`` (required: what happens here), ``source``, ``why``, ``notice``. A field goes
  on over the following comment lines until the next field or the end of the block. A link to a
  document in ``docs/`` is written from the repository root (``[endpoint](docs/glossary.md#endpoint)``).

The word UNCONFIRMED may appear in the emulator's code only in a marker header, so every open
question is in the registry. Usage::

    python tools/fidelity.py            # check docs/fidelity.md (exit 1 if stale)
    python tools/fidelity.py --write    # regenerate it
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = ROOT / "utils" / "local_sagemaker"
REGISTRY = ROOT / "docs" / "fidelity.md"

STATUSES = ("DIFFERS", "UNCONFIRMED", "CONFIRMED")
FIELDS = ("local", "source", "why", "notice")
REQUIRED = {
    "CONFIRMED": ("local", "source"),
    "UNCONFIRMED": ("local", "why", "notice"),
    "DIFFERS": ("local", "why", "notice"),
}
#: Areas in the order the registry lists them, with their headings.
AREAS = {
    "platform": "The platform: processes instead of containers",
    "container": "The serving container",
    "endpoint": "Models, endpoint configurations and endpoints",
    "runtime": "Invoking an endpoint",
    "serverless": "Serverless inference",
    "async": "Asynchronous inference",
    "transform": "Transform jobs",
    "batch-data": "Batch data: splitting, joining, filtering, assembling",
    "cost": "Cost",
    "services": "The other AWS services",
    "auth": "Signed requests",
}

HEADER = re.compile(
    r"^#\s*FIDELITY\s+(?P<id>[a-z0-9-]+\.[a-z0-9.-]+)\s+(?P<status>[A-Z]+):\s*(?P<title>\S.*)$"
)
FIELD = re.compile(r"^#\s+(?P<name>[a-z]+):\s*(?P<text>.*)$")


@dataclass
class Marker:
    """One FIDELITY marker: a behaviour, its status and what the registry says about it."""

    id: str
    status: str
    title: str
    path: str
    line: int
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


class MarkerError(ValueError):
    """A marker that does not follow the convention (the message says where and why)."""


def _comments(source: str) -> list[tuple[int, str]]:
    """(line, text) of every comment of a Python source, in order."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [(tok.start[0], tok.string) for tok in tokens if tok.type == tokenize.COMMENT]


def _is_field(text: str) -> bool:
    """``#   name: ...``: three spaces, then the field name."""
    return text.startswith("#   ") and not text[4:5].isspace()


def _is_more(text: str) -> bool:
    """``#     ...``: five or more spaces continue the field above."""
    return text.startswith("#     ")


def parse_source(source: str, path: str) -> list[Marker]:
    """The markers of one Python source file."""
    markers: list[Marker] = []
    current: Marker | None = None
    last_field: str | None = None
    previous_line = -1
    for line, text in _comments(source):
        header = HEADER.match(text)
        if header:
            current = Marker(header["id"], header["status"], header["title"].strip(), path, line)
            if current.status not in STATUSES:
                raise MarkerError(f"{path}:{line}: unknown status {current.status}")
            markers.append(current)
            last_field = None
        elif current is not None and line == previous_line + 1 and _is_field(text):
            match = FIELD.match(text)
            if not match or match["name"] not in FIELDS:
                raise MarkerError(f"{path}:{line}: {current.id}: expected one of {FIELDS}: {text}")
            last_field = match["name"]
            if last_field in current.fields:
                raise MarkerError(f"{path}:{line}: {current.id} repeats '{last_field}'")
            current.fields[last_field] = match["text"].strip()
        elif current is not None and line == previous_line + 1 and last_field and _is_more(text):
            current.fields[last_field] = f"{current.fields[last_field]} {text[1:].strip()}"
        else:
            current = None
        previous_line = line
    return markers


def collect(code: Path = CODE) -> list[Marker]:
    """Every marker under ``code``; raises MarkerError for a malformed or incomplete one."""
    markers: list[Marker] = []
    for file in sorted(code.rglob("*.py")):
        source = file.read_text(encoding="utf-8")
        rel = file.relative_to(ROOT).as_posix()
        found = parse_source(source, rel)
        headers = {m.line for m in found}
        for number, text in enumerate(source.splitlines(), start=1):
            if "UNCONFIRMED" in text and number not in headers:
                raise MarkerError(
                    f"{rel}:{number}: UNCONFIRMED outside a FIDELITY marker header; "
                    "write a marker (see tools/fidelity.py)"
                )
        markers.extend(found)
    seen: dict[str, Marker] = {}
    for marker in markers:
        if marker.id in seen:
            other = seen[marker.id]
            raise MarkerError(f"{marker.path}:{marker.line}: {marker.id} also at {other.path}")
        seen[marker.id] = marker
        if marker.area not in AREAS:
            raise MarkerError(f"{marker.path}:{marker.line}: unknown area '{marker.area}'")
        missing = [f for f in REQUIRED[marker.status] if not marker.fields.get(f)]
        if missing:
            raise MarkerError(
                f"{marker.path}:{marker.line}: {marker.status} marker {marker.id} needs "
                + ", ".join(missing)
            )
    return sorted(markers, key=lambda m: (list(AREAS).index(m.area), m.id))


# -- rendering ----------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _relative_links(text: str, docs: str) -> str:
    """Marker text links to ``docs/...`` from the repository root; ``docs`` is that folder as
    seen from where the text goes (``""`` inside docs/, ``"../docs/"`` from notebooks/)."""
    return text.replace("](docs/", "](" + docs)


def render_registry(markers: list[Marker]) -> str:
    """The text of docs/fidelity.md."""
    counts = {s: sum(m.status == s for m in markers) for s in STATUSES}
    out = [
        "# Fidelity: how close the local SageMaker is to AWS",
        "",
        "<!-- Generated by tools/fidelity.py from the FIDELITY markers in utils/local_sagemaker."
        " Edit the markers, then run: python tools/fidelity.py --write -->",
        "",
        "The local SageMaker answers with AWS's operations, statuses, error codes and messages. "
        "Where a detail is not public, or the local SageMaker cannot do what AWS does, the code "
        "carries a `FIDELITY` marker next to it, and this page lists them all. A test keeps it in "
        "step with the code.",
        "",
        f"{len(markers)} behaviours are recorded: "
        f"**{counts['CONFIRMED']} confirmed** against a public source, "
        f"**{counts['UNCONFIRMED']} unconfirmed** (our best choice, with the reason), and "
        f"**{counts['DIFFERS']} deliberate differences**.",
        "",
        "- *confirmed*: a public source shows AWS doing this: the API reference, the developer "
        "guide, the botocore models, AWS's container and SDK sources, or real service output "
        "quoted in a public thread.",
        "- *unconfirmed*: no source settles it; the entry says why the choice is the most likely "
        "one and how you would notice if AWS does otherwise.",
        "- *differs*: the local SageMaker does something else on purpose, and says so.",
        "",
        "To add or change one, edit the marker in the code (the convention is in "
        "`tools/fidelity.py`) and run `python tools/fidelity.py --write`.",
    ]
    for area, heading in AREAS.items():
        entries = [m for m in markers if m.area == area]
        if not entries:
            continue
        out += ["", f"## {heading}"]
        for m in entries:
            out += ["", f"### `{m.id}`: {m.title}", "", f"*{m.status.lower()}*", ""]
            field = {name: _relative_links(text, "") for name, text in m.fields.items()}
            out.append(f"- **Local:** {field['local']}")
            if field.get("source"):
                out.append(f"- **Source:** {field['source']}")
            if field.get("why"):
                label = "Why it differs" if m.status == "DIFFERS" else "Why this choice"
                out.append(f"- **{label}:** {field['why']}")
            if field.get("notice"):
                out.append(f"- **How you would notice:** {field['notice']}")
            out.append(f"- **Code:** `{m.path}`")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="regenerate the registry")
    args = parser.parse_args(argv)
    markers = collect()
    registry = render_registry(markers)
    if args.write:
        REGISTRY.parent.mkdir(exist_ok=True)
        REGISTRY.write_text(registry, encoding="utf-8")
        print(f"wrote {REGISTRY.relative_to(ROOT)}")
        return 0
    if not REGISTRY.exists() or REGISTRY.read_text(encoding="utf-8") != registry:
        print(f"stale: {REGISTRY.relative_to(ROOT)}; run: python tools/fidelity.py --write")
        return 1
    print(f"{len(markers)} fidelity markers; {REGISTRY.relative_to(ROOT)} is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
