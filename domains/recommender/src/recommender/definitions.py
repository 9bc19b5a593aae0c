"""The recommender's Dagster code location."""

from __future__ import annotations

import dagster as dg

from inloop.orchestration import domain_definitions
from recommender.defs.checks import CHECKS
from recommender.defs.live import LIVE_ASSETS, LIVE_CHECKS, LIVE_JOBS, LIVE_SENSORS
from recommender.defs.model import (
    als_hyperparameter_search,
    champion_recommender,
    collaborative_model,
    interaction_split,
    popularity_baseline,
    recommender_evaluation,
    recommender_feature_ablation,
    recommender_staleness_curve,
    shared_account_detection,
)
from recommender.defs.offline_online import offline_online_ctr, offline_recall_predicts_live_ctr
from recommender.defs.pages import box_engagement, served_pages
from recommender.defs.shop import shop_events_without_erased_accounts, synthetic_shop

ASSETS = [synthetic_shop, interaction_split, popularity_baseline, als_hyperparameter_search, collaborative_model,
          recommender_evaluation, champion_recommender, shared_account_detection, served_pages, box_engagement]
#: Evidence about each trained model (ablation by event source, staleness curve), logged to its run: part of
#: the nightly pipeline, not of the first start nor of every test that only needs a pipeline.
EVIDENCE_ASSETS = [recommender_feature_ablation, recommender_staleness_curve]
#: model-2: every served version's offline recall@10 against its logged click-through (nightly, after the pages).
MONITORING_ASSETS = [offline_online_ctr]

# Everything from the shop to the served pages, in one process: each step of the default
# multiprocess executor re-imports Dagster, MLflow and GX, which cost minutes on a 2-core laptop.
recommender_pipeline = dg.define_asset_job("recommender_pipeline",
                                           selection=dg.AssetSelection.assets(*ASSETS, *EVIDENCE_ASSETS,
                                                                               *MONITORING_ASSETS),
                                           executor_def=dg.in_process_executor,
                                           description="Shop, training, evaluation, promotion gate, served pages.")
#: What `inloop up` runs on the first start, so the UIs open on real results.
first_run = dg.define_asset_job("first_run", selection=dg.AssetSelection.assets(*ASSETS),
                                executor_def=dg.in_process_executor,
                                description="The whole recommender pipeline once, on the default demo shop.")

nightly_training = dg.ScheduleDefinition(
    name="recommender_nightly", job=recommender_pipeline, cron_schedule="0 2 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,  # the staleness concern relies on it
    description="Retrain, evaluate, gate and replay the pages every night (the card's restart story: a "
                "missed night is simply re-run).",
)

defs = domain_definitions("recommender", assets=[*ASSETS, *EVIDENCE_ASSETS, *MONITORING_ASSETS, *LIVE_ASSETS],
                          asset_checks=[*CHECKS, shop_events_without_erased_accounts,
                                        offline_recall_predicts_live_ctr, *LIVE_CHECKS],
                          jobs=[recommender_pipeline, first_run, *LIVE_JOBS],
                          schedules=[nightly_training],
                          sensors=LIVE_SENSORS)
