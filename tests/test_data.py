"""The real data's contract and the synthetic application generator."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from utils import data, paths


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return data.load_german_credit()


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    return data.generate_applications(20_000, seed=7)


# --- paths -----------------------------------------------------------------------------------


def test_paths_do_not_depend_on_the_working_directory(tmp_path):
    code = "from utils import paths; print(paths.PROJECT_ROOT, paths.DATA_DIR, paths.BUILD_DIR)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(paths.PROJECT_ROOT)},
    ).stdout.split()
    assert out == [str(paths.PROJECT_ROOT), str(paths.DATA_DIR), str(paths.BUILD_DIR)]
    assert (paths.PROJECT_ROOT / "utils" / "paths.py").is_file()
    assert (paths.DATA_DIR / "german_credit.csv").is_file()


def test_project_relative():
    assert paths.project_relative(paths.BUILD_DIR / "x" / "model.tar.gz") == "build/x/model.tar.gz"
    assert paths.project_relative("/elsewhere/file") == "/elsewhere/file"


# --- the real data ---------------------------------------------------------------------------


def test_real_data_shape_and_columns(real):
    assert real.shape == (1000, 21)
    assert list(real.columns) == [*data.FEATURE_COLUMNS, data.LABEL]
    assert real[data.LABEL].value_counts().to_dict() == {"good": 700, "bad": 300}
    assert real.notna().all().all()


def test_column_lists_partition_the_features():
    assert len(data.FEATURE_COLUMNS) == 20
    assert len(data.NUMERIC_COLUMNS) == 7
    assert sorted(data.NUMERIC_COLUMNS + data.CATEGORICAL_COLUMNS) == sorted(data.FEATURE_COLUMNS)
    assert [
        c for c in data.FEATURE_COLUMNS if c in data.CATEGORICAL_COLUMNS
    ] == data.CATEGORICAL_COLUMNS
    assert set(data.FEATURE_DESCRIPTIONS) == set(data.FEATURE_COLUMNS)


def test_real_data_types(real):
    for column in data.NUMERIC_COLUMNS:
        assert real[column].dtype == np.int64, column
    for column in data.CATEGORICAL_COLUMNS:
        assert real[column].map(type).eq(str).all(), column


def test_load_returns_a_fresh_copy(real):
    copy = data.load_german_credit()
    copy.loc[0, "age_in_years"] = -1
    assert data.load_german_credit().loc[0, "age_in_years"] == real.loc[0, "age_in_years"]


# --- synthetic applications ------------------------------------------------------------------


def test_same_seed_same_frame():
    pd.testing.assert_frame_equal(
        data.generate_applications(500, seed=3), data.generate_applications(500, seed=3)
    )


def test_different_seed_different_frame():
    a = data.generate_applications(500, seed=3)
    b = data.generate_applications(500, seed=4)
    assert not a[data.FEATURE_COLUMNS].equals(b[data.FEATURE_COLUMNS])


def test_columns_ids_and_no_label(synthetic):
    assert list(synthetic.columns) == [data.ID_COLUMN, *data.FEATURE_COLUMNS]
    assert data.LABEL not in synthetic.columns
    assert synthetic[data.ID_COLUMN].iloc[0] == "APP-0000001"
    assert synthetic[data.ID_COLUMN].iloc[-1] == "APP-0020000"
    assert synthetic[data.ID_COLUMN].is_unique
    assert synthetic.attrs["synthetic"] is True
    assert "SYNTHETIC" in synthetic.attrs["description"]


def test_start_id_offsets_the_ids():
    frame = data.generate_applications(2, seed=0, start_id=1_000_001)
    assert frame[data.ID_COLUMN].tolist() == ["APP-1000001", "APP-1000002"]


def test_values_stay_within_the_real_data(real, synthetic):
    for column in data.NUMERIC_COLUMNS:
        assert synthetic[column].dtype == np.int64, column
        assert synthetic[column].min() >= real[column].min(), column
        assert synthetic[column].max() <= real[column].max(), column
    for column in data.CATEGORICAL_COLUMNS:
        assert synthetic[column].dtype == "category", column
        assert set(synthetic[column]) <= set(real[column]), column


def test_synthetic_resembles_the_real_data(real, synthetic):
    for column in data.CATEGORICAL_COLUMNS:
        real_share = real[column].value_counts(normalize=True)
        synthetic_share = synthetic[column].value_counts(normalize=True)
        difference = (real_share - synthetic_share.reindex(real_share.index, fill_value=0)).abs()
        assert difference.max() < 0.03, column
    for column in ("duration_in_month", "credit_amount", "age_in_years"):
        assert synthetic[column].mean() == pytest.approx(real[column].mean(), rel=0.06), column
    # rows are perturbed, not copies of the 1,000 real ones
    assert len(synthetic.drop(columns=data.ID_COLUMN).drop_duplicates()) > 15_000


def test_joint_structure_is_kept(real, synthetic):
    # Car loans are larger than radio/television loans in the real data; that must survive.
    def median_amount(frame, purpose):
        return frame.loc[frame["purpose"] == purpose, "credit_amount"].median()

    assert median_amount(synthetic, "car (used)") > 1.5 * median_amount(
        synthetic, "radio/television"
    )
    assert median_amount(real, "car (used)") > 1.5 * median_amount(real, "radio/television")


def test_large_batches_are_generated():
    frame = data.generate_applications(200_000, seed=1)
    assert frame.shape == (200_000, 21)
    assert frame[data.ID_COLUMN].iloc[-1] == "APP-0200000"


def test_zero_and_negative_sizes():
    assert data.generate_applications(0).shape == (0, 21)
    with pytest.raises(ValueError, match="n must be zero or more"):
        data.generate_applications(-1)


# --- writing and request bodies --------------------------------------------------------------


def test_write_applications_csv_without_header(tmp_path, synthetic):
    frame = synthetic.head(50)
    path = data.write_applications_csv(frame, tmp_path / "nightly" / "applications-synthetic.csv")
    text = path.read_text()
    assert not text.startswith(data.ID_COLUMN)
    assert text.count("\n") == 50 and "\r" not in text
    back = pd.read_csv(path, header=None, names=[data.ID_COLUMN, *data.FEATURE_COLUMNS])
    expected = frame.reset_index(drop=True).astype(dict.fromkeys(data.CATEGORICAL_COLUMNS, str))
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    # every row parses to 21 fields although some values contain commas
    assert {len(row) for row in csv.reader(text.splitlines())} == {21}


def test_write_applications_csv_options(tmp_path, synthetic):
    path = data.write_applications_csv(
        synthetic.head(3), tmp_path / "x.csv", header=True, include_id=False
    )
    lines = path.read_text().splitlines()
    assert lines[0].split(",") == data.FEATURE_COLUMNS
    assert len(lines) == 4
    with pytest.raises(ValueError, match="missing columns"):
        data.write_applications_csv(synthetic[data.FEATURE_COLUMNS[:5]], tmp_path / "y.csv")


def test_request_body_helpers(synthetic):
    rows = data.to_csv_rows(synthetic.head(2))
    assert rows.count("\n") == 2 and not rows.startswith("APP-")
    records = data.to_json_records(synthetic.head(2))
    assert len(records) == 2 and list(records[0]) == data.FEATURE_COLUMNS
    assert all(type(records[0][c]) is int for c in data.NUMERIC_COLUMNS)
