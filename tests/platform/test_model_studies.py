"""Platform studies: feature ablation (data-2/3), bounded tuning (model-3), staleness curve and limit (model-4/monitor-4).

Real (small) models on generated data; the domains' own studies are tested under tests/domains.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from inloop.ablation import FeatureGroup, Score, run_ablation
from inloop.cards import Concern, Metric, Threshold
from inloop.checks import Measurement, evaluate_concern, latest_results
from inloop.staleness import (
    LIMIT_METRIC,
    StalenessCurve,
    StalenessPoint,
    derived_threshold,
    logged_staleness_limit,
)
from inloop.tracking import client, start_run
from inloop.tuning import bounded_search


def _data(seed: int = 3, n: int = 3_000) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    z = 1.5 * X[:, 0] + 1.0 * X[:, 1]  # columns 2 and 3 are noise
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return X, y, ["signal_a", "signal_b", "noise_c", "noise_d"]


@pytest.mark.rubric("data-2", "data-3")
def test_ablation_flags_the_source_that_adds_nothing_and_reports_its_cost() -> None:
    X, y, names = _data()
    train, test = slice(0, 2_000), slice(2_000, None)

    def fit_and_score(dropped: tuple[str, ...]) -> Score:
        keep = [i for i, n in enumerate(names) if n not in dropped]
        model = LogisticRegression().fit(X[train][:, keep], y[train])
        started = time.perf_counter()
        p = model.predict_proba(X[test][:, keep])[:, 1]
        latency = (time.perf_counter() - started) * 1_000 / len(p)
        return Score(float(roc_auc_score(y[test], p)), latency, int(model.coef_.nbytes))

    groups = [FeatureGroup("bureau", ("signal_a",), "credit bureau API"),
              FeatureGroup("form", ("signal_b",), "application form"),
              FeatureGroup("tracking_pixels", ("noise_c", "noise_d"), "third-party tracking vendor")]
    report = run_ablation(groups, fit_and_score, metric="AUC", min_gain=0.005)
    rows = {r.group: r for r in report.rows}
    assert rows["bureau"].gain > 0.05 and not rows["bureau"].below_min_gain
    assert rows["form"].gain > 0.02 and not rows["form"].below_min_gain
    assert rows["tracking_pixels"].below_min_gain and rows["tracking_pixels"].size_bytes_cost == 16
    [finding] = report.findings
    assert finding.startswith("tracking_pixels (third-party tracking vendor)")
    assert "**YES**" in report.markdown() and "third-party tracking vendor" in report.markdown()

    with start_run("studies", "champion") as run:
        pass
    report.log_to_run(run.info.run_id)
    logged = client().get_run(run.info.run_id)
    assert logged.data.metrics["ablation_findings"] == 1
    assert {a.path for a in client().list_artifacts(run.info.run_id, "ablation")} == {
        "ablation/ablation.csv", "ablation/ablation.md", "ablation/ablation.png"}


def test_ablation_refuses_unclear_input() -> None:
    with pytest.raises(ValueError, match="unique"):
        run_ablation([FeatureGroup("a", ("x",), "s"), FeatureGroup("a", ("y",), "s")],
                     lambda d: Score(1, 0, 0), metric="AUC", min_gain=0.0)
    with pytest.raises(ValueError, match="no features"):
        FeatureGroup("empty", (), "s")


@pytest.mark.rubric("model-3")
def test_bounded_search_keeps_its_budget_and_seed_logs_child_runs_and_picks_the_best() -> None:
    X, y, _ = _data(n=1_500)
    calls: list[dict] = []

    def objective(params: dict) -> float:
        calls.append(params)
        model = LogisticRegression(C=params["C"], fit_intercept=params["fit_intercept"]).fit(X[:1_000], y[:1_000])
        return float(roc_auc_score(y[1_000:], model.predict_proba(X[1_000:])[:, 1]))

    space = {"C": [1e-4, 1e-3, 0.01, 1.0], "fit_intercept": [True, False]}
    result = bounded_search(space, objective, budget=4, seed=11, metric="validation_auc",
                            incumbent={"C": 1e-4, "fit_intercept": True, "max_iter": 100}, domain="studies")
    assert len(calls) == 4 and calls[0] == {"C": 1e-4, "fit_intercept": True}  # the incumbent first
    assert len({tuple(sorted(c.items())) for c in calls}) == 4  # no setting tried twice
    assert result.best_score == max(result.trials["validation_auc"]) >= result.incumbent_score
    assert result.best_params["C"] > 1e-4  # the strongest regularisation is the worst here
    children = client().search_runs([client().get_run(result.run_id).info.experiment_id],
                                    f"tags.mlflow.parentRunId = '{result.run_id}'")
    assert len(children) == 4
    assert sorted(c.data.metrics["validation_auc"] for c in children) == sorted(result.trials["validation_auc"])
    again = bounded_search(space, objective, budget=4, seed=11, metric="validation_auc",
                           incumbent={"C": 1e-4, "fit_intercept": True})
    assert again.best_params == result.best_params and calls[4:] == calls[:4]  # same seed, same trials


def test_bounded_search_refuses_an_empty_budget() -> None:
    with pytest.raises(ValueError, match="budget"):
        bounded_search({"a": [1]}, lambda p: 0.0, budget=0, seed=1, metric="m")


def _curve(values: dict[float, list[float]], threshold: Threshold) -> StalenessCurve:
    points = tuple(StalenessPoint(f"2025-0{i + 1}-01", age, 0.8 - v, v, 100)
                   for age, vs in values.items() for i, v in enumerate(vs))
    return StalenessCurve("AUC", "AUC drop", threshold, points)


@pytest.mark.rubric("model-4", "monitor-4")
def test_staleness_limit_is_the_last_age_before_quality_falls_past_the_threshold() -> None:
    tolerance = Threshold(op="<=", value=0.05)
    # Means per age: 0.0, 0.02, 0.04, 0.07 (fails), 0.03 (recovers, but too late: the limit stays at 60).
    curve = _curve({30: [0.0, 0.0], 45: [0.01, 0.03], 60: [0.03, 0.05], 90: [0.06, 0.08], 120: [0.03, 0.03]},
                   tolerance)
    assert curve.limit_days == 60 and not curve.censored
    assert "after 60 days" in curve.describe()
    flat = _curve({30: [0.0], 60: [0.01]}, tolerance)
    assert flat.limit_days == 60 and flat.censored and "lower bound" in flat.describe()
    assert _curve({30: [0.2]}, tolerance).limit_days == 0  # stale within the first window: retrain constantly

    ceiling = Threshold(op="<=", value=90)
    assert derived_threshold(60, ceiling) == Threshold(op="<=", value=60)
    assert derived_threshold(365, ceiling) == ceiling  # the card's age stays the ceiling
    assert derived_threshold(None, ceiling) is None
    with pytest.raises(ValueError, match="upper bound"):
        derived_threshold(60, Threshold(op=">=", value=1))

    with start_run("studies", "model") as run:
        pass
    assert logged_staleness_limit(run.info.run_id) is None
    curve.log_to_run(run.info.run_id)
    assert logged_staleness_limit(run.info.run_id) == 60
    assert client().get_run(run.info.run_id).data.metrics[LIMIT_METRIC] == 60
    assert {a.path for a in client().list_artifacts(run.info.run_id, "staleness")} == {
        "staleness/staleness_curve.csv", "staleness/staleness_by_age.csv", "staleness/staleness_curve.png"}


@pytest.mark.rubric("monitor-4")
def test_a_derived_threshold_replaces_the_cards_and_is_recorded() -> None:
    concern = Concern(id="model-staleness", statement="not too old", raised_by="ML lead", worst_case="old model",
                      user_story="as the ML lead ...", metric=Metric(name="champion_age_days", description="age"),
                      threshold=Threshold(op="<=", value=90), check="champion_not_stale", severity="WARN")
    limit = Threshold(op="<=", value=30)
    failed = evaluate_concern("studies", concern, Measurement(45.0, "45 days old", threshold=limit))
    assert not failed.passed and failed.alert_id is not None  # 45 <= 90 would have passed on the card's value
    [row] = latest_results("studies")
    assert (row.threshold_op, row.threshold_value, row.passed) == ("<=", 30, False)
    held = evaluate_concern("studies", concern, Measurement(45.0, "no curve logged"))
    assert held.passed  # without a derived threshold the card's 90 days apply
