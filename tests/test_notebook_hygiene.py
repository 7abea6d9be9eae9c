"""The notebooks are the product's face: committed with real outputs, without volatile metadata.

Strict nbval (run separately) compares outputs; these checks make sure there is something to
compare and nothing that changes from run to run or machine to machine.
"""

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
sys.path.insert(0, str(ROOT / "tools"))
import clean_notebooks  # noqa: E402

# Absolute paths of a particular machine must never show in committed outputs.
MACHINE_PATH = re.compile(r"(/home/|/root/|/Users/|/tmp/|/work/|C:\\\\Users)")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _ids(paths):
    return [p.name for p in paths]


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_name_is_numbered(path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_metadata_is_clean(path):
    text = path.read_text(encoding="utf-8")
    cleaned = clean_notebooks.serialise(clean_notebooks.clean(json.loads(text)))
    assert cleaned == text, f"run: python tools/clean_notebooks.py {path.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_every_code_cell_was_executed_in_order(path):
    cells = [c for c in _load(path)["cells"] if c["cell_type"] == "code" and c["source"]]
    counts = [c["execution_count"] for c in cells]
    assert None not in counts, "commit the notebook executed top to bottom, with its outputs"
    assert counts == sorted(counts), "cells were executed out of order"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_errors_only_where_tagged(path):
    for cell in _load(path)["cells"]:
        if cell["cell_type"] != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        has_error = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if has_error:
            assert "raises-exception" in tags, "".join(cell["source"])[:200]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_opens_with_title_and_ends_with_cleanup(path):
    cells = _load(path)["cells"]
    first = "".join(cells[0]["source"])
    number = path.name[:2]
    assert first.startswith(f"# {number} · "), "first cell: '# NN · Title' then the promise"
    code = [c for c in cells if c["cell_type"] == "code" and c["source"]]
    last = "".join(code[-1]["source"]).lower()
    assert "clean" in last or "delete" in last, "the last code cell cleans up"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_machine_paths_in_outputs(path):
    for cell in _load(path)["cells"]:
        for output in cell.get("outputs", []):
            text = json.dumps(output.get("text", "")) + json.dumps(output.get("data", {}).get("text/plain", ""))
            assert not MACHINE_PATH.search(text), text[:300]


def test_clean_keeps_the_static_form_of_a_widget_output():
    # Without the stored widget state a widget view shows only "model not found": where an
    # output also has HTML (the decision helper's snapshot), only the HTML is committed.
    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {
                            clean_notebooks.WIDGET_VIEW: view,
                            "text/html": "<b>snapshot</b>",
                            "text/plain": "summary",
                        },
                    },
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {clean_notebooks.WIDGET_VIEW: view, "text/plain": "Output()"},
                    },
                ],
            }
        ],
        "metadata": {"widgets": {"state": "..."}},
    }
    outputs = clean_notebooks.clean(nb)["cells"][0]["outputs"]
    assert set(outputs[0]["data"]) == {"text/html", "text/plain"}
    assert clean_notebooks.WIDGET_VIEW in outputs[1]["data"]  # no static form: left to the test below
    assert "widgets" not in nb["metadata"]


# What a widget's text form looks like when no kernel can draw the widget.
WIDGET_REPR = re.compile(r"^(VBox|HBox|Box|Output|FloatProgress|IntProgress|HTML|Tab|Accordion)\(")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_widget_placeholders_in_outputs(path):
    # GitHub, nbviewer and a JupyterLab that has not run the cell cannot draw a stored widget
    # (its state is not committed): an output must carry something static to show instead.
    for cell in _load(path)["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            assert clean_notebooks.WIDGET_VIEW not in data, "".join(cell["source"])[:200]
            plain = "".join(data.get("text/plain", ""))
            assert not WIDGET_REPR.match(plain), plain[:200]


def test_clean_joins_the_pieces_of_one_stream():
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": "", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": ["Creating   0.0 s\n"]},
        {"output_type": "stream", "name": "stdout", "text": ["InService  4.3 s\n", "done"]},
        {"output_type": "stream", "name": "stdout", "text": ["\n"]},
        {"output_type": "stream", "name": "stderr", "text": ["warning\n"]},
        {"output_type": "stream", "name": "stdout", "text": ["after\n"]},
    ]}]}
    outputs = clean_notebooks.clean(nb)["cells"][0]["outputs"]
    assert outputs == [
        {"output_type": "stream", "name": "stdout",
         "text": ["Creating   0.0 s\n", "InService  4.3 s\n", "done\n"]},
        {"output_type": "stream", "name": "stderr", "text": ["warning\n"]},
        {"output_type": "stream", "name": "stdout", "text": ["after\n"]},
    ]
