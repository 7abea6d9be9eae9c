"""Notebook 09's own model: a second model, packaged two ways, and the preflight check run on it.

The model is deliberately unlike the course's loan pipeline: a random forest on the seven
numeric columns of the German Credit data only (no one-hot encoding), with a handler script the
notebook writes itself. :func:`package` builds ``model.tar.gz`` with the script inside
(``code/inference.py``); :func:`package_sourcedir` builds the SDK v2 pair, a model-only archive
and a ``sourcedir.tar.gz`` for ``SAGEMAKER_SUBMIT_DIRECTORY``. :func:`preflight` runs
``python -m utils.local_sagemaker preflight`` exactly as a learner would in a terminal or in CI,
on an archive or (``--model``) on a model already created, such as ``ModelBuilder.build()``'s.
"""

from __future__ import annotations

import io
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

from utils.artifact import write_archive
from utils.data import LABEL, NUMERIC_COLUMNS, POSITIVE_CLASS, load_german_credit
from utils.paths import PROJECT_ROOT, project_relative

#: The file the handler script's ``model_fn`` loads.
MODEL_FILE = "risk_model.joblib"


@dataclass(frozen=True)
class RiskModel:
    """The fitted forest and what it was trained on."""

    forest: RandomForestClassifier
    columns: list[str]
    accuracy: float  # on a held-out quarter of the data


def train_risk_model(seed: int = 0) -> RiskModel:
    """A random forest scoring the probability of default from the numeric columns only."""
    frame = load_german_credit()
    x = frame[NUMERIC_COLUMNS].to_numpy(dtype="float64")
    y = (frame[LABEL] == POSITIVE_CLASS).astype(int).to_numpy()
    test = pd.Series(range(len(frame))).sample(frac=0.25, random_state=seed).to_numpy()
    train = sorted(set(range(len(frame))) - set(test))
    forest = RandomForestClassifier(n_estimators=50, max_depth=6, random_state=seed)
    forest.fit(x[train], y[train])
    accuracy = float((forest.predict(x[test]) == y[test]).mean())
    return RiskModel(forest, list(NUMERIC_COLUMNS), accuracy)


def _model_bytes(model: RiskModel) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(model.forest, buffer)
    return buffer.getvalue()


def package(
    model: RiskModel,
    handler: str,
    out_dir: Path,
    requirements: str | None = None,
    inside_folder: str | None = None,
) -> Path:
    """Write ``out_dir/model.tar.gz``: the model, ``code/inference.py`` (``handler``) and, when
    given, ``code/requirements.txt``. ``inside_folder`` puts everything under that folder, as
    ``tar -czf model.tar.gz risk_model/`` does (a common mistake)."""
    files = {MODEL_FILE: _model_bytes(model), "code/inference.py": handler.encode()}
    if requirements is not None:
        files["code/requirements.txt"] = requirements.encode()
    if inside_folder:
        files = {f"{inside_folder}/{name}": data for name, data in files.items()}
    return write_archive(Path(out_dir) / "model.tar.gz", files)


def package_sourcedir(model: RiskModel, handler: str, out_dir: Path) -> tuple[Path, Path]:
    """The SDK v2 ``entry_point``/``source_dir`` pair: ``model.tar.gz`` with the model only, and
    ``sourcedir.tar.gz`` with ``inference.py`` at its top."""
    out_dir = Path(out_dir)
    model_only = write_archive(out_dir / "model.tar.gz", {MODEL_FILE: _model_bytes(model)})
    source = write_archive(out_dir / "sourcedir.tar.gz", {"inference.py": handler.encode()})
    return model_only, source


def preflight(*args: str | Path) -> int:
    """Run ``python -m utils.local_sagemaker preflight ARGS`` (an archive and options, or
    ``--model NAME`` and options), print the command and its report, and return its exit status
    (0: it would deploy and answer). Paths are printed relative to the project."""
    shown = [project_relative(a) if Path(a).exists() else str(a) for a in args]
    print("$ python -m utils.local_sagemaker preflight " + shlex.join(shown))
    done = subprocess.run(
        [sys.executable, "-m", "utils.local_sagemaker", "preflight", *shown],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )
    print(done.stdout.rstrip())
    if done.stderr.strip():
        print(done.stderr.rstrip())
    print(f"(exit status {done.returncode})")
    return done.returncode


def csv_rows(frame: pd.DataFrame) -> str:
    """The numeric columns of ``frame`` as header-less CSV, one application per line."""
    return frame[NUMERIC_COLUMNS].to_csv(header=False, index=False)


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The numeric columns of ``frame`` as a list of objects, by column name."""
    return [{k: int(v) for k, v in row.items()} for row in frame[NUMERIC_COLUMNS].to_dict("records")]

