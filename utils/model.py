"""Train the loan-approval model the lessons deploy.

The model is deliberately small and quick (well under two seconds to train) so that every
notebook can train its own copy after its setup cell instead of depending on another notebook's
leftovers. It is still a real model: a scikit-learn ``Pipeline`` that one-hot encodes the text
columns, scales the numbers and fits a logistic regression, scored on a held-out split.
"""

from __future__ import annotations

import contextlib
import platform
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from utils.data import (
    CATEGORICAL_COLUMNS,
    FEATURE_COLUMNS,
    LABEL,
    NUMERIC_COLUMNS,
    POSITIVE_CLASS,
    load_german_credit,
)

#: Share of the 1,000 rows held out to measure the model (stratified by the label).
TEST_SIZE: float = 0.25


def training_versions() -> dict[str, str]:
    """Return the versions of the libraries that pickle and unpickle the model.

    A pickled scikit-learn model only loads reliably with the scikit-learn (and numpy major
    version) that saved it, so these go into the artifact next to the model.
    """
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
    }


def build_pipeline() -> Pipeline:
    """Return the untrained pipeline: encode/scale the columns by name, then a logistic regression.

    Columns are selected by name, so the pipeline needs a DataFrame with the
    :data:`~utils.data.FEATURE_COLUMNS` names (the handler script builds one from each request).
    ``handle_unknown="ignore"`` means a category the model never saw is encoded as all zeros
    rather than failing the request.
    """
    preprocess = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL_COLUMNS),
            ("numeric", StandardScaler(), NUMERIC_COLUMNS),
        ]
    )
    return Pipeline([("preprocess", preprocess), ("classifier", LogisticRegression(max_iter=1000))])


@dataclass(frozen=True)
class TrainingResult:
    """What :func:`train_model` produced: the fitted pipeline and how well it does."""

    pipeline: Pipeline
    roc_auc: float
    """ROC AUC of the probability of default on the held-out rows (0.5 is chance, 1.0 perfect)."""
    seed: int
    n_train: int
    n_test: int
    versions: dict[str, str]
    x_test: pd.DataFrame = field(repr=False)
    y_test: pd.Series = field(repr=False)

    def probability_of_default(self, frame: pd.DataFrame) -> np.ndarray:
        """Return P(``creditability == "bad"``) for each row of ``frame`` (model inputs by name)."""
        return probability_of_default(self.pipeline, frame)


def probability_of_default(pipeline: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    """Return the fitted ``pipeline``'s probability of the ``"bad"`` class for each row."""
    bad_column = list(pipeline.classes_).index(POSITIVE_CLASS)
    return pipeline.predict_proba(frame[FEATURE_COLUMNS])[:, bad_column]


@contextlib.contextmanager
def quiet_solver_warnings() -> Iterator[None]:
    """Fit a scikit-learn 1.4.2 logistic regression without SciPy's warnings about its options.

    scikit-learn 1.4.2 (pinned to match the container) passes an L-BFGS-B option that newer SciPy
    deprecates (SciPy 1.18, installed beside Python 3.12, ignores it with an OptimizeWarning
    instead); the fit is unaffected, so the warning stays out of the lessons.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*L-BFGS-B.*", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"Unknown solver options: iprint")
        yield


def train_model(seed: int = 0) -> TrainingResult:
    """Train the pipeline on a stratified split of the German Credit data and score it.

    ``seed`` fixes the train/test split; the solver itself is deterministic, so the same seed
    always gives the same model and the same predictions.
    """
    frame = load_german_credit()
    features, labels = frame[FEATURE_COLUMNS], frame[LABEL]
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=TEST_SIZE, stratify=labels, random_state=seed
    )
    with quiet_solver_warnings():
        pipeline = build_pipeline().fit(x_train, y_train)
    auc = roc_auc_score(y_test == POSITIVE_CLASS, probability_of_default(pipeline, x_test))
    return TrainingResult(
        pipeline=pipeline,
        roc_auc=float(auc),
        seed=seed,
        n_train=len(x_train),
        n_test=len(x_test),
        versions=training_versions(),
        x_test=x_test.reset_index(drop=True),
        y_test=y_test.reset_index(drop=True),
    )
