"""The page service on the test week's traffic: every page view served and logged, box by box."""

# No "from __future__ import annotations" here: Dagster reads the config class from the real annotation.

import statistics
from typing import Literal

import dagster as dg
import pandas as pd
from pydantic import Field

from inloop import tracking
from recommender.defs.model import TrackedModel
from recommender.lib.boxes import Assortment
from recommender.lib.history import HistoryStore, TimeSplit
from recommender.lib.online import box_click_through, box_clicks
from recommender.lib.page import PageConfig, PageService, PageView
from recommender.lib.popularity import PopularityModel
from recommender.lib.registry import MODEL_NAME
from recommender.lib.traffic import page_requests_from_sessions, replay_traffic


class ServedPagesConfig(dg.Config):
    """Which page configuration serves the replayed traffic, and how much of it."""

    page_views: int = Field(default=800, description="Test-week page views to replay (a seeded sample).")
    context_filter: bool = Field(default=True, description="Last seen respects the page's section.")
    shared_account_handling: Literal["off", "current_device"] = Field(
        default="current_device", description="Detected shared accounts: last seen from this device only.")
    last_seen_lookback_days: int = Field(default=14, description="How far back last seen goes.")
    seed: int = 7

    def page_config(self) -> PageConfig:
        return PageConfig(context_filter=self.context_filter, shared_account_handling=self.shared_account_handling,
                          last_seen_lookback_days=self.last_seen_lookback_days)


@dg.asset(group_name="serving", deps=["champion_recommender"])
def served_pages(config: ServedPagesConfig, collaborative_model: TrackedModel,
                 popularity_baseline: PopularityModel, interaction_split: TimeSplit, catalog: pd.DataFrame,
                 shop_events: pd.DataFrame, shoppers: pd.DataFrame) -> dg.Output[list[PageView]]:
    """The test week's page views rendered by the page service with the champion model, logged per box."""
    champion = tracking.champion_version(MODEL_NAME)
    champion = None if champion is None else str(champion)  # MLflow hands versions back as int or str
    if champion is None:
        raise dg.Failure(f"no champion for {MODEL_NAME}: no model version has passed the promotion gates yet")
    if champion == collaborative_model.registered_version:
        model = collaborative_model.model
    else:  # this run's candidate was refused: the previous champion keeps serving
        pyfunc, _ = tracking.load_champion(MODEL_NAME)
        model = pyfunc.unwrap_python_model().model
    service = PageService(Assortment(catalog), HistoryStore(shop_events), model, popularity_baseline,
                          config.page_config(), model_version=f"{MODEL_NAME}/{champion}")
    requests = page_requests_from_sessions(interaction_split.test, shoppers, limit=config.page_views, seed=config.seed)
    views = replay_traffic(service, requests, log=True)
    latencies = [v.latency_ms for v in views]
    return dg.Output(views, metadata={
        "page_views": len(views), "logged_entries": 3 * len(views), "model": f"{MODEL_NAME} v{champion}",
        "config": dg.MetadataValue.json(config.page_config().model_dump()),
        "config_version": config.page_config().version,
        "median_latency_ms": round(statistics.median(latencies), 3) if latencies else 0.0,
    })


@dg.asset(group_name="serving")
def box_engagement(served_pages: list[PageView], interaction_split: TimeSplit) -> dg.Output[pd.DataFrame]:
    """Per served page view and box: impressions and the shown items the shopper then engaged with."""
    clicks = box_clicks(served_pages, interaction_split.test)
    table = box_click_through(clicks) if not clicks.empty else pd.DataFrame()
    return dg.Output(clicks, metadata={
        "page_views": int(clicks["page_view_id"].nunique()) if not clicks.empty else 0,
        "unlinked_page_views": int(clicks.attrs.get("unlinked_views", 0)),
        "ctr_by_box": dg.MetadataValue.json({str(r.component): round(float(r.ctr), 5) for r in table.itertuples()}),
    })
