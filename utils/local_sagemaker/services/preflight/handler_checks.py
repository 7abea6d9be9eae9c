"""The handler script, read but not run: imports, ``model_fn``, the handler signatures, and
whether the handlers look at the content type.

The scikit-learn container imports the script and calls ``model_fn(model_dir)`` on a worker's
first request (normally ``/ping``), then per request ``input_fn(body, content_type)`` ->
``predict_fn(data, model)`` -> ``output_fn(prediction, accept)``, or one
``transform_fn(model, body, content_type, accept)`` instead of those three
(aws/sagemaker-scikit-learn-container ``serving.py``). A failure while importing or in
``model_fn`` fails the ping health check; a failure in the others is a ModelError per request.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from werkzeug.exceptions import InternalServerError

from ...core.images import SKLEARN_IMAGE_MODULES
from ...core.messages import model_error, ping_failure_reason
from .archive_checks import VARIANT
from .findings import Finding, error, ok, warning

#: Handler -> the arguments the container passes, by position.
HANDLER_ARGUMENTS = {
    "model_fn": ("model_dir",),
    "input_fn": ("request_body", "request_content_type"),
    "predict_fn": ("input_data", "model"),
    "output_fn": ("prediction", "accept"),
    "transform_fn": ("model", "request_body", "content_type", "accept"),
}

#: Distribution names whose import name differs (a requirements.txt line names distributions).
IMPORT_NAMES = {
    "scikit-learn": "sklearn",
    "pyyaml": "yaml",
    "python-dateutil": "dateutil",
    "pillow": "PIL",
    "opencv-python": "cv2",
    "opencv-python-headless": "cv2",
    "beautifulsoup4": "bs4",
    "protobuf": "google",
}

#: Flask's page for an unhandled exception (werkzeug's), the body SageMaker quotes in the
#: ModelError of a handler that raises.
FLASK_500 = InternalServerError().get_body()

ENDPOINT = "your-endpoint"  # quoted in ModelError texts; any name works


def requirement_modules(code_dir: Path) -> set[str]:
    """Import names of the distributions ``code/requirements.txt`` installs (best effort)."""
    path = code_dir / "requirements.txt"
    if not path.is_file():
        return set()
    names = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if not match or line.startswith("-"):
            continue
        dist = match.group(1).lower().replace("_", "-")
        names.add(IMPORT_NAMES.get(dist, dist.replace("-", "_").replace(".", "_")))
    return names


def _module_level_imports(tree: ast.Module) -> list[tuple[str, int]]:
    """(top-level module, line) for imports that run when the script is imported; an import
    guarded by ``try``/``except ImportError`` is the script's own business."""
    found: list[tuple[str, int]] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.extend((alias.name.split(".")[0], node.lineno) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.append((node.module.split(".")[0], node.lineno))
            elif isinstance(node, ast.If):
                visit(node.body)
                visit(node.orelse)

    visit(tree.body)
    return found


def check_imports(tree: ast.Module, code_dir: Path, program: str, image_known: bool) -> Finding:
    """Every module-level import is satisfied by the standard library, the image, the code
    folder itself or ``requirements.txt``."""
    local = {p.stem for p in code_dir.glob("*.py")} | {
        p.name for p in code_dir.iterdir() if p.is_dir() and (p / "__init__.py").is_file()
    }
    required = requirement_modules(code_dir)
    missing = []
    for module, line in _module_level_imports(tree):
        if module in sys.stdlib_module_names or module in local or module in required:
            continue
        if module == "__future__":
            continue
        if image_known:
            available = module in SKLEARN_IMAGE_MODULES
        else:  # an image we hold no table for: judge by what this Python has
            import importlib.util

            available = importlib.util.find_spec(module) is not None
        if not available:
            missing.append((module, line))
    if not missing:
        return ok("imports", f"every import of {program} is in the image or the code folder")
    module, line = missing[0]
    names = ", ".join(sorted({m for m, _ in missing}))
    hint = (
        f"{program} imports `{module}` from this project, which does not travel with the "
        "model: copy what it needs into the code folder."
        if module == "utils"
        else f"Add the package that provides `{module}` to code/requirements.txt (the "
        "container pip-installs it at start), or stop importing it."
    )
    return error(
        "imports",
        f"{program} line {line} imports {names}, which the image does not have",
        f"{ping_failure_reason(VARIANT)} The log shows: ModuleNotFoundError: No module named "
        f"'{module}'",
        hint,
    )


def _positional(fn: ast.FunctionDef) -> tuple[int, int, bool]:
    """(required, accepted, takes *args) positional parameters of ``fn``."""
    args = fn.args
    positional = len(args.posonlyargs) + len(args.args)
    return positional - len(args.defaults), positional, args.vararg is not None


def _param(fn: ast.FunctionDef, position: int) -> str | None:
    params = [*fn.args.posonlyargs, *fn.args.args]
    return params[position].arg if position < len(params) else None


def _reads(fn: ast.FunctionDef, name: str) -> bool:
    """True when the function's body reads ``name``."""
    return any(
        isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)
        for node in ast.walk(fn)
    )


