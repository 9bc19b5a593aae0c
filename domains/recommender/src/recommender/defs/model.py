"""Training, evaluation and promotion of the collaborative model, tracked in MLflow."""

# No "from __future__ import annotations" here: Dagster reads the config class from the real annotation.

from dataclasses import dataclass

import dagster as dg
import pandas as pd
from pydantic import Field

from inloop import tracking
from inloop.ablation import AblationReport
from inloop.canary import stage_candidate
from inloop.readiness import rubric
from inloop.staleness import StalenessCurve
from inloop.tuning import SearchResult
from recommender.lib.collaborative import CollaborativeModel, train_als
from recommender.lib.evaluation import Evaluation, evaluate, promotion_gates
from recommender.lib.history import TimeSplit, time_split
from recommender.lib.popularity import PopularityModel, fit_popularity
from recommender.lib.registry import MODEL_NAME, log_model
from recommender.lib.shared_accounts import detect_shared_accounts, label_detection
from recommender.lib.studies import (
    SEARCH_BUDGET,
    ablation_report,
    events_fingerprint,
    staleness_curve,
    tune_als,
)

DOMAIN = "recommender"


@dataclass(frozen=True)
class TrackedModel:
    """A trained model with where MLflow keeps it."""

    model: CollaborativeModel
    run_id: str
    registered_version: str


class SplitConfig(dg.Config):
    test_days: int = Field(default=7, description="The held-out week(s) at the end of the clickstream.")


class TrainingConfig(dg.Config):
    """Unset ALS settings come from the hyperparameter search; set ones override it."""

    factors: int | None = Field(default=None, description="ALS latent factors (default: the search's best).")
    iterations: int = Field(default=12, description="ALS sweeps.")
    regularization: float | None = Field(default=None, description="L2 penalty on the factors (default: searched).")
    alpha: float | None = Field(default=None, description="Confidence per unit of event weight (default: searched).")
    seed: int = 7


class SearchConfig(dg.Config):
    budget: int = Field(default=SEARCH_BUDGET, description="Trials, today's defaults included.")
    seed: int = 7


@dg.asset(group_name="model")
def interaction_split(config: SplitConfig, shop_events: pd.DataFrame) -> dg.Output[TimeSplit]:
    """Clickstream cut in time: the training window and the held-out week after it."""
    split = time_split(shop_events, config.test_days)
    return dg.Output(split, metadata={"cutoff": str(split.cutoff), "train_events": len(split.train),
                                      "test_events": len(split.test),
                                      "test_accounts": int(split.test["account_id"].nunique())})


@dg.asset(group_name="model")
def popularity_baseline(interaction_split: TimeSplit, catalog: pd.DataFrame) -> dg.Output[PopularityModel]:
    """Bestsellers of the last 14 training days: the no-ML answer, the fallback and the bar to beat."""
    model = fit_popularity(interaction_split.train, len(catalog))
    return dg.Output(model, metadata={"version": model.version})


@dg.asset(group_name="model")
def als_hyperparameter_search(config: SearchConfig, interaction_split: TimeSplit, catalog: pd.DataFrame,
                              shoppers: pd.DataFrame) -> dg.Output[SearchResult]:
    """A bounded search over ALS factors, regularization and alpha (fixed budget and seed), validated on the
    training window's last week; each trial an MLflow child run."""
    result = tune_als(interaction_split.train, catalog, int(shoppers["account_id"].max()) + 1,
                      budget=config.budget, seed=config.seed)
    return dg.Output(result, metadata={"best": result.summary(), "mlflow_run_id": result.run_id or "",
                                       "best_params": dg.MetadataValue.json(result.best_params),
                                       "trials": dg.MetadataValue.md(result.trials.to_markdown(index=False))})


@dg.asset(group_name="model")
def collaborative_model(config: TrainingConfig, interaction_split: TimeSplit, catalog: pd.DataFrame,
                        shoppers: pd.DataFrame, als_hyperparameter_search: SearchResult) -> dg.Output[TrackedModel]:
    """Implicit ALS over views, carts and purchases (the search's best setting), logged and registered in MLflow."""
    best = als_hyperparameter_search.best_params
    model = train_als(interaction_split.train, catalog, int(shoppers["account_id"].max()) + 1,
                      factors=int(best["factors"] if config.factors is None else config.factors),
                      iterations=config.iterations,
                      regularization=float(best["regularization"] if config.regularization is None
                                           else config.regularization),
                      alpha=float(best["alpha"] if config.alpha is None else config.alpha), seed=config.seed)
    import mlflow

    with tracking.start_run(DOMAIN, "train-als", tags={
            "model_version": model.version, "inloop.tuning_run_id": als_hyperparameter_search.run_id or "",
            "inloop.data_fingerprint": events_fingerprint(interaction_split.train),
            "inloop.seed": str(config.seed)}) as run:
        mlflow.log_params(model.params)
        mlflow.log_metric("training_seconds", model.training_seconds)
        registered = log_model(model)
    return dg.Output(TrackedModel(model, run.info.run_id, registered), metadata={
        "model_version": model.version, "registered_version": registered, "mlflow_run_id": run.info.run_id,
        "training_seconds": round(model.training_seconds, 3), "interactions": model.params["interactions"]})


