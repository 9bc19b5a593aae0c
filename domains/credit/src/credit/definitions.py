"""The credit domain's Dagster code location."""

from __future__ import annotations

import dagster as dg

from credit.defs.applications import (
    applications_match_schema,
    applications_without_erased_applicants,
    loan_applications,
)
from credit.defs.monitoring import (
    credit_inbox_sensor,
    credit_served_decisions_sensor,
    live_applications,
    live_input_drift,
    monitoring_checks,
    performance_before_labels,
)
from credit.defs.monitoring import monitoring_assets as live_path_assets
from credit.defs.quality import data_quality_report
from credit.defs.training import (
    champion_model,
    feature_ablation,
    gate_checks,
    hyperparameter_search,
    model_evaluation,
    model_staleness_curve,
    risk_model_candidate,
    training_sets,
)
from inloop.orchestration import domain_definitions

#: The live path, and each batch's data-quality report for the front-end team.
monitoring_assets = [*live_path_assets, data_quality_report]

#: The jobs are small: one process avoids re-importing the ML stack in a subprocess per step.
EXECUTOR = dg.in_process_executor

training_assets = [loan_applications, training_sets, hyperparameter_search, risk_model_candidate, model_evaluation,
                   champion_model]
#: Evidence about the champion (ablation, staleness curve), logged to its run: part of the training job,
#: not of every test that only needs a champion, nor of the first start.
evidence_assets = [feature_ablation, model_staleness_curve]

train_credit_model = dg.define_asset_job(
    "train_credit_model", executor_def=EXECUTOR, selection=dg.AssetSelection.assets(*training_assets, *evidence_assets),
    description="Simulate the history, tune and train a candidate, evaluate it beside the baseline, gate and "
                "promote it, then log its ablation report and staleness curve.",
)
monitor_live_batch = dg.define_asset_job(
    "monitor_live_batch", executor_def=EXECUTOR, selection=dg.AssetSelection.assets(*monitoring_assets),
    description="Decide a front-end batch with the champion and the policy, then check, compare and feed back.",
)

monitor_served_decisions = dg.define_asset_job(
    "monitor_served_decisions", executor_def=EXECUTOR,
    selection=dg.AssetSelection.assets(live_applications, live_input_drift, performance_before_labels),
    description="Check the inputs of what POST /credit/decisions served (schema, drift), already decided and "
                "logged, and estimate the recent months' performance before their labels arrive (CBPE).",
)

# The evidence assets (ablation: nine trainings, staleness curve: three) stay out of the first start;
# `train_credit_model` logs them with every champion it trains.
first_run = dg.define_asset_job(
    "first_run", executor_def=EXECUTOR, selection=dg.AssetSelection.assets(*training_assets, *monitoring_assets),
    description="What `inloop up` runs once: train and promote a champion, then monitor a first live batch.",
)

defs = domain_definitions(
    "credit",
    assets=[*training_assets, *evidence_assets, *monitoring_assets],
    asset_checks=[applications_match_schema, applications_without_erased_applicants, *gate_checks, *monitoring_checks],
    jobs=[train_credit_model, monitor_live_batch, monitor_served_decisions, first_run],
    sensors=[credit_inbox_sensor, credit_served_decisions_sensor],
)
