"""The application schema: domain rules per row, plus batch medians from the training statistics."""

from __future__ import annotations

import pytest

from credit.lib.data import generate_applications
from credit.lib.features import build_features
from credit.lib.registry import training_statistics
from credit.lib.schema import check_schema, rows_breaking


@pytest.fixture(scope="module")
def statistics() -> dict:
    return training_statistics(build_features(generate_applications(5_000)))


@pytest.mark.rubric("data-1", "monitor-2")
def test_a_normal_live_batch_meets_rules_and_training_statistics(statistics: dict) -> None:
    summary = check_schema(generate_applications(800, seed=21, months=[18]), statistics=statistics)
    assert summary.success and rows_breaking(summary) == 0.0
    assert any(o.expectation == "expect_column_median_to_be_between" for o in summary.outcomes)


@pytest.mark.rubric("monitor-2")
def test_a_shift_no_row_rule_sees_is_caught_by_the_training_statistics(statistics: dict) -> None:
    batch = generate_applications(800, seed=22, months=[18])
    batch["income_monthly_eur"] = (batch["income_monthly_eur"] / 2).clip(lower=300)  # e.g. paid twice a month
    rules_only = check_schema(batch)
    assert rules_only.success
    summary = check_schema(batch, statistics=statistics)
    [failed] = summary.failed
    assert failed.expectation == "expect_column_median_to_be_between" and failed.column == "income_monthly_eur"
    assert rows_breaking(summary) == 1.0


@pytest.mark.rubric("monitor-2")
def test_milliseconds_break_rows_and_the_median(statistics: dict) -> None:
    batch = generate_applications(800, seed=23, months=[18])
    batch["application_duration_seconds"] *= 1000
    summary = check_schema(batch, statistics=statistics)
    assert {o.column for o in summary.failed} == {"application_duration_seconds"}
    assert {o.expectation for o in summary.failed} == {"expect_column_values_to_be_between",
                                                        "expect_column_median_to_be_between"}
    assert rows_breaking(summary) == 1.0


@pytest.mark.rubric("data-1")
def test_a_missing_column_breaks_every_row() -> None:
    summary = check_schema(generate_applications(200, seed=24, months=[18]).drop(columns=["channel"]))
    assert rows_breaking(summary) == 1.0
    assert any(o.column == "channel" and o.error for o in summary.failed)
