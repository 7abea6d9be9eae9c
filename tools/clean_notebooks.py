"""Strip volatile metadata from the tutorial notebooks, keeping their outputs.

Outputs stay: strict nbval compares them, and a learner reading on GitHub sees real results.
What goes: per-cell execution timestamps, UI state (collapsed/scrolled), the stored widget
state, and the kernel's patch-level Python version. Consecutive pieces of one stream (stdout,
stderr) are joined into one output: the kernel sends a cell's printing in pieces as it flushes,
and a piece boundary (even between a line and its newline) would otherwise show as a separate,
sometimes empty, output on GitHub; nbval joins them the same way before comparing. Without the widget state a stored widget
view can only show an error ("model not found") or its placeholder text, so where an output also
carries a static form (HTML or an image, e.g. the decision helper's snapshot) only that is kept.
Run after executing a notebook:

    python tools/clean_notebooks.py            # rewrite every notebook in notebooks/
    python tools/clean_notebooks.py --check    # exit 1 if any notebook needs cleaning
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VOLATILE_CELL_KEYS = ("execution", "collapsed", "scrolled", "ExecuteTime")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STATIC_FORMS = ("text/html", "image/png", "image/svg+xml")
KEPT_NOTEBOOK_KEYS = ("kernelspec", "language_info")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def clean(nb: dict) -> dict:
    """Return the notebook with volatile metadata removed (outputs untouched)."""
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {})
        for key in VOLATILE_CELL_KEYS:
            meta.pop(key, None)
        if "outputs" in cell:
            cell["outputs"] = _joined_streams(cell["outputs"])
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and any(form in data for form in STATIC_FORMS):
                del data[WIDGET_VIEW]
    meta = nb.setdefault("metadata", {})
    for key in list(meta):
        if key not in KEPT_NOTEBOOK_KEYS:
            del meta[key]
    meta["kernelspec"] = KERNELSPEC
    meta["language_info"] = {"name": "python"}
    return nb


def _joined_streams(outputs: list[dict]) -> list[dict]:
    """Outputs with each run of same-stream pieces joined into one, its text as lines, without
    what a carriage return wrote over."""
    joined: list[dict] = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (
            previous is not None
            and output.get("output_type") == "stream"
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            previous["text"] = _text(previous["text"]) + _text(output["text"])
        else:
            joined.append(output)
    for output in joined:
        if output.get("output_type") == "stream":
            text = OVERWRITTEN.sub("", _text(output["text"]))
            output["text"] = text.splitlines(keepends=True)
    return joined


#: Text a carriage return writes over (a helper's live progress line, utils/progress.py): the
#: rule nbval applies before comparing, so the committed text is what nbval compares with.
OVERWRITTEN = re.compile(r"^.*\r(?=[^\n])", re.MULTILINE)


def _text(text: str | list[str]) -> str:
    return text if isinstance(text, str) else "".join(text)


def serialise(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report, do not rewrite")
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.paths or sorted((ROOT / "notebooks").glob("*.ipynb"))
    dirty = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        cleaned = serialise(clean(json.loads(text)))
        if cleaned != text:
            dirty.append(path)
            if not args.check:
                path.write_text(cleaned, encoding="utf-8")
    for path in dirty:
        verb = "needs cleaning" if args.check else "cleaned"
        print(f"{verb}: {path.relative_to(ROOT) if path.is_absolute() else path}")
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())
