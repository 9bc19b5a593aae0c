"""Feature engineering: the frame the model sees, computed by hand on a few applications."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from credit.lib.data import generate_applications
from credit.lib.features import CATEGORIES, FEATURES, build_features, month_index, split_by_time


def _applications() -> pd.DataFrame:
    frame = generate_applications(200, seed=3).head(3).reset_index(drop=True)
    frame["residence_permit"] = frame["residence_permit"].astype(object)
    frame.loc[0, ["loan_amount_eur", "loan_duration_months", "income_monthly_eur"]] = [12_000, 24, 2_000]
    frame.loc[1, "residence_permit"] = "stateless"  # a category the model was never told about
    return frame


@pytest.mark.rubric("data-7")
def test_burden_is_the_instalment_over_income_and_columns_come_in_feature_order() -> None:
    features = build_features(_applications())
    assert tuple(features.columns) == FEATURES
    assert math.isclose(features.loc[0, "burden"], (12_000 / 24) / 2_000)
    assert features["burden"].dtype == float


@pytest.mark.rubric("data-7")
def test_categories_are_fixed_so_one_batch_encodes_like_another_and_unknown_values_are_missing() -> None:
    features = build_features(_applications())
    for name, categories in CATEGORIES.items():
        assert tuple(features[name].cat.categories) == categories
    assert pd.isna(features.loc[1, "residence_permit"])  # never silently mapped to a known permit
    one = build_features(_applications().head(1))
    assert tuple(one["channel"].cat.categories) == CATEGORIES["channel"]


@pytest.mark.rubric("data-7")
def test_unreadable_numbers_become_missing_not_errors_and_a_subset_keeps_its_order() -> None:
    frame = _applications().astype({"employment_years": object})
    frame.loc[2, "employment_years"] = "ten"
    features = build_features(frame, ("employment_years", "burden"))
    assert list(features.columns) == ["employment_years", "burden"]
    assert pd.isna(features.loc[2, "employment_years"])


@pytest.mark.rubric("data-7")
def test_the_time_split_holds_out_the_last_months_and_refuses_too_short_a_history() -> None:
    history = generate_applications(2_000, seed=5)
    train, holdout = split_by_time(history, holdout_months=4)
    months = month_index(history["applied_at"])
    assert months[holdout].min() == months.max() - 3
    assert months[train].max() < months[holdout].min()
    assert train.sum() + holdout.sum() == len(history)
    with pytest.raises(ValueError, match="need more than 4 months"):
        split_by_time(history[months <= 2], holdout_months=4)
