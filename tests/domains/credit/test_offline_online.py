"""Offline holdout AUC against the live test set's AUC, across training windows (model-2)."""

from __future__ import annotations

import datetime as dt

import pytest
from sklearn.metrics import roc_auc_score

from credit.defs.card import credit_card
from credit.lib.data import SHIFT_START_MONTH, generate_applications
from credit.lib.decision import DecisionService
from credit.lib.features import build_features, labels, split_by_time
from credit.lib.model import train_risk_model
from credit.lib.offline_online import AucPair, live_test_set_auc, relation
from credit.lib.policy import default_policy_path, load_policy

#: Models trained on the history up to each month, then serving the next two months (a model version each).
WINDOWS = (10, 14, 18, SHIFT_START_MONTH, 24)


def _window(end: int, policy) -> AucPair:  # type: ignore[no-untyped-def]
    history = generate_applications(12_000, seed=end, months=range(end))
    train, holdout = split_by_time(history)
    model = train_risk_model(build_features(history[train]), labels(history[train]), num_rounds=200)
    offline = roc_auc_score(labels(history[holdout]), model.probability(build_features(history[holdout])))
    live = generate_applications(40_000, seed=1_000 + end, months=[end, end + 1])  # the live test set is 2 % of it
    service = DecisionService(model, policy, model_version=f"trained-to-month-{end}")
    return live_test_set_auc(service, live, label=f"months 0-{end - 1} -> {end}-{end + 1}", offline_auc=offline)


@pytest.mark.rubric("model-2")
def test_offline_auc_predicts_live_test_set_auc_within_tolerance_until_the_applicants_change() -> None:
    policy = load_policy(default_policy_path())
    tolerance = credit_card().concern("live-performance").threshold.value
    found = relation([_window(end, policy) for end in WINDOWS], tolerance)
    assert len(found.judged) == len(WINDOWS)
    assert all(p.outcomes >= 600 and p.details["defaults"] >= 30 for p in found.judged)  # 2 % of 40,000 applications
    # the model trained just before the applicants' behaviour shifts is the one offline cannot vouch for
    assert found.beyond_tolerance == [f"months 0-{SHIFT_START_MONTH - 1} -> {SHIFT_START_MONTH}-{SHIFT_START_MONTH + 1}"]
    stable = [p for p in found.judged if p.label not in found.beyond_tolerance]
    assert all(abs(p.gap) <= tolerance for p in stable)
    assert relation(stable, tolerance).mean_abs_gap < 0.03
    report = found.to_dict()
    assert report["tolerance"] == tolerance and len(report["pairs"]) == len(WINDOWS)
    assert "beyond the 0.05 tolerance" in found.describe()


def test_too_few_live_outcomes_are_not_judged_and_bad_input_is_refused() -> None:
    thin = AucPair("v9", 0.8, None, 12, 1)
    assert relation([thin], 0.05).judged == [] and relation([thin], 0.05).pearson is None
    with pytest.raises(ValueError, match="no"):
        relation([], 0.05)
    with pytest.raises(ValueError, match=">= 0"):
        relation([thin], -0.1)


@pytest.mark.rubric("model-2")
def test_the_logged_live_test_set_is_related_to_the_champions_offline_auc(champion_env) -> None:  # type: ignore[no-untyped-def]
    from credit.lib.live import (
        _ledger_dir,
        inbox_dir,
        live_test_set_outcomes,
        read_batch,
        record_outcomes,
        simulate_frontend_batch,
    )
    from credit.lib.offline_online import relation_from_log
    from credit.lib.registry import champion_offline_auc, load_decision_service

    service = load_decision_service()
    # The shared credit world may already hold live-test-set outcomes other tests logged: count them first.
    earlier = live_test_set_outcomes()
    earlier_n = 0 if earlier.empty else int((earlier["model_version"].astype(str) == str(service.model_version)).sum())
    batch_id = simulate_frontend_batch(17, 4_000, seed=4_242)
    try:
        decisions = service.decide_batch(read_batch(batch_id))  # logged, as the live path does
        # June 2025's outcomes are a year old by the wall clock: core banking reports them all at once.
        recorded = record_outcomes(batch_id, decisions, delay_days=credit_card().labels.delay_days,  # type: ignore[union-attr]
                                   now=dt.datetime.now(dt.UTC))
    finally:  # the shared world's inbox stays as the other tests expect it (they read its newest batch)
        for path in (inbox_dir() / f"{batch_id}.parquet", _ledger_dir() / f"{batch_id}.parquet",
                     _ledger_dir() / f"{batch_id}.pending.parquet"):
            path.unlink(missing_ok=True)
    assert recorded == sum(d.decision == "approve" for d in decisions)
    found = relation_from_log(0.05, min_each=3)
    assert found is not None
    (pair,) = [p for p in found.pairs if p.label == f"v{service.model_version}"]
    assert pair.offline == round(champion_offline_auc(), 4) and pair.metric == "auc"
    assert pair.outcomes == earlier_n + sum(d.live_test_set and d.decision == "approve" for d in decisions)
    assert pair.online is not None and 0.5 < pair.online <= 1.0
