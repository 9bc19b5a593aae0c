"""Training pipeline: features -> LightGBM candidate (MLflow) -> evaluation -> gate -> champion."""

# No `from __future__ import annotations` here: Dagster resolves Config annotations at runtime.
from dataclasses import dataclass
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from credit.defs.card import credit_card
from credit.lib.decision import MODEL_NAME
from credit.lib.evaluation import Evaluation, evaluate_models
from credit.lib.features import FEATURES, build_features, labels, split_by_time
from credit.lib.loan_book import available_features, slice_columns
from credit.lib.model import NUM_ROUNDS, RiskModel, train_baseline, train_risk_model
from credit.lib.policy import load_policy
from credit.lib.promotion import GATES, gate_measurements, promote_candidate, promotion_gates
from credit.lib.registry import log_candidate, log_evaluation
from credit.lib.studies import ablation_report, data_fingerprint, staleness_curve, tune_hyperparameters
from inloop.ablation import AblationReport
from inloop.canary import stage_candidate
from inloop.checks import Measurement, concern_check
from inloop.feature_policy import require_allowed_features
from inloop.readiness import rubric
from inloop.staleness import StalenessCurve
from inloop.tracking import PromotionDecision
from inloop.tuning import SearchResult


@dataclass
class TrainingSets:
    """The history split by time, with the features the candidate is trained on."""

    features: tuple[str, ...]
    train: pd.DataFrame
    holdout: pd.DataFrame

    def X(self, part: str, features: tuple[str, ...] | None = None) -> pd.DataFrame:
        return build_features(getattr(self, part), features or self.features)

    def y(self, part: str) -> np.ndarray:
        return labels(getattr(self, part))


@dataclass
class Candidate:
    model: RiskModel
    baseline: Any
    version: str
    run_id: str


class TrainingSetsConfig(dg.Config):
    """Which features the candidate may use (an ablation drops some, e.g. to test the gate)."""

    drop_features: list[str] = []


@dg.asset(group_name="credit_training")
def training_sets(context: dg.AssetExecutionContext, config: TrainingSetsConfig,
                  loan_applications: pd.DataFrame) -> TrainingSets:
    """The validated history split by time: earlier months to train, the last four held out."""
    unknown = sorted(set(config.drop_features) - set(FEATURES))
    if unknown:
        raise ValueError(f"drop_features names unknown feature(s) {unknown}; features are {', '.join(FEATURES)}")
    train, holdout = split_by_time(loan_applications)
    # Inputs the card's source does not have (declared absent in its mapping) are not features.
    features = tuple(f for f in available_features(credit_card()) if f not in config.drop_features)
    sets = TrainingSets(features, loan_applications[train].reset_index(drop=True),
                        loan_applications[holdout].reset_index(drop=True))
    context.add_output_metadata({"train_rows": len(sets.train), "holdout_rows": len(sets.holdout),
                                 "features": ", ".join(features),
                                 "holdout_from": str(sets.holdout["applied_at"].min())})
    return sets


@dg.asset(group_name="credit_training")
def hyperparameter_search(context: dg.AssetExecutionContext, training_sets: TrainingSets) -> SearchResult:
    """A bounded search (fixed budget and seed) on the training window's last months; each trial an MLflow run."""
    result = tune_hyperparameters(training_sets.train, features=training_sets.features,
                                  tags={"dagster.run_id": context.run.run_id})
    context.add_output_metadata({"best": result.summary(), "mlflow_run_id": result.run_id or "",
                                 "best_params": dg.MetadataValue.json(result.best_params),
                                 "trials": dg.MetadataValue.md(result.trials.to_markdown(index=False))})
    return result


@dg.asset(group_name="credit_training")
def risk_model_candidate(context: dg.AssetExecutionContext, training_sets: TrainingSets,
                         hyperparameter_search: SearchResult) -> Candidate:
    """A LightGBM default-risk model (the search's best setting) and its logistic-regression baseline, in MLflow."""
    X, y = training_sets.X("train"), training_sets.y("train")
    params = dict(hyperparameter_search.best_params)
    model = train_risk_model(X, y, params, num_rounds=int(params.pop("num_rounds", NUM_ROUNDS)))
    # data-4: the trained model's features, read from the loan book, against the card's feature_policy
    require_allowed_features(credit_card(), {feature: ("loan_history",) for feature in model.features})
    # The baseline always sees every application input the source has: it is the bar, not an ablation.
    baseline = train_baseline(training_sets.X("train", available_features(credit_card())), y)
    run = log_candidate(model, X, y, tags={"dagster.run_id": context.run.run_id,
                                           "inloop.data_fingerprint": data_fingerprint(training_sets.train),
                                           "inloop.seed": str(model.params["seed"]),
                                           "inloop.tuning_run_id": hyperparameter_search.run_id or ""})
    context.add_output_metadata({"mlflow_run_id": run.run_id, "registered_version": run.version,
                                 "features": ", ".join(model.features)})
    return Candidate(model, baseline, run.version, run.run_id)


