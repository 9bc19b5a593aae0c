"""Credit studies: reproducible training (infra-1), tuning (model-3), ablation by data source (data-2/3),
staleness curve (model-4) and the staleness check that reads its limit (monitor-4)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from credit.lib.data import HISTORY_MONTHS, generate_applications
from credit.lib.decision import MODEL_NAME
from credit.lib.features import FEATURES, build_features, labels, split_by_time
from credit.lib.model import train_risk_model
from credit.lib.studies import (
    FEATURE_GROUPS,
    MIN_AUC_GAIN,
    SEARCH_BUDGET,
    ablation_report,
    data_fingerprint,
    predictions_fingerprint,
    staleness_curve,
    tune_hyperparameters,
)
from inloop.tracking import champion_version, client


@pytest.fixture(scope="module")
def small_history():
    applications = generate_applications(6_000, seed=11, months=range(HISTORY_MONTHS))
    train, holdout = split_by_time(applications)
    return applications, applications[train].reset_index(drop=True), applications[holdout].reset_index(drop=True)


@pytest.mark.rubric("infra-1")
def test_retraining_from_the_same_data_and_seed_gives_the_same_model(small_history) -> None:
    _, train, holdout = small_history
    again = generate_applications(6_000, seed=11, months=range(HISTORY_MONTHS))
    assert data_fingerprint(again[split_by_time(again)[0]]) == data_fingerprint(train)  # same data, same print
    assert data_fingerprint(train.iloc[1:]) != data_fingerprint(train)

    X, y, X_fixed = build_features(train), labels(train), build_features(holdout.head(500))
    one = {"num_threads": 1}
    first = train_risk_model(X, y, one, num_rounds=120)
    second = train_risk_model(X, y, one, num_rounds=120)
    assert first.booster.model_to_string() == second.booster.model_to_string()
    p1, p2 = first.probability(X_fixed), second.probability(X_fixed)
    assert np.array_equal(p1, p2) and predictions_fingerprint(p1) == predictions_fingerprint(p2)
    # The thread count does not change the trees (deterministic=True, row-wise histograms).
    two_threads = train_risk_model(X, y, {"num_threads": 2}, num_rounds=120)
    np.testing.assert_allclose(two_threads.probability(X_fixed), p1, rtol=0, atol=1e-12)
    # A different seed is a different model: the comparison above can fail.
    reseeded = train_risk_model(X, y, {**one, "seed": 8}, num_rounds=120)
    assert not np.array_equal(reseeded.probability(X_fixed), p1)


@pytest.mark.rubric("model-3")
def test_tuning_is_bounded_seeded_and_never_worse_than_the_defaults(small_history) -> None:
    _, train, _ = small_history
    result = tune_hyperparameters(train, budget=3, track=False)
    assert len(result.trials) == 3
    assert result.trials.loc[0, "num_leaves"] == 7  # trial 0 is the incumbent (today's defaults)
    assert result.best_score >= result.incumbent_score
    again = tune_hyperparameters(train, budget=3, track=False)
    assert again.best_params == result.best_params
    assert list(again.trials["validation_auc"]) == list(result.trials["validation_auc"])


@pytest.mark.rubric("model-3", "infra-1")
def test_the_trained_candidate_uses_the_searched_params_and_records_data_and_seed(
        credit_world: tuple[Path, dg.ExecuteInProcessResult], champion_env: Path) -> None:
    result = credit_world[1]
    search = result.output_for_node("hyperparameter_search")
    candidate = result.output_for_node("risk_model_candidate")
    for key, value in search.best_params.items():
        assert candidate.model.params[key] == value
    mlc = client()
    run = mlc.get_run(candidate.run_id)
    assert run.data.tags["inloop.tuning_run_id"] == search.run_id
    assert run.data.tags["inloop.seed"] == "7" and len(run.data.tags["inloop.data_fingerprint"]) == 16
    trials = mlc.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{search.run_id}'")
    assert len(trials) == SEARCH_BUDGET
    assert max(t.data.metrics["validation_auc"] for t in trials) == pytest.approx(search.best_score)


@pytest.mark.rubric("data-2", "data-3")
def test_ablation_by_data_source_measures_gain_and_cost_and_flags_sources_below_the_minimum(small_history) -> None:
    _, train, holdout = small_history
    groups = tuple(g for g in FEATURE_GROUPS if g.name in ("form_telemetry", "sales_channel"))
    report = ablation_report(train, holdout, {"num_rounds": 120}, groups=groups)
    rows = {r.group: r for r in report.rows}
    # Form-filling time is one of the strongest signals of the simulated world (TRUE_EFFECTS).
    assert rows["form_telemetry"].gain > MIN_AUC_GAIN and not rows["form_telemetry"].below_min_gain
    assert rows["form_telemetry"].source == "front end: session telemetry"
    assert all(np.isfinite(r.latency_ms_per_row_cost) for r in report.rows)
    assert report.full.size_bytes > 0 and 0.6 < report.full.quality < 0.95
    # With a bar no source can clear, every source is a finding, named with its dependency.
    strict = ablation_report(train, holdout, {"num_rounds": 120}, groups=groups, min_gain=0.5)
    assert len(strict.findings) == 2 and any("session telemetry" in f for f in strict.findings)
    assert {g for grp in FEATURE_GROUPS for g in grp.features} == set(FEATURES)  # every feature has a source


@pytest.mark.rubric("model-4")
def test_staleness_curve_scores_every_later_month_of_each_training_moment(small_history) -> None:
    applications, _, _ = small_history
    curve = staleness_curve(applications, {"num_rounds": 120}, origins=(7, 11), max_drop=0.05)
    table = curve.table()
    assert set(table["trained_until"]) == {"2024-08-31", "2024-12-31"}
    assert sorted(table.loc[table["trained_until"] == "2024-12-31", "age_days"]) == pytest.approx(
        [30.4 * a for a in range(1, 7)])
    assert table.groupby("trained_until")["value"].first().eq(0).all()  # each model's first month is its fresh AUC
    assert 0 < curve.limit_days <= table["age_days"].max()
    with pytest.raises(ValueError, match="nothing to score"):
        staleness_curve(applications, origins=(HISTORY_MONTHS - 1,))


@pytest.mark.rubric("monitor-4")
def test_the_staleness_check_applies_the_limit_logged_with_the_champion(
        credit_world: tuple[Path, dg.ExecuteInProcessResult], champion_env: Path) -> None:
    from credit.defs.monitoring import LiveDecisions, _measure_staleness
    from inloop.cards import Threshold
    from inloop.staleness import StalenessCurve, StalenessPoint, champion_age_days

    version, _, run_id = champion_age_days(MODEL_NAME)
    assert version == champion_version(MODEL_NAME)
    from inloop.staleness import logged_staleness_limit

    before = _measure_staleness(LiveDecisions("b1", []))
    if logged_staleness_limit(run_id) is None:  # the shared training run logs no curve: the card's 90 days
        assert before.threshold is None and "the card's 90 days" in before.summary
    # A champion whose curve says it holds for 30 days: the check's limit is 30, not the card's 90.
    points = (StalenessPoint("2025-05-31", 30.0, 0.80, 0.0, 900), StalenessPoint("2025-05-31", 60.0, 0.70, 0.1, 900))
    StalenessCurve("AUC", "AUC drop", Threshold(op="<=", value=0.05), points).log_to_run(run_id)
    measured = _measure_staleness(LiveDecisions("b1", []))
    assert measured.threshold == Threshold(op="<=", value=30.0)
    assert measured.details["curve_limit_days"] == 30 and measured.details["card_ceiling_days"] == 90
    assert "curve 30" in measured.summary


@pytest.mark.slow  # nine trainings at demo scale for the ablation, three more for the curve
@pytest.mark.rubric("data-2", "data-3", "model-4")
def test_the_evidence_assets_log_the_report_and_the_curve_to_the_champions_run(
        credit_world: tuple[Path, dg.ExecuteInProcessResult], champion_env: Path) -> None:
    from credit.defs.training import feature_ablation, model_staleness_curve

    result = credit_world[1]
    inputs = {name: result.output_for_node(name) for name in
              ("training_sets", "hyperparameter_search", "champion_model", "risk_model_candidate")}
    report = feature_ablation(dg.build_asset_context(), **inputs)
    curve = model_staleness_curve(dg.build_asset_context(), loan_applications=result.output_for_node(
        "loan_applications"), **{k: v for k, v in inputs.items() if k != "training_sets"})
    run_id = inputs["risk_model_candidate"].run_id
    assert champion_version(MODEL_NAME) == inputs["risk_model_candidate"].version
    mlc = client()
    logged = {a.path for folder in ("ablation", "staleness") for a in mlc.list_artifacts(run_id, folder)}
    assert {"ablation/ablation.csv", "ablation/ablation.md", "ablation/ablation.png",
            "staleness/staleness_curve.csv", "staleness/staleness_curve.png"} <= logged
    metrics = mlc.get_run(run_id).data.metrics
    assert metrics["ablation_findings"] == len(report.findings)
    assert metrics["staleness_limit_days"] == curve.limit_days > 0
    assert {r.group for r in report.rows} == {g.name for g in FEATURE_GROUPS}
