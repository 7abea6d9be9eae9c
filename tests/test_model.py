"""Training is seeded, quick and gives a sensible model built from the versions the container has."""

from __future__ import annotations

import pickle
import pickletools

import numpy as np
import pytest
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder

from utils import data
from utils.artifact import TARGET_CONTAINER
from utils.model import TEST_SIZE, build_pipeline, train_model, training_versions


@pytest.fixture(scope="module")
def applications():
    return data.generate_applications(300, seed=11)


def test_same_seed_same_predictions(trained, applications):
    again = train_model(seed=0)
    np.testing.assert_array_equal(
        trained.probability_of_default(applications), again.probability_of_default(applications)
    )
    assert again.roc_auc == trained.roc_auc


def test_different_seed_different_model(trained, applications):
    other = train_model(seed=1)
    assert not np.array_equal(
        trained.probability_of_default(applications), other.probability_of_default(applications)
    )


def test_auc_is_sensible(trained):
    # Published results on this data set sit around 0.75-0.80; chance is 0.5.
    assert 0.72 < trained.roc_auc < 0.90


def test_split_is_stratified(trained):
    assert trained.n_test == int(1000 * TEST_SIZE)
    assert trained.n_train + trained.n_test == 1000
    assert (trained.y_test == data.POSITIVE_CLASS).mean() == pytest.approx(0.3)
    assert list(trained.x_test.columns) == data.FEATURE_COLUMNS


def test_probabilities_are_probabilities(trained, applications):
    p = trained.probability_of_default(applications)
    assert p.shape == (300,)
    assert ((p > 0) & (p < 1)).all()


def test_pipeline_shape():
    pipeline = build_pipeline()
    preprocess = pipeline.named_steps["preprocess"]
    assert isinstance(preprocess, ColumnTransformer)
    encoders = {name: (step, cols) for name, step, cols in preprocess.transformers}
    encoder, columns = encoders["categorical"]
    assert isinstance(encoder, OneHotEncoder) and encoder.handle_unknown == "ignore"
    assert columns == data.CATEGORICAL_COLUMNS
    assert encoders["numeric"][1] == data.NUMERIC_COLUMNS


def test_unknown_categories_are_scored_not_rejected(trained, applications):
    odd = applications.head(1).copy()
    odd["purpose"] = "spaceship"
    assert 0 < trained.probability_of_default(odd)[0] < 1


def test_training_versions_match_the_target_container(trained):
    assert trained.versions == training_versions()
    assert set(trained.versions) == {"python", "scikit-learn", "numpy", "pandas", "joblib"}
    assert trained.versions["scikit-learn"] == sklearn.__version__
    # The artifact only loads in the AWS container if these agree (see requirements.txt).
    assert trained.versions["scikit-learn"] == TARGET_CONTAINER["scikit-learn"]
    assert trained.versions["numpy"] == TARGET_CONTAINER["numpy"]


def test_pickle_does_not_depend_on_pandas(trained):
    # The container's pandas may differ from ours; the pickled pipeline must not reference it.
    names = {
        arg
        for op, arg, _ in pickletools.genops(pickle.dumps(trained.pipeline))
        if isinstance(arg, str)
    }
    assert not any(name.startswith("pandas") for name in names)
