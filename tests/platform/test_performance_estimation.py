"""CBPE (inloop.performance_estimation): the estimate is the published method's, and it matches realised
outcomes drawn from calibrated scores; what it cannot see (a concept shift) is shown, not hidden."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from inloop.performance_estimation import (
    PeriodPerformance,
    estimate_by_period,
    expected_positive_rate,
    expected_roc_auc,
    judge_period,
    realised_roc_auc,
)


def _pairwise_expected_auc(p: np.ndarray) -> float:
    """The expected AUC by brute force: every ordered pair (i positive, j negative) weighted p_i (1 - p_j)."""
    num = den = 0.0
    for i in range(len(p)):
        for j in range(len(p)):
            w = p[i] * (1 - p[j])
            den += w
            num += w * (1.0 if p[i] > p[j] else 0.5 if p[i] == p[j] else 0.0)
    return num / den


def test_expected_auc_is_the_auc_against_soft_labels_and_handles_ties() -> None:
    rng = np.random.default_rng(3)
    p = np.round(rng.beta(1.2, 8, 300), 2)  # rounded: many ties
    soft = roc_auc_score(np.r_[np.ones(len(p)), np.zeros(len(p))], np.r_[p, p], sample_weight=np.r_[p, 1 - p])
    assert expected_roc_auc(p) == pytest.approx(soft, abs=1e-12)
    small = np.array([0.9, 0.2, 0.2, 0.5, 0.05, 0.7])
    assert expected_roc_auc(small) == pytest.approx(_pairwise_expected_auc(small), abs=1e-12)
    assert expected_positive_rate(small) == pytest.approx(small.mean())


def test_estimate_matches_outcomes_drawn_from_calibrated_scores() -> None:
    """Outcomes drawn as Bernoulli(score): realised AUC and rate land within 0.01 of the estimate."""
    rng = np.random.default_rng(11)
    p = 1 / (1 + np.exp(-rng.normal(-2.8, 1.0, 40_000)))
    y = rng.random(len(p)) < p
    assert expected_roc_auc(p) == pytest.approx(roc_auc_score(y, p), abs=0.01)
    assert expected_positive_rate(p) == pytest.approx(y.mean(), abs=0.005)


def test_the_estimate_follows_covariate_shift_and_is_blind_to_concept_shift() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, 40_000)
    score = 1 / (1 + np.exp(-(-3.0 + 1.2 * x)))  # the model learned the old relation
    riskier = 1 / (1 + np.exp(-(-3.0 + 1.2 * (x + 1.0))))  # covariate shift: the same relation, riskier people
    assert expected_positive_rate(riskier) > 1.5 * expected_positive_rate(score)
    # Concept shift: the same people, the same scores, but outcomes now follow another relation.
    y_new = rng.random(len(x)) < 1 / (1 + np.exp(-(-1.5 + 0.4 * x)))
    assert abs(expected_positive_rate(score) - y_new.mean()) > 0.05  # the estimate did not move; reality did
    assert expected_roc_auc(score) - roc_auc_score(y_new, score) > 0.05


def test_bad_scores_are_refused_with_a_reason_and_degenerate_sets_give_nan() -> None:
    with pytest.raises(ValueError, match="finite"):
        expected_roc_auc([0.1, math.nan])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        expected_positive_rate([0.1, 1.2])
    with pytest.raises(ValueError, match="one-dimensional"):
        expected_roc_auc(np.zeros((2, 2)))
    assert math.isnan(expected_roc_auc([0.3]))
    assert math.isnan(expected_roc_auc([0.0, 0.0, 0.0]))
    assert math.isnan(expected_positive_rate([]))
    assert math.isnan(realised_roc_auc([1, 1], [0.2, 0.3]))


def test_estimate_by_period_sets_estimate_beside_the_labels_that_arrived() -> None:
    rng = np.random.default_rng(8)
    n = 4_000
    p = 1 / (1 + np.exp(-rng.normal(-2.5, 1.0, n)))
    y = (rng.random(n) < p).astype(float)
    frame = pd.DataFrame({"month": np.repeat(["2026-01", "2026-02"], n // 2), "score": p, "label": y})
    frame.loc[frame["month"] == "2026-02", "label"] = np.nan  # February's outcomes have not arrived
    jan, feb = estimate_by_period(frame, period="month", score="score", label="label")
    assert (jan.period, jan.predictions, jan.labelled, jan.label_coverage) == ("2026-01", n // 2, n // 2, 1.0)
    assert jan.realised_auc == pytest.approx(jan.estimated_auc, abs=0.03)
    assert (feb.labelled, feb.realised_auc, feb.realised_rate) == (0, None, None)
    assert feb.estimated_rate == pytest.approx(p[n // 2 :].mean(), abs=1e-4)
    with pytest.raises(ValueError, match="no column label"):
        estimate_by_period(frame.drop(columns=["label"]), period="month", score="score", label="label")


def test_judge_compares_with_realised_once_labelled_and_with_the_reference_before() -> None:
    early = PeriodPerformance("2026-03", 1000, 0.70, 0.05, 0, None, None)
    judged = judge_period(early, "rate", 0.05, min_coverage=0.9)
    assert judged is not None and (judged.against, judged.value) == ("reference", 0.0)
    landed = PeriodPerformance("2026-03", 1000, 0.70, 0.05, 950, 0.66, 0.172)
    judged = judge_period(landed, "rate", 0.05, min_coverage=0.9)
    assert judged is not None and judged.against == "realised" and judged.value == pytest.approx(0.122)
    assert "realised 0.172" in judged.describe("default rate")
    partly = PeriodPerformance("2026-03", 1000, 0.70, 0.05, 300, 0.66, 0.172)  # too few labels yet
    assert judge_period(partly, "auc", 0.71, min_coverage=0.9).against == "reference"  # type: ignore[union-attr]
    assert judge_period(PeriodPerformance("x", 1, None, None, 0, None, None), "auc", 0.7, min_coverage=0.9) is None
    with pytest.raises(ValueError, match="'auc' or 'rate'"):
        judge_period(early, "brier", 0.1, min_coverage=0.9)
