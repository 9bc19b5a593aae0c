"""Drift: a single column's unit change is caught per column, with a kept HTML report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from inloop.drift import drift_report


def _applications(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "income": rng.lognormal(7.8, 0.4, rows),
        "duration_seconds": rng.lognormal(6.3, 0.6, rows),
        "existing_credits": rng.poisson(0.8, rows),
        "channel": pd.Categorical(rng.choice(["web", "app", "partner"], rows, p=[0.5, 0.3, 0.2])),
    })


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return _applications(4_000, seed=1)


def test_same_population_shows_no_drift_and_keeps_the_report(reference: pd.DataFrame, inloop_env: Path) -> None:
    summary = drift_report(reference, _applications(800, seed=2), name="credit batch 1")
    assert summary.drifted_columns == []
    assert {c.column for c in summary.columns} == set(reference.columns)
    assert {c.kind for c in summary.columns} == {"numerical", "categorical"}
    assert all(c.method == "psi" and c.threshold == 0.2 and c.score is not None for c in summary.columns)
    report = Path(summary.report_path or "")
    assert report.is_file() and report.stat().st_size > 100_000
    assert report.is_relative_to(inloop_env / "reports" / "drift")
    assert report.name.startswith("credit-batch-1-")


def test_a_unit_change_in_one_column_is_flagged_by_its_own_test(reference: pd.DataFrame) -> None:
    current = _applications(800, seed=3)
    current["duration_seconds"] = current["duration_seconds"] * 1000  # seconds became milliseconds
    summary = drift_report(reference, current, save_html=False)
    # One of four columns moved: a share-of-columns test (< 0.5) would still pass; per column it cannot.
    assert summary.drifted_columns == ["duration_seconds"]
    assert summary.drifted_share == 0.25
    assert summary.column("duration_seconds").score > 1
    assert "duration_seconds" in summary.describe()
    as_dict = summary.to_dict()
    assert as_dict["drifted_count"] == 1 and as_dict["report_path"] is None


def test_a_category_shift_is_flagged(reference: pd.DataFrame) -> None:
    current = _applications(800, seed=4)
    current["channel"] = pd.Categorical(["partner"] * 700 + ["web"] * 100)
    summary = drift_report(reference, current, save_html=False)
    assert summary.drifted_columns == ["channel"]


def test_per_column_methods_are_pinned(reference: pd.DataFrame) -> None:
    summary = drift_report(reference, _applications(800, seed=5), columns=["income", "channel"],
                           per_column={"income": ("wasserstein", 0.1)}, save_html=False)
    assert [(c.column, c.method, c.threshold) for c in summary.columns] == [("income", "wasserstein", 0.1),
                                                                           ("channel", "psi", 0.2)]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"columns": ["missing"]}, "no column"),
    ({"columns": []}, "no columns"),
    ({"per_column": {"nope": ("psi", 0.2)}}, "not tested"),
])
def test_bad_arguments_say_what_is_wrong(reference: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        drift_report(reference, reference.head(10), save_html=False, **kwargs)


def test_an_empty_batch_is_refused(reference: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="empty"):
        drift_report(reference, reference.head(0), save_html=False)
