"""Project locations, derived from this file rather than from the current working directory.

Notebooks run from ``notebooks/``, tests from the project root, and the local SageMaker from
wherever it was started; every one of them must find the same data and build folders, so nothing
here looks at ``os.getcwd()``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The checkout's top folder (the one holding ``utils/``, ``data/`` and ``notebooks/``).
PROJECT_ROOT: Path = Path(__file__).resolve().parent.parent

#: Shipped, real data sets (read-only at run time).
DATA_DIR: Path = PROJECT_ROOT / "data"

#: Everything produced at run time: model artifacts, synthetic data, local SageMaker state.
#: Git ignores it, and deleting it is always safe. ``HANDSON_BUILD_DIR`` puts it elsewhere: the
#: test suite's AWS rehearsal runs every notebook a second time while the local run of the same
#: notebook may be going on, and the two must not write (and clean up) the same folders.
BUILD_DIR: Path = Path(os.environ.get("HANDSON_BUILD_DIR") or PROJECT_ROOT / "build")


def project_relative(path: str | Path) -> str:
    """Return ``path`` as a POSIX string relative to the project root when it lies inside it.

    Notebook outputs are committed and compared by nbval, and learners' machines differ, so
    printed paths must never contain where the checkout happens to live. Paths outside the
    project (a temporary folder, say) come back unchanged.
    """
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def build_dir(*parts: str) -> Path:
    """Return (and create) a folder under :data:`BUILD_DIR`, e.g. ``build_dir("01_inference_basics")``."""
    folder = BUILD_DIR.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
