"""Recommender studies: reproducible ALS (infra-1), bounded tuning (model-3), ablation by event source
(data-2/3), staleness curve (model-4) and the champion staleness check that reads its limit (monitor-4)."""

from __future__ import annotations

import numpy as np
import pytest

from inloop.cards import Threshold
from inloop.checks import evaluate_concern
from inloop.tracking import GateResult, client, promote, start_run
from recommender.lib.collaborative import train_als
from recommender.lib.history import time_split
from recommender.lib.measures import champion_staleness
from recommender.lib.registry import MODEL_NAME, log_model
from recommender.lib.studies import (
    EVENT_SOURCES,
    ablation_report,
    events_fingerprint,
    home_recall,
    staleness_curve,
    tune_als,
)


@pytest.fixture(scope="module")
def split(shop):
    return time_split(shop.events, 7)


@pytest.mark.rubric("infra-1")
def test_retraining_als_from_the_same_events_and_seed_gives_the_same_factors(shop, split) -> None:
    n = shop.spec.n_accounts
    first = train_als(split.train, shop.catalog, n, seed=7)
    second = train_als(split.train.sample(frac=1.0, random_state=1), shop.catalog, n, seed=7)  # row order too
    assert np.array_equal(first.item_factors, second.item_factors) and first.version == second.version
    s1, s2 = home_recall(first, split.train, split.test), home_recall(second, split.train, split.test)
    assert (s1.recall, s1.ndcg) == (s2.recall, s2.ndcg)
    assert events_fingerprint(split.train) == events_fingerprint(time_split(shop.events, 7).train)
    assert not np.array_equal(train_als(split.train, shop.catalog, n, seed=8).item_factors, first.item_factors)


@pytest.mark.rubric("model-3")
def test_als_search_is_bounded_seeded_and_never_worse_than_the_defaults(shop, split) -> None:
    result = tune_als(split.train, shop.catalog, shop.spec.n_accounts, budget=2, track=False)
    assert len(result.trials) == 2 and result.trials.loc[0, "factors"] == 32  # the incumbent first
    assert result.best_score >= result.incumbent_score
    again = tune_als(split.train, shop.catalog, shop.spec.n_accounts, budget=2, track=False)
    assert again.best_params == result.best_params
    assert list(again.trials["validation_recall_at_10"]) == list(result.trials["validation_recall_at_10"])


@pytest.mark.rubric("data-2", "data-3")
def test_ablation_by_event_source_measures_gain_and_cost(shop, split) -> None:
    report = ablation_report(split, shop.catalog, shop.spec.n_accounts)
    rows = {r.group: r for r in report.rows}
    assert set(rows) == {g.name for g in EVENT_SOURCES}
    # Views are most of the signal: without them the model barely knows anyone.
    assert rows["views"].gain > 0.02 and not rows["views"].below_min_gain
    assert rows["views"].size_bytes_cost > rows["purchases"].size_bytes_cost > 0  # views are most events
    assert len(report.findings) == sum(r.below_min_gain for r in report.rows)
    assert "| views " in report.markdown() and "clickstream tracker" in report.markdown()
    # data-3: judged against the card's cost budgets, every source is budgeted and within its memory budget
    # (latency is judged too, but is a timing and is not asserted here).
    from recommender.defs.checks import card

    judged = report.with_budgets(card.cost_budgets)
    assert judged.unbudgeted == () and {c.target for c in judged.costs} >= {f"feature group {g}" for g in rows}
    assert not [o for c in judged.costs for o in c.over if "bytes" in o], judged.cost_findings
    assert "## Costs against the card's budgets" in judged.markdown()


@pytest.mark.rubric("model-4")
def test_staleness_curve_scores_each_week_after_each_cut(shop) -> None:
    bar = Threshold(op=">=", value=0.1)
    curve = staleness_curve(shop.events, shop.catalog, shop.spec.n_accounts, min_lift=bar, cuts_days=(21, 14))
    table = curve.table()
    assert sorted(table["age_days"]) == [7, 7, 14, 14, 21]
    assert (table["quality"] > 0).all() and (table["rows"] > 50).all()
    assert curve.limit_days in (0, 7, 14, 21)
    with pytest.raises(ValueError, match="nothing to train on"):
        staleness_curve(shop.events, shop.catalog, shop.spec.n_accounts, min_lift=bar, cuts_days=(60,))


@pytest.mark.rubric("monitor-4")
def test_the_champion_staleness_check_applies_the_curve_limit_under_the_card_ceiling(shop, split) -> None:
    from recommender.defs.checks import card

    concern = card.concern("model-staleness")
    ceiling = concern.threshold
    assert ceiling is not None
    assert champion_staleness(ceiling=ceiling).value is None  # nobody serves yet: a failed measurement
    model = train_als(split.train, shop.catalog, shop.spec.n_accounts)
    with start_run("recommender", "train-als") as run:
        version = log_model(model)
    assert promote(MODEL_NAME, version, [GateResult("test", True, "")]).promoted
    fallback = champion_staleness(ceiling=ceiling)
    assert fallback.threshold is None and fallback.value < 1 and "card's 28 days" in fallback.summary

    curve = staleness_curve(shop.events, shop.catalog, shop.spec.n_accounts, min_lift=Threshold(op=">=", value=0.1),
                            cuts_days=(14,))
    curve.log_to_run(run.info.run_id)
    measured = champion_staleness(ceiling=ceiling)
    assert measured.threshold == Threshold(op="<=", value=min(curve.limit_days, 28))
    assert client().get_run(run.info.run_id).data.metrics["staleness_limit_days"] == curve.limit_days
    outcome = evaluate_concern("recommender", concern, measured)
    assert outcome.passed  # a model registered seconds ago is within any limit above 0


@pytest.mark.rubric("data-2", "data-3", "model-4")
def test_the_evidence_assets_log_the_report_and_the_curve_to_the_models_run(shop, split) -> None:
    from recommender.defs.model import (
        TrackedModel,
        recommender_feature_ablation,
        recommender_staleness_curve,
    )

    n = shop.spec.n_accounts
    search = tune_als(split.train, shop.catalog, n, budget=1, track=False)
    model = train_als(split.train, shop.catalog, n, factors=search.best_params["factors"])
    with start_run("recommender", "train-als") as run:
        version = log_model(model)
    decision = promote(MODEL_NAME, version, [GateResult("test", True, "")])
    tracked = TrackedModel(model, run.info.run_id, version)
    common = {"collaborative_model": tracked, "champion_recommender": decision, "catalog": shop.catalog,
              "shoppers": shop.shoppers, "als_hyperparameter_search": search}
    report = recommender_feature_ablation(interaction_split=split, **common).value
    curve = recommender_staleness_curve(shop_events=shop.events, **common).value
    mlc = client()
    logged = {a.path for folder in ("ablation", "staleness") for a in mlc.list_artifacts(run.info.run_id, folder)}
    assert {"ablation/ablation.csv", "ablation/ablation.md", "ablation/ablation.png",
            "staleness/staleness_curve.csv", "staleness/staleness_curve.png"} <= logged
    metrics = mlc.get_run(run.info.run_id).data.metrics
    assert metrics["ablation_findings"] == len(report.findings)
    assert metrics["staleness_limit_days"] == curve.limit_days
