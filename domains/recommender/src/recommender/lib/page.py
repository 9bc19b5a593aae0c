"""The page service: for an account, a page and a device, the boxes to show and why each item is there.

:class:`PageService.render` is the function the API exposes. Every page view is written to the
platform's prediction log, one entry per box (``last_seen_box``, ``recommendations_box``,
``new_in_carousel``), with the inputs the box saw (the account's history as of the view, the
shared-account verdict, the configuration in force) and its output (items, reasons, model
version) — so a surprising page can be read back instead of guessed at.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from inloop.predictions import PredictionEntry, log_predictions
from recommender.lib.boxes import PAGES, Assortment, Box
from recommender.lib.collaborative import CollaborativeModel, train_als
from recommender.lib.history import HistoryStore, TimeSplit, time_split
from recommender.lib.last_seen import last_seen_box
from recommender.lib.new_in import new_in_carousel
from recommender.lib.popularity import PopularityModel, fit_popularity
from recommender.lib.recommendations import recommendations_box
from recommender.lib.shared_accounts import SharedAccountVerdict, detect_shared_account
from recommender.lib.shop import Shop

__all__ = ["DOMAIN", "PageConfig", "PageService", "PageView"]

DOMAIN = "recommender"


class PageConfig(BaseModel):
    """The behaviours the post-mortem of the last-seen incident made configurable.

    The defaults are the fixed page; :meth:`as_launched` is the page as it first went live.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    context_filter: bool = Field(
        default=True, description="Last seen shows only articles that belong on the page (section or unisex).")
    shared_account_handling: Literal["off", "current_device"] = Field(
        default="current_device",
        description="On an account detected as shared, last seen shows only what was seen on this device.")
    last_seen_lookback_days: int = Field(default=14, ge=1, le=365, description="How far back last seen goes.")
    box_size: int = Field(default=10, ge=1, le=50, description="Articles per box.")

    @classmethod
    def as_launched(cls) -> PageConfig:
        """The page before the post-mortem: merged history of 90 days, no context, no shared-account handling."""
        return cls(context_filter=False, shared_account_handling="off", last_seen_lookback_days=90)

    @property  # not cached: model_copy(update=...) would carry a stale cached hash into the copy
    def version(self) -> str:
        """A short hash of the settings: the ``policy_version`` of every logged box."""
        blob = json.dumps(self.model_dump(), sort_keys=True).encode()
        return "page-" + hashlib.sha256(blob).hexdigest()[:8]


@dataclass(frozen=True)
class PageView:
    """What one page view showed: the boxes, the verdicts behind them, and the log entries' request ids."""

    page_view_id: str
    account_id: int
    page: str
    device: str
    at: dt.datetime
    config: PageConfig
    boxes: tuple[Box, ...]
    shared_account: SharedAccountVerdict
    history_length: int
    latency_ms: float
    request_ids: dict[str, str] = field(default_factory=dict)

    def box(self, component: str) -> Box:
        for box in self.boxes:
            if box.component == component:
                return box
        raise KeyError(f"no box {component!r} on this page (boxes: {', '.join(b.component for b in self.boxes)})")

    def provenance(self, component: str, item_id: int) -> dict[str, Any]:
        """Why ``item_id`` is in ``component``: component, reason, model version and the config in force."""
        box = self.box(component)
        for item in box.items:
            if item.item_id == item_id:
                return {"component": box.component, "reason": item.reason, "model_name": box.model_name,
                        "model_version": box.model_version, "config_version": self.config.version,
                        "config": self.config.model_dump(), "evidence": item.evidence,
                        "request_id": self.request_ids.get(component)}
        raise KeyError(f"item {item_id} is not in {component}")


