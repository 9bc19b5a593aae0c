"""The whole recommender pipeline in Dagster: shop -> model -> gate -> served pages, with every concern checked.

Materialized once for the module, in its own data directory; each test then reads what that run
left behind. Marked slow: MLflow's first use of a fresh tracking database (its schema migrations)
and Great Expectations' first context dominate, 10-20 s each on two shared cores; the pipeline's
own steps take a few seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from inloop import db, tracking
from inloop.alerts import AlertRecord, list_alerts
from inloop.db.models import CheckResult, Prediction
from inloop.settings import reset_settings
from recommender.definitions import ASSETS
from recommender.defs.checks import CHECKS
from recommender.lib.registry import MODEL_NAME

pytestmark = pytest.mark.slow

SMALL = {"n_items": 600, "n_accounts": 800}
PAGE_VIEWS = 300


def _served_pages(**config: Any) -> dict[str, Any]:
    return {"served_pages": {"config": {"page_views": PAGE_VIEWS, **config}}}


@dataclass
class PipelineRun:
    result: dg.ExecuteInProcessResult
    checks: dict[str, dg.AssetCheckEvaluation]
    relaunch: dict[str, dg.AssetCheckEvaluation]
    check_rows: list[CheckResult]
    predictions: int
    alerts: list[AlertRecord]
    champion: str | None
    run_metrics: dict[str, float]
    run_params: dict[str, str]
    artifacts: list[str]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineRun]:
    data_dir = tmp_path_factory.mktemp("recommender-pipeline")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INLOOP_DATA_DIR", str(data_dir))
        mp.setenv("INLOOP_ENVIRONMENT", "test")
        mp.setenv("DAGSTER_HOME", str(data_dir / "dagster"))
        reset_settings()
        db.dispose_engines()
        with dg.instance_for_test() as instance:
            result = dg.materialize([*ASSETS, *CHECKS], instance=instance, raise_on_error=False, run_config={
                "ops": {"synthetic_shop": {"config": SMALL}, **_served_pages()}})
            checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
            # The page as it was launched, on the same traffic and model: the concern checks must bite.
            launched = dg.materialize(
                [*ASSETS, *CHECKS], selection=dg.AssetSelection.assets("served_pages"), instance=instance,
                run_config={"ops": _served_pages(context_filter=False, shared_account_handling="off",
                                                 last_seen_lookback_days=90)},
                raise_on_error=False)
            relaunch = {e.check_name: e for e in launched.get_asset_check_evaluations()}
        with db.read_session() as sess:
            rows = list(sess.scalars(sa.select(CheckResult).order_by(CheckResult.id)))
            predictions = sess.scalar(sa.select(sa.func.count()).select_from(Prediction)) or 0
        mlc = tracking.client()
        version = mlc.get_model_version(MODEL_NAME, "1")
        run = mlc.get_run(version.run_id)
        artifacts = [a.path for a in mlc.list_artifacts(run.info.run_id, "evaluation")]
        yield PipelineRun(result, checks, relaunch, rows, predictions, list_alerts("recommender"),
                          str(tracking.champion_version(MODEL_NAME)), run.data.metrics, run.data.params, artifacts)
        db.dispose_engines()
    reset_settings()


@pytest.mark.rubric("infra-3")
def test_pipeline_materializes_and_every_concern_holds(pipeline):
    assert pipeline.result.success
    assert set(pipeline.checks) == {spec.name for check in CHECKS for spec in check.check_specs}
    failed = {name: e.metadata.get("summary") for name, e in pipeline.checks.items() if not e.passed}
    assert failed == {}


def test_every_evaluation_is_recorded_in_the_metric_history(pipeline):
    first_run = {r.concern_id for r in pipeline.check_rows if r.run_id == pipeline.result.run_id}
    assert first_run == {"catalog-gender-tagged", "model-beats-popularity", "shared-accounts-detected",
                         "no-off-context-items", "new-users-get-useful-recommendations", "last-seen-is-recent",
                         "model-staleness", "serving-inputs-valid", "live-box-ctr", "named-groups-included"}


def test_training_and_evaluation_are_tracked_in_mlflow_and_the_model_is_champion(pipeline):
    assert pipeline.champion == "1"
    metrics = pipeline.run_metrics
    assert metrics["model_recall_at_10"] > metrics["popularity_recall_at_10"]
    assert metrics["recall_lift_over_popularity"] >= 0.10
    assert "slice_new_users_model_recall_at_10" in metrics and "training_seconds" in metrics
    search = pipeline.result.output_for_node("als_hyperparameter_search")
    assert pipeline.run_params["factors"] == str(search.best_params["factors"])  # what the search chose
    assert "evaluation/slices.json" in pipeline.artifacts
    decision = pipeline.result.output_for_node("champion_recommender")
    assert decision.promoted and {g.name for g in decision.gates} >= {"recall_at_10_lift_over_popularity"}


def test_served_pages_are_logged_box_by_box(pipeline):
    views = pipeline.result.output_for_node("served_pages")
    assert len(views) == PAGE_VIEWS
    assert all(v.boxes[1].model_version == f"{MODEL_NAME}/1" for v in views)
    assert pipeline.predictions == 3 * PAGE_VIEWS * 2  # the fixed page, then the page as launched


def test_the_page_as_launched_fails_the_off_context_and_recency_checks_and_alerts(pipeline):
    off = pipeline.relaunch["off_context_rate_on_gendered_pages"]
    assert not off.passed and off.severity == dg.AssetCheckSeverity.ERROR
    assert not pipeline.relaunch["last_seen_items_are_recent"].passed
    assert pipeline.relaunch["new_user_recommendation_coverage"].passed
    alerts = {a.concern_id: a for a in pipeline.alerts}
    assert set(alerts) == {"no-off-context-items", "last-seen-is-recent"}
    assert alerts["no-off-context-items"].severity == "ERROR" and "last_seen_box" in alerts["no-off-context-items"].message
