"""Studies around the ALS model: hyperparameter search, ablation by event source, staleness curve.

Each study scores many models, so it uses :func:`home_recall`, a vectorised version of the
offline evaluation's home-page figure (the account's history folded in, every article it has not
interacted with ranked, recall@k and NDCG@k on what it interacted with next), instead of the full
per-slice :func:`~recommender.lib.evaluation.evaluate` that gates promotion. The generic parts
(search, ablation report, staleness curve) are the platform's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from inloop.ablation import AblationReport, FeatureGroup, Score, run_ablation
from inloop.cards import Threshold
from inloop.staleness import StalenessCurve, StalenessPoint
from inloop.tuning import SearchResult, bounded_search
from recommender.lib.collaborative import CollaborativeModel, train_als
from recommender.lib.evaluation import ndcg_at_k, recall_at_k
from recommender.lib.history import EVENT_WEIGHTS, TimeSplit
from recommender.lib.popularity import fit_popularity

__all__ = ["DEFAULT_PARAMS", "EVENT_SOURCES", "MIN_RECALL_GAIN", "SEARCH_BUDGET", "SEARCH_SPACE", "HomeScore",
           "ablation_report", "events_fingerprint", "home_recall", "staleness_curve", "tune_als"]

#: Today's hand-set ALS settings (the incumbent every search starts from).
DEFAULT_PARAMS: dict[str, Any] = {"factors": 32, "regularization": 0.05, "alpha": 10.0, "iterations": 12}
SEARCH_SPACE: dict[str, list[Any]] = {
    "factors": [16, 32, 64],
    "regularization": [0.01, 0.05, 0.2],
    "alpha": [5.0, 10.0, 20.0],
}
#: Trials per search, the incumbent included: a few seconds at demo scale.
SEARCH_BUDGET = 5
SEARCH_SEED = 7
#: The last days of the training window validate the search (the test week stays untouched).
VALIDATION_DAYS = 7

#: The model's input grouped by the system each kind of event comes from. An event source is
#: "left out" by training and folding in without its events (the model would not have them).
EVENT_SOURCES: tuple[FeatureGroup, ...] = (
    FeatureGroup("views", ("event_type=view",), "clickstream tracker (product page views)"),
    FeatureGroup("carts", ("event_type=add_to_cart",), "cart service"),
    FeatureGroup("purchases", ("event_type=purchase",), "order system"),
    FeatureGroup("app_events", ("device=app",), "mobile app analytics SDK"),
)
#: Every data source must prove itself: a source adding less recall@10 than this is a finding.
MIN_RECALL_GAIN = 0.002


def events_fingerprint(events: pd.DataFrame) -> str:
    """A short hash of the training events (same events, same values -> same fingerprint)."""
    hashed = pd.util.hash_pandas_object(events.reset_index(drop=True), index=True).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


@dataclass(frozen=True)
class HomeScore:
    recall: float
    ndcg: float
    popularity_recall: float
    accounts: int
    ms_per_account: float

    @property
    def lift(self) -> float:
        return self.recall / self.popularity_recall - 1.0 if self.popularity_recall > 0 else float("inf")


def home_recall(model: CollaborativeModel, history: pd.DataFrame, test: pd.DataFrame, *, k: int = 10,
                popularity_window_days: int = 14) -> HomeScore:
    """Recall@k / NDCG@k of ``model`` on ``test`` with each account's ``history`` folded in (home page, all
    articles), beside bestsellers of the ``history``'s last days (the fresh no-ML answer)."""
    if test.empty:
        raise ValueError("nothing to score: the test window has no events")
    n_items = len(model.item_factors)
    popularity = fit_popularity(history, n_items, popularity_window_days)
    pop_order = np.lexsort((np.arange(n_items), -popularity.scores))
    weights = history["event_type"].map(EVENT_WEIGHTS).to_numpy(dtype=np.float32)
    past = (pd.DataFrame({"account_id": history["account_id"].to_numpy(), "item_id": history["item_id"].to_numpy(),
                          "w": weights}).groupby(["account_id", "item_id"], sort=True)["w"].sum())
    past_by_account = {a: (g.index.get_level_values(1).to_numpy(), g.to_numpy())
                       for a, g in past.groupby(level=0, sort=False)}
    targets_by_account = test.groupby("account_id")["item_id"].agg(lambda s: set(s.tolist()))
    recalls, ndcgs, pop_recalls = [], [], []
    started = time.perf_counter()
    for account_id, items_next in targets_by_account.items():
        items, w = past_by_account.get(account_id, (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)))
        targets = items_next - set(items.tolist())
        if not targets or len(items) == 0:
            continue  # new accounts get bestsellers either way: they say nothing about the model
        vector = model.account_vector(items, w)
        scores = model.item_factors.astype(np.float64) @ vector
        scores[items] = -np.inf
        top = np.argpartition(-scores, k)[:k]
        ranked = top[np.argsort(-scores[top], kind="stable")]
        seen = np.zeros(n_items, dtype=bool)
        seen[items] = True
        by_popularity = pop_order[~seen[pop_order]][:k]
        recalls.append(recall_at_k(ranked, targets, k))
        ndcgs.append(ndcg_at_k(ranked, targets, k))
        pop_recalls.append(recall_at_k(by_popularity, targets, k))
    if not recalls:
        raise ValueError("no account with a history has new interactions in the test window")
    seconds = time.perf_counter() - started
    return HomeScore(float(np.mean(recalls)), float(np.mean(ndcgs)), float(np.mean(pop_recalls)), len(recalls),
                     seconds * 1_000 / len(recalls))