class PageService:
    """Renders pages from the catalog, the clickstream, the trained model and the page configuration."""

    def __init__(self, assortment: Assortment, history: HistoryStore, model: CollaborativeModel,
                 popularity: PopularityModel, config: PageConfig | None = None,
                 model_version: str | None = None) -> None:
        self.assortment = assortment
        self.history = history
        self.model = model
        self.popularity = popularity
        self.config = config or PageConfig()
        #: The registry's version when the model came from MLflow, else the model's content hash.
        self.model_version = model_version or model.version

    @classmethod
    def trained_on(cls, shop: Shop, config: PageConfig | None = None, test_days: int = 7) -> tuple[PageService, TimeSplit]:
        """Split the shop's clickstream, train model and baseline on the past, serve from the whole history.

        The in-process path the demos and tests use; the Dagster pipeline does the same steps as
        assets, with MLflow tracking and the promotion gate in between.
        """
        split = time_split(shop.events, test_days)
        model = train_als(split.train, shop.catalog, shop.spec.n_accounts)
        popularity = fit_popularity(split.train, len(shop.catalog))
        return cls(Assortment(shop.catalog), HistoryStore(shop.events), model, popularity, config), split

    def with_config(self, config: PageConfig) -> PageService:
        """The same service with another configuration (what a config change does in production)."""
        return PageService(self.assortment, self.history, self.model, self.popularity, config, self.model_version)

    def render(self, account_id: int, page: str, device: str, at: dt.datetime | None = None, *,
               log: bool = True) -> tuple[PageView, list[PredictionEntry]]:
        """The boxes for one page view; logs one prediction entry per box unless ``log`` is False.

        Returns the page view and its log entries (written already when ``log`` is True; a
        caller that renders many pages may write them in one batch with ``log_predictions``).
        """
        if page not in PAGES:
            raise ValueError(f"unknown page {page!r}; pages are {', '.join(PAGES)}")
        if device not in ("desktop", "app"):
            raise ValueError(f"unknown device {device!r}; devices are desktop, app")
        at = pd.Timestamp(at or dt.datetime.now(dt.UTC)).to_pydatetime()
        if at.tzinfo is None:
            raise ValueError("the page view time must be timezone-aware (UTC)")
        started = time.perf_counter()
        cfg = self.config
        history = self.history.of(account_id, before=at)
        verdict = detect_shared_account(history, self.assortment.gender)
        items, weights = history.weighted_items()
        vector = self.model.account_vector(items, weights)
        version = self.model_version
        only_device = device if cfg.shared_account_handling == "current_device" and verdict.shared else None
        boxes = (
            last_seen_box(history, self.assortment, now=at, size=cfg.box_size,
                          lookback_days=cfg.last_seen_lookback_days,
                          context_page=page if cfg.context_filter and page != "home" else None,
                          only_device=only_device, version=cfg.version),
            recommendations_box(history, self.assortment, self.model, self.popularity, page=page,
                                size=cfg.box_size, vector=vector, version=version),
            new_in_carousel(history, self.assortment, self.model, page=page, now=at, size=cfg.box_size,
                            vector=vector, version=version),
        )
        latency_ms = (time.perf_counter() - started) * 1000
        page_view_id = uuid.uuid4().hex[:24]
        features = {
            "page_view_id": page_view_id, "account_id": int(account_id), "page": page, "device": device,
            "at": at.isoformat(), "config": cfg.model_dump(), "config_version": cfg.version,
            "shared_account_detected": verdict.shared, "shared_account_reason": verdict.reason,
            "shared_account_devices": verdict.per_device, "history_length": len(history),
            "history": history.records(),
        }
        entries = [
            PredictionEntry(
                domain=DOMAIN, component=box.component, model_name=box.model_name, model_version=box.model_version,
                policy_version=cfg.version, subject_id=f"account:{int(account_id)}",
                request_id=f"{page_view_id}-{box.component}", latency_ms=round(latency_ms, 3),
                features=features,
                output={"items": [i.as_record() for i in box.items], "fallback": box.fallback, "notes": box.notes},
            )
            for box in boxes
        ]
        if log:
            log_predictions(entries)
        view = PageView(page_view_id, int(account_id), page, device, at, cfg, boxes, verdict, len(history),
                        latency_ms, {e.component: e.request_id for e in entries})
        return view, entries
