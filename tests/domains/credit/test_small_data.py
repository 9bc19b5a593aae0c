"""Small data, judged honestly: bootstrap intervals on the AUC, and a slice gate that refuses what it cannot judge."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from credit.lib.evaluation import MIN_CLASS_COUNT, Evaluation, SliceRow, _resampled_aucs, bootstrap_auc
from credit.lib.promotion import gate_measurements, promotion_gates


def _scores(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    return y, np.round(rng.normal(0, 1, n) + 0.8 * y, 2)  # rounded: ties happen, as with real scores


def test_the_resampled_auc_is_the_auc_of_the_resample() -> None:
    y, s = _scores(400)
    rng = np.random.default_rng(1)
    counts = rng.multinomial(len(y), np.full(len(y), 1 / len(y)), size=5)
    fast = _resampled_aucs(y, s, counts)
    for row, value in zip(counts, fast, strict=True):
        idx = np.repeat(np.arange(len(y)), row)
        assert value == pytest.approx(roc_auc_score(y[idx], s[idx]), abs=1e-12)


def test_the_interval_holds_the_auc_and_narrows_with_more_rows() -> None:
    small_y, small_s = _scores(300)
    large_y, large_s = _scores(3_000)
    small, large = bootstrap_auc(small_y, small_s), bootstrap_auc(large_y, large_s)
    assert small is not None and large is not None
    assert small[0] < roc_auc_score(small_y, small_s) < small[1]
    assert large[0] < roc_auc_score(large_y, large_s) < large[1]
    assert large[1] - large[0] < (small[1] - small[0]) / 2  # ~1/sqrt(10) as wide
    lift = bootstrap_auc(large_y, large_s, against=np.zeros_like(large_s))  # against a constant: AUC - 0.5
    assert lift is not None and lift[0] == pytest.approx(large[0] - 0.5, abs=0.02)


def test_too_few_of_a_class_gives_no_interval() -> None:
    y = np.array([1] * (MIN_CLASS_COUNT - 1) + [0] * 200)
    assert bootstrap_auc(y, np.linspace(0, 1, len(y))) is None


def _slice(value: str, rows: int, defaults: int, auc: float | None) -> SliceRow:
    return SliceRow(
        "foreign_worker",
        value,
        rows,
        defaults,
        defaults / rows,
        auc,
        auc,
        0.2,
        0.8,
        0.8,
        None if auc is None else auc - 0.05,
        None if auc is None else auc + 0.05,
    )


def _evaluation(*slices: SliceRow) -> Evaluation:
    return Evaluation(
        rows=400,
        defaults=120,
        model_auc=0.8,
        baseline_auc=0.75,
        model_brier=0.15,
        baseline_brier=0.16,
        approval_rate=0.8,
        baseline_approval_rate=0.8,
        policy_version="t",
        slices=list(slices),
        model_auc_low=0.76,
        model_auc_high=0.84,
        auc_lift_low=0.01,
        auc_lift_high=0.09,
    )


def test_a_slice_that_cannot_be_judged_refuses_the_promotion_and_says_why(credit_card_for_gates) -> None:  # type: ignore[no-untyped-def]
    judged = _evaluation(_slice("yes", 387, 121, 0.79), _slice("no", 80, 30, 0.74))
    unjudged = _evaluation(_slice("yes", 387, 121, 0.79), _slice("no", 13, 2, None))
    gates = {g.name: g for g in promotion_gates(judged, credit_card_for_gates)}
    assert (
        gates["slices_above_floor"].passed
        and "worst slice foreign_worker=no: AUC 0.74" in gates["slices_above_floor"].detail
    )
    refused = {g.name: g for g in promotion_gates(unjudged, credit_card_for_gates)}["slices_above_floor"]
    assert not refused.passed
    assert (
        "cannot judge the slice floor for lack of rows: foreign_worker=no: 13 applications, 2 defaults"
        in refused.detail
    )
    assert gate_measurements(unjudged)["small-groups"].value is None


def test_a_lift_whose_interval_straddles_the_bar_is_called_noise(credit_card_for_gates) -> None:  # type: ignore[no-untyped-def]
    noisy = Evaluation(
        **{
            **_evaluation(_slice("yes", 387, 121, 0.79)).__dict__,
            "auc_lift_low": -0.01,
            "auc_lift_high": 0.06,
        }
    )
    gate = {g.name: g for g in promotion_gates(noisy, credit_card_for_gates)}["beats_baseline"]
    assert (
        gate.passed
        and "not distinguishable from noise" in gate.detail
        and "[90 % CI -0.010..0.060]" in gate.detail
    )
    clear = {
        g.name: g for g in promotion_gates(_evaluation(_slice("yes", 387, 121, 0.79)), credit_card_for_gates)
    }["beats_baseline"]
    assert clear.passed and "noise" not in clear.detail


@pytest.fixture
def credit_card_for_gates():  # type: ignore[no-untyped-def]
    from credit.defs.card import credit_card

    credit_card.cache_clear()
    return credit_card()