def _train(events: pd.DataFrame, catalog: pd.DataFrame, n_accounts: int, params: dict[str, Any]) -> CollaborativeModel:
    p = {**DEFAULT_PARAMS, **params}
    return train_als(events, catalog, n_accounts, factors=int(p["factors"]), iterations=int(p["iterations"]),
                     regularization=float(p["regularization"]), alpha=float(p["alpha"]), seed=int(p.get("seed", 7)))


def _cut(events: pd.DataFrame, days_before_end: int) -> pd.Timestamp:
    return events["ts"].max().ceil("D") - pd.Timedelta(days=days_before_end)


def tune_als(train: pd.DataFrame, catalog: pd.DataFrame, n_accounts: int, *, budget: int = SEARCH_BUDGET,
             seed: int = SEARCH_SEED, track: bool = True, tags: dict[str, str] | None = None) -> SearchResult:
    """Search :data:`SEARCH_SPACE` on the training window: fit before its last week, recall@10 on that week."""
    cutoff = _cut(train, VALIDATION_DAYS)
    fit, validate = train[train["ts"] < cutoff], train[train["ts"] >= cutoff]
    if fit.empty or validate.empty:
        raise ValueError(f"the training window needs more than {VALIDATION_DAYS} days to tune on")

    def objective(params: dict[str, Any]) -> float:
        return home_recall(_train(fit, catalog, n_accounts, params), fit, validate).recall

    return bounded_search(SEARCH_SPACE, objective, budget=budget, seed=seed, metric="validation_recall_at_10",
                          incumbent=DEFAULT_PARAMS, domain="recommender" if track else None, run_name="tune-als",
                          tags=tags)


def _without(events: pd.DataFrame, dropped: tuple[str, ...]) -> pd.DataFrame:
    keep = np.ones(len(events), dtype=bool)
    for spec in dropped:
        column, _, value = spec.partition("=")
        if column not in events.columns:
            raise ValueError(f"event source filter {spec!r} names no event column")
        keep &= events[column].astype(str).to_numpy() != value
    return events[keep]


def ablation_report(split: TimeSplit, catalog: pd.DataFrame, n_accounts: int, params: dict[str, Any] | None = None,
                    *, groups: tuple[FeatureGroup, ...] = EVENT_SOURCES, min_gain: float = MIN_RECALL_GAIN
                    ) -> AblationReport:
    """Leave each event source out of training and of the folded-in history: recall@10 gained vs its costs.

    Costs: serving latency per account (fold-in and scoring grow with the history) and the memory of
    the interactions the source adds (the training matrix and the history store).
    """
    def fit_and_score(dropped: tuple[str, ...]) -> Score:
        train = _without(split.train, dropped)
        model = _train(train, catalog, n_accounts, params or {})
        score = home_recall(model, train, split.test)
        memory = int(model.params["interactions"]) * 8 + len(train) * 24  # CSR cells + stored events
        return Score(score.recall, score.ms_per_account, memory, {"ndcg": score.ndcg})

    return run_ablation(groups, fit_and_score, metric="recall@10", min_gain=min_gain)


#: Training moments of the staleness study: this many days before the end of the clickstream.
STALENESS_CUTS_DAYS = (21, 14)
STALENESS_WINDOW_DAYS = 7


def staleness_curve(events: pd.DataFrame, catalog: pd.DataFrame, n_accounts: int,
                    params: dict[str, Any] | None = None, *, min_lift: Threshold,
                    cuts_days: tuple[int, ...] = STALENESS_CUTS_DAYS, window_days: int = STALENESS_WINDOW_DAYS
                    ) -> StalenessCurve:
    """Recall@10 by model age: a model trained up to each cut serves every later week, with each
    account's history up to that week folded in; judged by its lift over *that week's* bestsellers
    (``min_lift``: the card's promotion bar)."""
    points = []
    end = events["ts"].max().ceil("D")
    for days in cuts_days:
        cutoff = _cut(events, days)
        if events["ts"].min() >= cutoff:
            raise ValueError(f"a cut {days} days before the end leaves nothing to train on")
        model = _train(events[events["ts"] < cutoff], catalog, n_accounts, params or {})
        start = cutoff
        while start + pd.Timedelta(days=window_days) <= end:
            stop = start + pd.Timedelta(days=window_days)
            window = events[(events["ts"] >= start) & (events["ts"] < stop)]
            score = home_recall(model, events[events["ts"] < start], window)
            age = (stop - cutoff) / dt.timedelta(days=1)
            points.append(StalenessPoint(str((cutoff - pd.Timedelta(days=1)).date()), float(age),
                                         round(score.recall, 4), round(score.lift, 4), score.accounts))
            start = stop
    if not points:
        raise ValueError(f"no {window_days}-day window after any cut: the clickstream is too short")
    return StalenessCurve("recall@10", "recall@10 lift over that week's bestsellers", min_lift, tuple(points))