@dg.asset(group_name="credit_training")
def model_evaluation(context: dg.AssetExecutionContext, risk_model_candidate: Candidate,
                     training_sets: TrainingSets) -> Evaluation:
    """The candidate beside the baseline on the holdout months: AUC, Brier, approval rate, per slice."""
    evaluation = evaluate_models(training_sets.holdout, training_sets.y("holdout"), risk_model_candidate.model,
                                 risk_model_candidate.baseline, load_policy(),
                                 slice_columns=slice_columns(credit_card()))
    log_evaluation(risk_model_candidate.run_id, evaluation)
    gates = promotion_gates(evaluation, credit_card())
    if not all(g.passed for g in gates):
        # The blocking checks will stop the promotion; record on the MLflow version which gate refused.
        refusal = promote_candidate(risk_model_candidate.version, evaluation, credit_card())
        context.log.warning(refusal.reason)
    context.add_output_metadata({
        "model_auc": evaluation.model_auc, "baseline_auc": evaluation.baseline_auc,
        "model_brier": evaluation.model_brier, "baseline_brier": evaluation.baseline_brier,
        "approval_rate": evaluation.approval_rate, "version": risk_model_candidate.version,
        "slices": dg.MetadataValue.md(evaluation.slice_table().to_markdown(index=False)),
    })
    return evaluation


def _gate_check(concern_id: str) -> dg.AssetChecksDefinition:
    def measure(evaluation: Evaluation) -> Measurement:
        m = gate_measurements(evaluation)[concern_id]
        return Measurement(m.value, m.summary, m.details)

    return concern_check(credit_card(), concern_id, asset="model_evaluation", measure=measure)


gate_checks = [_gate_check(concern_id) for concern_id in GATES.values()]


@dg.asset(group_name="credit_training", deps=["model_evaluation"])
def champion_model(context: dg.AssetExecutionContext, risk_model_candidate: Candidate,
                   model_evaluation: Evaluation) -> PromotionDecision:
    """The gated candidate: ``champion`` when none serves yet, otherwise the ``challenger`` that the API
    canaries until ``inloop models promote credit`` (runs only when every gate passed)."""
    staged = stage_candidate("credit", MODEL_NAME, risk_model_candidate.version,
                             promotion_gates(model_evaluation, credit_card()))
    decision = staged.decision
    context.add_output_metadata({"promoted": decision.promoted, "stage": staged.stage, "version": decision.version,
                                 "previous_champion": decision.previous_champion or "",
                                 "decision": staged.reason})
    if staged.stage == "refused":
        raise dg.Failure(description=decision.reason)
    return decision


@dg.asset(group_name="credit_evidence")
@rubric("data-2", "data-3", how="automated", what="every champion's run holds the leave-one-data-source-out ablation report "
        "(CSV, Markdown, PNG); groups below the minimum AUC gain, and groups or sources over the card's cost budgets, "
        "are findings")
def feature_ablation(context: dg.AssetExecutionContext, training_sets: TrainingSets,
                     hyperparameter_search: SearchResult, champion_model: PromotionDecision,
                     risk_model_candidate: Candidate) -> AblationReport:
    """Each data source left out in turn: the AUC it adds vs its latency, size and upstream dependency."""
    report = ablation_report(training_sets.train, training_sets.holdout, hyperparameter_search.best_params)
    report = report.with_budgets(credit_card().cost_budgets)  # data-3: the card's cost budgets
    report.log_to_run(risk_model_candidate.run_id)
    for finding in report.findings:
        context.log.warning(f"data source below the minimum gain: {finding}")
    for finding in report.cost_findings:
        context.log.warning(f"cost budget: {finding}")
    context.add_output_metadata({"findings": len(report.findings), "cost_findings": len(report.cost_findings),
                                 "seconds": report.seconds,
                                 "mlflow_run_id": risk_model_candidate.run_id,
                                 "report": dg.MetadataValue.md(report.markdown())})
    return report


@dg.asset(group_name="credit_evidence")
@rubric("model-4", how="automated", what="every champion's run holds its model-age vs AUC curve (CSV, PNG) and the age limit "
        "the live-performance tolerance implies; the staleness check reads it")
def model_staleness_curve(context: dg.AssetExecutionContext, loan_applications: pd.DataFrame,
                          hyperparameter_search: SearchResult, champion_model: PromotionDecision,
                          risk_model_candidate: Candidate) -> StalenessCurve:
    """Holdout AUC by model age from the time-ordered history; the age limit stored with the champion."""
    tolerance = credit_card().concern("live-performance").threshold
    assert tolerance is not None
    curve = staleness_curve(loan_applications, hyperparameter_search.best_params, max_drop=tolerance.value)
    curve.log_to_run(risk_model_candidate.run_id)
    context.add_output_metadata({"age_limit_days": curve.limit_days, "censored": curve.censored,
                                 "summary": curve.describe(), "mlflow_run_id": risk_model_candidate.run_id,
                                 "by_age": dg.MetadataValue.md(curve.by_age().round(4).to_markdown(index=False))})
    return curve
