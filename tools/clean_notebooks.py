"""Strip volatile metadata from the tutorial notebooks, keeping their outputs.

Outputs stay: strict nbval compares them, and a learner reading on GitHub sees real results.
What goes: per-cell execution timestamps, UI state (collapsed/scrolled), the stored widget
state, and the kernel's patch-level Python version. Without the widget state a stored widget
view can only show an error ("model not found") or its placeholder text, so where an output also
carries a static form (HTML or an image, e.g. the decision helper's snapshot) only that is kept.
Run after executing a notebook:

    python tools/clean_notebooks.py            # rewrite every notebook in notebooks/
    python tools/clean_notebooks.py --check    # exit 1 if any notebook needs cleaning
"""

from __future__ import annotations

import argparse
import json
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
