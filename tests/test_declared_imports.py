"""Every third-party module the project imports is declared in requirements.txt and environment.yml.

A module that only arrives as some other package's dependency can disappear with that package's
next release; declaring it makes the install reproducible from the project's own files. The
check reads the imports (``ast``) of every Python file and of every notebook code cell (through
IPython's own cell transformer, so ``!`` and ``%`` lines are handled as Jupyter handles them),
maps each top-level module to the distributions that provide it, and asks that one of them be
declared. environment.yml is kept equal to requirements.txt by ``test_environment_sync.py``.
"""

from __future__ import annotations

import ast
import json
import sys
from importlib import metadata
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYTHON_FOLDERS = ("utils", "tests", "benchmarks", "tools")


def _declared() -> set[str]:
    names = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(canonicalize_name(Requirement(line).name))
    return names


def _top_level_imports(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _sources() -> dict[str, str]:
    """Path -> Python source, for every .py file and every notebook code cell."""
    sources = {}
    for folder in PYTHON_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            sources[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    transformer = TransformerManager()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for number, cell in enumerate(cells):
            if cell["cell_type"] == "code":
                source = transformer.transform_cell("".join(cell["source"]))
                sources[f"{path.relative_to(ROOT)} cell {number}"] = source
    return sources


def _first_party() -> set[str]:
    """Modules of this repository: the ``utils`` package and the scripts beside the tests."""
    names = {"utils"}
    for folder in PYTHON_FOLDERS:
        names.update(path.stem for path in (ROOT / folder).rglob("*.py"))
    return names


def test_every_third_party_import_is_declared() -> None:
    declared = _declared()
    providers = metadata.packages_distributions()
    local = _first_party()
    undeclared: dict[str, list[str]] = {}
    for where, source in _sources().items():
        for module in _top_level_imports(source):
            if module in sys.stdlib_module_names or module in local or module == "__future__":
                continue
            candidates = {canonicalize_name(d) for d in providers.get(module, [])}
            candidates.add(canonicalize_name(module))
            if not candidates & declared:
                undeclared.setdefault(module, []).append(where)
    assert not undeclared, "imported but not declared in requirements.txt: " + "; ".join(
        f"{module} ({', '.join(places[:3])})" for module, places in sorted(undeclared.items())
    )
