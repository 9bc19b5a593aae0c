"""The synthetic application world: deterministic, realistic in shape, with the known effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit.lib.data import (
    AGE_BANDS,
    CHANNELS,
    HISTORY_MONTHS,
    LABEL,
    MODEL_INPUTS,
    RESIDENCE_PERMITS,
    SHIFT_START_MONTH,
    generate_applications,
    month_start,
)


def test_same_seed_and_size_give_identical_applications() -> None:
    first = generate_applications(3_000, seed=11)
    second = generate_applications(3_000, seed=11)
    pd.testing.assert_frame_equal(first, second)
    assert not generate_applications(3_000, seed=12).equals(first)


def test_a_month_is_the_same_whatever_else_is_generated() -> None:
    # A live batch for one month must not depend on how much history was simulated.
    alone = generate_applications(500, months=[19])
    again = generate_applications(500, months=[19])
    pd.testing.assert_frame_equal(alone, again)
    assert alone["applied_at"].min() >= pd.Timestamp(month_start(19), tz="UTC")
    assert alone["applied_at"].max() < pd.Timestamp(month_start(20), tz="UTC")


def test_size_columns_and_categories() -> None:
    frame = generate_applications(2_345)
    assert len(frame) == 2_345
    assert set(MODEL_INPUTS) | {"application_id", "applied_at", LABEL} == set(frame.columns)
    assert frame["application_id"].is_unique
    assert not frame.isna().any().any()
    assert set(frame["age_band"].unique()) == set(AGE_BANDS)
    assert set(frame["channel"].unique()) == set(CHANNELS)
    assert set(frame["residence_permit"].unique()) == set(RESIDENCE_PERMITS)
    assert frame["applied_at"].is_monotonic_increasing


def test_history_spans_eighteen_monthly_periods_with_every_month_present() -> None:
    frame = generate_applications(1_800)
    months = frame["applied_at"].dt.strftime("%Y-%m").unique()
    assert HISTORY_MONTHS >= 18
    assert len(months) == HISTORY_MONTHS
    assert months[0] == "2024-01" and months[-1] == "2025-06"


def test_values_are_plausible_applications() -> None:
    frame = generate_applications(5_000)
    assert frame["income_monthly_eur"].between(300, 100_000).all()
    assert frame["employment_years"].between(0, 60).all()
    assert frame["loan_amount_eur"].between(300, 60_000).all()
    assert frame["existing_credits"].between(0, 6).all()
    # Time spent on the form is in seconds: minutes, not hours or milliseconds.
    assert 300 < frame["application_duration_seconds"].median() < 900
    assert 0.2 < (frame["residence_permit"] == "citizen").mean() < 0.9
    assert 0.01 < (frame["residence_permit"] == "temporary").mean() < 0.1


def test_default_rate_and_known_effects_show_in_the_data() -> None:
    frame = generate_applications(20_000)
    assert 0.06 < frame[LABEL].mean() < 0.16
    burden = frame["loan_amount_eur"] / frame["loan_duration_months"] / frame["income_monthly_eur"]
    assert frame.loc[burden > 0.25, LABEL].mean() > 2 * frame.loc[burden < 0.08, LABEL].mean()
    by_permit = frame.groupby("residence_permit", observed=True)[LABEL].mean()
    assert by_permit["temporary"] > by_permit["citizen"]
    fast = frame["application_duration_seconds"] < 180
    assert frame.loc[fast, LABEL].mean() > frame.loc[~fast, LABEL].mean()


def test_later_months_shift_the_risk_and_the_shift_can_be_switched_off() -> None:
    months = range(SHIFT_START_MONTH - 4, SHIFT_START_MONTH + 4)
    frame = generate_applications(16_000, months=months)
    index = (frame["applied_at"].dt.year - 2024) * 12 + frame["applied_at"].dt.month - 1
    before = frame.loc[index < SHIFT_START_MONTH, LABEL].mean()
    after = frame.loc[index >= SHIFT_START_MONTH, LABEL].mean()
    assert after > before + 0.03
    flat = generate_applications(16_000, months=months, concept_shift=0.0)
    index = (flat["applied_at"].dt.year - 2024) * 12 + flat["applied_at"].dt.month - 1
    assert abs(flat.loc[index >= SHIFT_START_MONTH, LABEL].mean() - flat.loc[index < SHIFT_START_MONTH, LABEL].mean()) < 0.03
    # Inputs keep their distribution: only the relation to the outcome moved.
    assert np.isclose(flat["income_monthly_eur"].median(), frame["income_monthly_eur"].median())


def test_too_small_a_size_is_refused() -> None:
    with pytest.raises(ValueError, match="at least the number of months"):
        generate_applications(5)