def check_handlers(tree: ast.Module, program: str) -> list[Finding]:
    """``model_fn`` exists, no ``transform_fn`` beside the other three, signatures the container
    can call, and handlers that read the content type they are given."""
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name in HANDLER_ARGUMENTS
    }
    findings: list[Finding] = []
    fails_ping = ping_failure_reason(VARIANT)
    per_request = model_error(ENDPOINT, 500, FLASK_500.encode()).message
    if "model_fn" not in functions:
        findings.append(
            error(
                "handlers", f"{program} has no model_fn; the container has no default for it",
                f"{fails_ping} The log shows: NotImplementedError: Please provide a model_fn "
                "implementation.",
                "Define model_fn(model_dir) that loads and returns the model from model_dir.",
            )
        )
    mixed = [n for n in ("input_fn", "predict_fn", "output_fn") if n in functions]
    if "transform_fn" in functions and mixed:
        findings.append(
            error(
                "handlers", f"{program} defines transform_fn and {', '.join(mixed)}",
                f"{fails_ping} The log shows: UserError: Cannot use transform_fn implementation "
                "with input_fn, predict_fn, and/or output_fn",
                "Keep either transform_fn alone, or input_fn/predict_fn/output_fn.",
            )
        )
    for name, fn in functions.items():
        expected = HANDLER_ARGUMENTS[name]
        required, accepted, varargs = _positional(fn)
        n = len(expected)
        if required <= n and (accepted >= n or varargs):
            continue
        given = f"{n} positional argument{'s' if n > 1 else ''}"
        takes = (
            f"{name}() takes {accepted} positional argument{'s' if accepted != 1 else ''} but "
            f"{n} {'were' if n > 1 else 'was'} given"
            if accepted < n
            else f"{name}() missing {required - n} required positional argument"
            f"{'s' if required - n > 1 else ''}: "
            + " and ".join(repr(p.arg) for p in [*fn.args.posonlyargs, *fn.args.args][n:required])
        )
        findings.append(
            error(
                "handlers", f"the container calls {name} with {given}, its definition "
                f"(line {fn.lineno}) does not accept that",
                f"{fails_ping if name == 'model_fn' else per_request} The log shows: "
                f"TypeError: {takes}",
                f"Define it as {name}({', '.join(expected)}).",
            )
        )
    for name, position, what in (
        ("input_fn", 1, "the request's Content-Type"),
        ("output_fn", 1, "the request's Accept"),
        ("transform_fn", 2, "the request's Content-Type"),
    ):
        handler = functions.get(name)
        param = _param(handler, position) if handler is not None else None
        if handler is not None and param is not None and not _reads(handler, param):
            findings.append(
                warning(
                    "content", f"{name} never reads {what} (its parameter '{param}')",
                    "A request in another format gets a wrong answer, or a ModelError (the "
                    "container's 500) whose message only points to the CloudWatch logs.",
                    f"Branch on {param} and raise a clear error for a type the handler cannot "
                    f"read, e.g. `if {param} != 'text/csv': raise ValueError(...)`.",
                )
            )
    if not findings:
        defined = ", ".join(sorted(functions)) or "none"
        findings.append(ok("handlers", f"handlers the container can call ({defined})"))
    return findings


def check_script(code_dir: Path, program: str, image_known: bool) -> list[Finding]:
    """Parse the handler script and run the import and handler checks on it."""
    script = code_dir / program
    source = script.read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(source, filename=program)
    except SyntaxError as exc:
        return [
            error(
                "handlers", f"{program} line {exc.lineno}: {exc.msg}",
                f"{ping_failure_reason(VARIANT)} The log shows: SyntaxError: {exc.msg}",
                "Fix the syntax error; `python -m py_compile` on the script finds it too.",
            )
        ]
    return [check_imports(tree, code_dir, program, image_known), *check_handlers(tree, program)]
