"""The German Credit data, its column contract, and seeded synthetic loan applications.

The real data (``data/german_credit.csv``, 1,000 applications, see ``data/README.md`` for the
source and licence) trains the model. Batch lessons need far more rows than that, so
:func:`generate_applications` makes new, **synthetic** applications that resemble the real ones.
Synthetic rows are marked as such everywhere they go: the frame's ``attrs``, the docstrings, and
the file names the notebooks write them to.

The column order in :data:`FEATURE_COLUMNS` is a contract: ``text/csv`` requests carry no
header, so the model's handler script (``utils/model_code/inference.py``) reads columns by
position and keeps its own copy of this list. A test checks that the two copies agree.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from utils.paths import DATA_DIR

#: The shipped CSV (decoded Statlog German Credit data, with a header row).
GERMAN_CREDIT_CSV: Path = DATA_DIR / "german_credit.csv"

#: The label column: ``"good"`` (repaid) or ``"bad"`` (defaulted).
LABEL: str = "creditability"

#: The label value the model scores: its output is the probability of this class.
POSITIVE_CLASS: str = "bad"

#: The first column of synthetic applications; it identifies a row and is not a model input.
ID_COLUMN: str = "application_id"

#: Every model input, in the order a header-less ``text/csv`` row must carry them.
#: The meanings come from the Statlog documentation (DM = Deutsche Mark).
FEATURE_DESCRIPTIONS: dict[str, str] = {
    "status_of_existing_checking_account": "balance band of the current account, or none",
    "duration_in_month": "loan duration in months",
    "credit_history": "how earlier credits were repaid",
    "purpose": "what the loan is for (car, furniture, education, ...)",
    "credit_amount": "amount borrowed, in DM",
    "savings_account_and_bonds": "savings band, or unknown/none",
    "present_employment_since": "time with the present employer",
    "installment_rate_in_percentage_of_disposable_income": "instalment as a share of income, 1 (low) to 4 (high)",
    "personal_status_and_sex": "marital status and sex, as recorded in 1994",
    "other_debtors_or_guarantors": "none, co-applicant or guarantor",
    "present_residence_since": "years at the present address, 1 to 4 (banded)",
    "property": "most valuable property held",
    "age_in_years": "age in years",
    "other_installment_plans": "other instalment plans: bank, stores or none",
    "housing": "rent, own or for free",
    "number_of_existing_credits_at_this_bank": "credits already held at this bank, 1 to 4",
    "job": "employment category",
    "number_of_people_being_liable_to_provide_maintenance_for": "dependants, 1 or 2",
    "telephone": "whether a telephone is registered in the applicant's name",
    "foreign_worker": "yes or no",
}
FEATURE_COLUMNS: list[str] = list(FEATURE_DESCRIPTIONS)

#: Integer-valued inputs: scaled by the model, parsed as numbers by the handler.
NUMERIC_COLUMNS: list[str] = [
    "duration_in_month",
    "credit_amount",
    "installment_rate_in_percentage_of_disposable_income",
    "present_residence_since",
    "age_in_years",
    "number_of_existing_credits_at_this_bank",
    "number_of_people_being_liable_to_provide_maintenance_for",
]

#: Text-valued inputs: one-hot encoded by the model (unknown values are ignored, not errors).
CATEGORICAL_COLUMNS: list[str] = [c for c in FEATURE_COLUMNS if c not in NUMERIC_COLUMNS]

# How the generator perturbs each numeric column (see generate_applications).
_MEASUREMENTS_LOG_SIGMA: dict[str, float] = {"duration_in_month": 0.15, "credit_amount": 0.20}
_AGE_SIGMA_YEARS: float = 2.5
_BANDED_CODES: list[str] = [
    c for c in NUMERIC_COLUMNS if c not in _MEASUREMENTS_LOG_SIGMA and c != "age_in_years"
]
_SWAP_PROBABILITY: float = 0.10


@lru_cache(maxsize=1)
def _german_credit_cached() -> pd.DataFrame:
    frame = pd.read_csv(GERMAN_CREDIT_CSV)
    expected = [*FEATURE_COLUMNS, LABEL]
    if list(frame.columns) != expected:
        raise ValueError(
            f"{GERMAN_CREDIT_CSV.name} does not have the expected columns in the expected order.\n"
            f"expected: {expected}\nfound:    {list(frame.columns)}"
        )
    # Plain object columns for text: the same dtype whatever pandas version (and string
    # backend) is installed, and the same dtype the handler builds from a request.
    for column in [*CATEGORICAL_COLUMNS, LABEL]:
        frame[column] = frame[column].astype(object)
    for column in NUMERIC_COLUMNS:
        frame[column] = frame[column].astype(np.int64)
    return frame


def load_german_credit() -> pd.DataFrame:
    """Return the real German Credit data: 1,000 rows, :data:`FEATURE_COLUMNS` then :data:`LABEL`.

    Each call returns a fresh copy, so a notebook may modify it freely.
    """
    return _german_credit_cached().copy()


def generate_applications(n: int, seed: int = 0, start_id: int = 1) -> pd.DataFrame:
    """Return ``n`` **synthetic** loan applications that resemble the real data (no label).

    Columns: :data:`ID_COLUMN` (``APP-0000001``, ``APP-0000002``, ... from ``start_id``) followed
    by :data:`FEATURE_COLUMNS`; text columns have pandas' ``category`` dtype, numbers ``int64``.
    The frame carries ``attrs["synthetic"] = True``.

    Method (all vectorised numpy, so 200,000 rows take well under a second):

    1. **Bootstrap.** Each synthetic row starts as a copy of a real row drawn uniformly with
       replacement. This keeps the joint distribution of the categorical columns and their
       relation to the numbers (long loans for cars, small ones for radios, ...).
    2. **Conditional swaps.** Each categorical value and each banded code (instalment rate,
       residence years, existing credits, dependants) is, with probability 10%, replaced by the
       same column's value from another real row *with the same label* as the source row. Rows
       stop being exact copies while each column keeps its distribution within each class, so
       the model sees a realistic mix of good and bad risks. The label is then dropped.
    3. **Numeric jitter within real ranges.** ``duration_in_month`` and ``credit_amount`` are
       multiplied by log-normal noise (sigma 0.15 and 0.20), ``age_in_years`` gets normal noise
       (sigma 2.5 years); all are rounded to whole numbers and clipped to the real data's
       minimum and maximum.

    The same ``(n, seed, start_id)`` always gives the same frame; a different seed gives
    different rows. Use ``start_id`` to give several nightly files non-overlapping ids.
    """
    if n < 0:
        raise ValueError(f"n must be zero or more, got {n}")
    if start_id < 0:
        raise ValueError(f"start_id must be zero or more, got {start_id}")
    real = _german_credit_cached()
    rng = np.random.default_rng(seed)

    source = rng.integers(0, len(real), size=n)
    is_bad = (real[LABEL].to_numpy() == POSITIVE_CLASS)[source]
    bad_rows = np.flatnonzero(real[LABEL].to_numpy() == POSITIVE_CLASS)
    good_rows = np.flatnonzero(real[LABEL].to_numpy() != POSITIVE_CLASS)

    def same_label_donors() -> np.ndarray:
        return np.where(
            is_bad,
            bad_rows[rng.integers(0, len(bad_rows), size=n)],
            good_rows[rng.integers(0, len(good_rows), size=n)],
        )

    columns: dict[str, np.ndarray | pd.Categorical] = {}
    for column in FEATURE_COLUMNS:
        values = real[column].to_numpy()
        if column in CATEGORICAL_COLUMNS or column in _BANDED_CODES:
            swap = rng.random(n) < _SWAP_PROBABILITY
            rows = np.where(swap, same_label_donors(), source)
            if column in CATEGORICAL_COLUMNS:
                # A categorical column is built from integer codes: no per-row string work.
                codes, categories = pd.factorize(values, sort=True)
                columns[column] = pd.Categorical.from_codes(codes[rows], categories=categories)
            else:
                columns[column] = values[rows]
            continue
        low, high = values.min(), values.max()
        base = values[source].astype(np.float64)
        if column in _MEASUREMENTS_LOG_SIGMA:
            jittered = base * np.exp(rng.normal(0.0, _MEASUREMENTS_LOG_SIGMA[column], size=n))
        else:  # age_in_years
            jittered = base + rng.normal(0.0, _AGE_SIGMA_YEARS, size=n)
        columns[column] = np.clip(np.rint(jittered), low, high).astype(np.int64)

    ids = pd.Series(np.arange(start_id, start_id + n)).astype(str).str.zfill(7)
    frame = pd.DataFrame({ID_COLUMN: pd.Series("APP-" + ids, dtype=object), **columns})
    frame.attrs["synthetic"] = True
    frame.attrs["description"] = (
        f"SYNTHETIC loan applications generated from the German Credit data "
        f"(generate_applications(n={n}, seed={seed}, start_id={start_id})); not real people."
    )
    return frame


def write_applications_csv(
    frame: pd.DataFrame,
    path: str | Path,
    header: bool = False,
    include_id: bool = True,
) -> Path:
    """Write applications as CSV, by default **without a header** (what batch transform needs).

    Batch transform has no "skip header" option: every line is sent to the model as a record,
    so a header line would reach the handler and fail. Text values that contain commas (such as
    ``"yes, registered under the customers name"``) are quoted, as CSV requires.

    With ``include_id=True`` (the default) the first column is :data:`ID_COLUMN`; a transform
    job then drops it for the model with ``InputFilter="$[1:]"`` and joins predictions back
    to it. With ``include_id=False`` the rows are exactly what the model's ``text/csv`` input
    expects. Name synthetic files so that they say so (e.g. ``applications-synthetic.csv``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [ID_COLUMN, *FEATURE_COLUMNS] if include_id else list(FEATURE_COLUMNS)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"cannot write applications: missing columns {missing}")
    frame.to_csv(
        path,
        columns=columns,
        header=header,
        index=False,
        lineterminator="\n",
        quoting=csv.QUOTE_MINIMAL,
    )
    return path


def to_csv_rows(frame: pd.DataFrame) -> str:
    """Return the model inputs of ``frame`` as header-less CSV text, the body of a ``text/csv`` request."""
    return frame[FEATURE_COLUMNS].to_csv(header=False, index=False, lineterminator="\n")


def to_json_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Return the model inputs of ``frame`` as a list of plain dicts (an ``application/json`` body)."""
    records = frame[FEATURE_COLUMNS].to_dict(orient="records")
    return [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()} for r in records
    ]
