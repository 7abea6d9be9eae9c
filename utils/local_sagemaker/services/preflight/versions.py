"""Library versions: the ones the model was trained with against the target image's.

A pickled scikit-learn model only loads reliably with the scikit-learn that saved it; on AWS the
image decides which one runs (table in ``core/images.py``). Two sources say what the model was
trained with: a ``versions.json`` at the archive's root (what this project's packaging writes:
``{"scikit-learn": "1.4.2", "numpy": ..., "python": ...}``), and scikit-learn itself, which warns
with ``InconsistentVersionWarning`` when the worker unpickles an estimator saved by another
version (the worker reports the image's version, ``container/libraries.py``).

A warning is not always all AWS shows. scikit-learn 1.3 added a field (``missing_go_to_left``)
to the node array of its trees, so a tree (``DecisionTree*``, ``ExtraTree*``: also inside random
forests, extra trees, gradient boosting and isolation forests) pickled by 1.3 or later does not
load in an older scikit-learn: ``Tree.__setstate__`` raises ``ValueError: node array from the
pickle has an incompatible dtype`` (``sklearn/tree/_tree.pyx``, ``_check_node_ndarray``), so
on the 1.2-1 image ``model_fn`` fails and the endpoint fails its ping. The local worker runs
this project's scikit-learn and loads it anyway, so the finding says what AWS would show.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ...core.images import SKLEARN_IMAGES, ImageLibraries
from ...core.messages import ping_failure_reason
from .archive_checks import VARIANT
from .findings import Finding, error, ok, warning

VERSIONS_FILE = "versions.json"

#: scikit-learn's warning when it unpickles an estimator from another version.
UNPICKLE_WARNING = re.compile(
    r"Trying to unpickle estimator (?P<estimator>\w+) from version (?P<trained>\S+) when using "
    r"version (?P<serving>\d[\w.+-]*?)\.(?:\s|$)"
)


#: Estimators whose pickle holds a ``sklearn.tree._tree.Tree`` (ensembles of trees unpickle these
#: too, so scikit-learn's warning names them as well).
TREE_ESTIMATOR = re.compile(r"^(?:DecisionTree|ExtraTree)(?:Classifier|Regressor)$")

#: The scikit-learn version whose tree node array gained ``missing_go_to_left``.
TREE_LAYOUT_CHANGED = (1, 3)


def _major_minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def tree_layout_breaks(trained: str, serving: str, estimators: list[str]) -> bool:
    """True when a tree pickled by ``trained`` cannot load in ``serving``: the pickle has the
    node layout of scikit-learn 1.3 or later, the image's scikit-learn is older."""
    saved, loading = _major_minor(trained), _major_minor(serving)
    if saved is None or loading is None:
        return False
    return (
        saved >= TREE_LAYOUT_CHANGED > loading
        and any(TREE_ESTIMATOR.match(name) for name in estimators)
    )


def image_for(scikit_learn: str) -> str | None:
    """An image (repository:tag) that runs ``scikit_learn``, newest first, or None."""
    for framework in sorted(SKLEARN_IMAGES, reverse=True):
        if SKLEARN_IMAGES[framework].scikit_learn == scikit_learn:
            return f"sagemaker-scikit-learn:{framework}-cpu-py3"
    return None


def mismatch_fix(trained: str, serving: str) -> str:
    image = image_for(trained)
    retrain = f"retrain with scikit-learn {serving} (`pip install scikit-learn=={serving}`)"
    if image:
        return f"Serve it with {image} (scikit-learn {trained}), or {retrain}."
    return retrain[0].upper() + retrain[1:] + "."


def check_versions(model_dir: Path, libraries: ImageLibraries | None, image: str) -> list[Finding]:
    """Compare ``versions.json`` (when the archive has one) with the image's versions."""
    if libraries is None:
        return [
            warning(
                "versions", f"{image} is not an image this check knows; library versions not "
                "compared", None,
                "Use an AWS scikit-learn image (--image ...sagemaker-scikit-learn:<version>), or "
                "compare the versions yourself.",
            )
        ]
    path = model_dir / VERSIONS_FILE
    if not path.is_file():
        return [
            ok("versions", f"no {VERSIONS_FILE}; the load below shows whether scikit-learn "
               f"{libraries.scikit_learn} accepts the pickle")
        ]
    try:
        trained = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return [warning("versions", f"{VERSIONS_FILE} is not JSON ({exc})", None, None)]
    findings = []
    sklearn_trained = trained.get("scikit-learn")
    if sklearn_trained and sklearn_trained != libraries.scikit_learn:
        findings.append(
            error(
                "versions", f"trained with scikit-learn {sklearn_trained}, the image runs "
                f"{libraries.scikit_learn}",
                "scikit-learn does not support loading a model saved by another version: it "
                "warns 'Trying to unpickle estimator ... from version "
                f"{sklearn_trained} when using version {libraries.scikit_learn}' and may fail "
                "or predict differently; a model_fn that checks versions fails the ping health "
                "check.",
                mismatch_fix(sklearn_trained, libraries.scikit_learn),
            )
        )
    numpy_trained = str(trained.get("numpy") or "")
    if libraries.numpy and numpy_trained and numpy_trained.split(".")[0] != libraries.numpy.split(".")[0]:
        findings.append(
            warning(
                "versions", f"trained with numpy {numpy_trained}, the image runs "
                f"{libraries.numpy} (another major version)",
                "Arrays pickled by numpy 2 reference numpy._core, which numpy 1 lacks: "
                "ModuleNotFoundError: No module named 'numpy._core'.",
                f"Train with numpy {libraries.numpy}.",
            )
        )
    if not findings:
        findings.append(
            ok("versions", f"trained with scikit-learn {sklearn_trained or '(not recorded)'}, "
               f"as the image runs")
        )
    return findings


def check_unpickling(log: list[str]) -> list[Finding]:
    """scikit-learn's own unpickling warnings in the worker's log, one finding per version."""
    seen: dict[tuple[str, str], list[str]] = {}
    for line in log:
        for match in UNPICKLE_WARNING.finditer(line):
            key = (match.group("trained"), match.group("serving"))
            estimators = seen.setdefault(key, [])
            if match.group("estimator") not in estimators:
                estimators.append(match.group("estimator"))
    return [
        error(
            "versions", f"the pickle was saved by scikit-learn {trained}, the image runs "
            f"{serving} ({', '.join(estimators)})",
            _unpickling_on_aws(trained, serving, estimators),
            mismatch_fix(trained, serving),
        )
        for (trained, serving), estimators in seen.items()
    ]


def _unpickling_on_aws(trained: str, serving: str, estimators: list[str]) -> str:
    """What AWS shows when the image's scikit-learn unpickles these estimators."""
    warned = (
        f"InconsistentVersionWarning: Trying to unpickle estimator {estimators[0]} from version "
        f"{trained} when using version {serving}. This might lead to breaking code or invalid "
        "results. Use at your own risk."
    )
    if tree_layout_breaks(trained, serving, estimators):
        trees = ", ".join(name for name in estimators if TREE_ESTIMATOR.match(name))
        return (
            f"{ping_failure_reason(VARIANT)} The container log shows: {warned} Then the load "
            f"fails ({trees}: scikit-learn {serving} predates the tree node layout of 1.3): "
            "ValueError: node array from the pickle has an incompatible dtype"
        )
    return f"The container log shows: {warned}"