@dg.asset(group_name="model")
def recommender_evaluation(collaborative_model: TrackedModel, popularity_baseline: PopularityModel,
                           interaction_split: TimeSplit, catalog: pd.DataFrame,
                           shoppers: pd.DataFrame) -> dg.Output[Evaluation]:
    """Recall@10 and NDCG@10 of model and popularity, overall and per slice, on the held-out week."""
    evaluation = evaluate(collaborative_model.model, popularity_baseline, interaction_split, catalog, shoppers)
    mlc = tracking.client()
    for key, value in evaluation.metrics().items():
        mlc.log_metric(collaborative_model.run_id, key, float(value))
    mlc.log_dict(collaborative_model.run_id, {"overall": evaluation.overall, "slices": evaluation.table(),
                                              "catalog_coverage": evaluation.catalog_coverage},
                 "evaluation/slices.json")
    return dg.Output(evaluation, metadata={
        "model_recall_at_10": evaluation.overall["model"]["recall"],
        "popularity_recall_at_10": evaluation.overall["popularity"]["recall"],
        "model_ndcg_at_10": evaluation.overall["model"]["ndcg"],
        "popularity_ndcg_at_10": evaluation.overall["popularity"]["ndcg"],
        "recall_lift": evaluation.recall_lift,
        "slices": dg.MetadataValue.md(evaluation.slices.round(4).to_markdown(index=False)),
    })


@dg.asset(group_name="model")
def champion_recommender(collaborative_model: TrackedModel,
                         recommender_evaluation: Evaluation) -> dg.Output[tracking.PromotionDecision]:
    """The promotion decision: ``champion`` moves to this version only if every gate passed."""
    from recommender.defs.checks import card

    required = card.concern("model-beats-popularity").threshold.value  # type: ignore[union-attr]
    # The first model becomes champion (with its model card); a later one that passes is the challenger the
    # API canaries until `inloop models promote recommender`; a refused one is recorded on its version.
    staged = stage_candidate(DOMAIN, MODEL_NAME, collaborative_model.registered_version,
                             promotion_gates(recommender_evaluation, required))
    decision = staged.decision
    return dg.Output(decision, metadata={"promoted": decision.promoted, "stage": staged.stage, "reason": staged.reason,
                                         "champion": str(tracking.champion_version(MODEL_NAME) or "none")})


@dg.asset(group_name="model")
def shared_account_detection(interaction_split: TimeSplit, catalog: pd.DataFrame,
                             shoppers: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    """Which accounts mix two people's browsing (verdicts on the training window, beside the household labels)."""
    flags = detect_shared_accounts(interaction_split.train, catalog)
    labelled = label_detection(flags, interaction_split.train, shoppers)
    return dg.Output(labelled, metadata={"accounts": len(labelled),
                                         "flagged": int(labelled["shared_detected"].sum()),
                                         "labelled_households": int(labelled["shared"].sum())})


@dg.asset(group_name="model_evidence")
@rubric("data-2", "data-3", how="automated", what="every trained ALS run holds the leave-one-event-source-out ablation report "
        "(CSV, Markdown, PNG); sources below the minimum recall@10 gain, and sources over the card's cost budgets, "
        "are findings")
def recommender_feature_ablation(collaborative_model: TrackedModel, champion_recommender: tracking.PromotionDecision,
                                 interaction_split: TimeSplit, catalog: pd.DataFrame, shoppers: pd.DataFrame,
                                 als_hyperparameter_search: SearchResult) -> dg.Output[AblationReport]:
    """Each event source (views, carts, purchases, app) left out: the recall@10 it adds vs its costs."""
    from recommender.defs.checks import card

    report = ablation_report(interaction_split, catalog, int(shoppers["account_id"].max()) + 1,
                             als_hyperparameter_search.best_params)
    report = report.with_budgets(card.cost_budgets)  # data-3: the card's cost budgets
    report.log_to_run(collaborative_model.run_id)
    for finding in report.findings:
        dg.get_dagster_logger().warning(f"event source below the minimum gain: {finding}")
    for finding in report.cost_findings:
        dg.get_dagster_logger().warning(f"cost budget: {finding}")
    return dg.Output(report, metadata={"findings": len(report.findings), "cost_findings": len(report.cost_findings),
                                       "seconds": report.seconds,
                                       "mlflow_run_id": collaborative_model.run_id,
                                       "report": dg.MetadataValue.md(report.markdown())})


@dg.asset(group_name="model_evidence")
@rubric("model-4", how="automated", what="every trained ALS run holds its model-age vs recall@10 curve (CSV, PNG) and the age "
        "limit the card's lift bar implies; the staleness check reads it")
def recommender_staleness_curve(collaborative_model: TrackedModel, champion_recommender: tracking.PromotionDecision,
                                shop_events: pd.DataFrame, catalog: pd.DataFrame, shoppers: pd.DataFrame,
                                als_hyperparameter_search: SearchResult) -> dg.Output[StalenessCurve]:
    """Recall@10 by model age (weekly windows after earlier cuts); the age limit stored with the model."""
    from recommender.defs.checks import card

    bar = card.concern("model-beats-popularity").threshold
    assert bar is not None
    curve = staleness_curve(shop_events, catalog, int(shoppers["account_id"].max()) + 1,
                            als_hyperparameter_search.best_params, min_lift=bar)
    curve.log_to_run(collaborative_model.run_id)
    return dg.Output(curve, metadata={"age_limit_days": curve.limit_days, "censored": curve.censored,
                                      "summary": curve.describe(), "mlflow_run_id": collaborative_model.run_id,
                                      "by_age": dg.MetadataValue.md(curve.by_age().round(4).to_markdown(index=False))})
