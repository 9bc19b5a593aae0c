"""Training, evaluation and promotion of the collaborative model, tracked in MLflow."""

# No "from __future__ import annotations" here: Dagster reads the config class from the real annotation.

from dataclasses import dataclass

import dagster as dg
import pandas as pd
from pydantic import Field

from inloop import tracking
from recommender.lib.collaborative import CollaborativeModel, train_als
from recommender.lib.evaluation import Evaluation, evaluate, promotion_gates
from recommender.lib.history import TimeSplit, time_split
from recommender.lib.popularity import PopularityModel, fit_popularity
from recommender.lib.registry import MODEL_NAME, log_model
from recommender.lib.shared_accounts import detect_shared_accounts, label_detection

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
    factors: int = Field(default=32, description="ALS latent factors.")
    iterations: int = Field(default=12, description="ALS sweeps.")
    regularization: float = Field(default=0.05, description="L2 penalty on the factors.")
    alpha: float = Field(default=10.0, description="Confidence per unit of event weight.")
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
def collaborative_model(config: TrainingConfig, interaction_split: TimeSplit, catalog: pd.DataFrame,
                        shoppers: pd.DataFrame) -> dg.Output[TrackedModel]:
    """Implicit ALS over views, carts and purchases, logged and registered in MLflow."""
    model = train_als(interaction_split.train, catalog, int(shoppers["account_id"].max()) + 1,
                      factors=config.factors, iterations=config.iterations,
                      regularization=config.regularization, alpha=config.alpha, seed=config.seed)
    import mlflow

    with tracking.start_run(DOMAIN, "train-als", tags={"model_version": model.version}) as run:
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
    decision = tracking.promote(MODEL_NAME, collaborative_model.registered_version,
                                promotion_gates(recommender_evaluation, required))
    if decision.promoted:  # the champion's model card (Mitchell et al.) goes with it into MLflow
        from inloop.model_card import log_model_card

        try:
            log_model_card(DOMAIN, decision.version)
        except Exception as exc:  # documentation never undoes a promotion; say so in the run's log
            dg.get_dagster_logger().warning(f"model card not logged: {type(exc).__name__}: {exc}")
    return dg.Output(decision, metadata={"promoted": decision.promoted, "reason": decision.reason,
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
