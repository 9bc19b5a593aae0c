"""The page service seen from the outside: serving inputs, training/serving skew, live box click-through.

* :func:`invalid_serving_inputs` — the data invariants of what the page service receives and serves
  (page, device, account, time of every logged page view; the gender tag and catalog id of every item
  it showed), checked with Great Expectations the way the catalog is checked before training.
* :func:`serving_skew` — the "recommended for you" box the page service renders online against the
  ranking offline evaluation computes for the same account, history and page (same model): any
  difference in the history, the folded-in account vector or the ranking is skew.
* :func:`box_clicks` / :func:`live_box_ctr` — live quality from logged traffic: each replayed page
  view is followed by the shopper's session in the clickstream; an item shown in a box that the
  shopper then viewed, carted or bought in that session counts as a click. (In the synthetic shop the
  sessions are generated without looking at the boxes, so this is a hit rate — whether the box
  anticipated what the shopper went on to look at — not a causal click-through; on the real shop
  the tracking team's box-click events take its place.)
* :func:`offline_online_relation` — offline recall@10 against that live hit rate across model
  variants: how far the offline metric the promotion gate uses predicts the online one.
* :func:`inclusion` — the groups the stakeholders named (new users, shared household accounts, the
  men's and women's pages): none may be served much worse by the model than by bestsellers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from inloop.checks import Measurement
from recommender.lib.boxes import PAGES
from recommender.lib.collaborative import CollaborativeModel
from recommender.lib.evaluation import Evaluation
from recommender.lib.history import HistoryStore, TimeSplit
from recommender.lib.page import PageService, PageView
from recommender.lib.recommendations import COMPONENT as RECOMMENDATIONS
from recommender.lib.recommendations import rank_for_account
from recommender.lib.shop import GENDER_TARGETS

__all__ = ["INCLUSION_GROUPS", "box_clicks", "box_click_through", "inclusion", "invalid_serving_inputs",
           "live_box_ctr", "offline_online_relation", "serving_inputs", "serving_skew"]

DEVICES = ("desktop", "app")


# --- monitor-2: data invariants of the serving inputs ---------------------------------------------

def serving_inputs(views: Sequence[PageView]) -> pd.DataFrame:
    """One row per item shown: the page view's request (account, page, device, time, history) and the item."""
    rows: list[dict[str, Any]] = []
    for v in views:
        request = {"page_view_id": v.page_view_id, "account_id": v.account_id, "page": v.page, "device": v.device,
                   "at_is_utc": v.at.tzinfo is not None and v.at.utcoffset() == dt.timedelta(0),
                   "history_length": v.history_length}
        shown = [(box.component, item) for box in v.boxes for item in box.items]
        if not shown:  # an empty page: its request is kept, the checks judge the items shown
            rows.append({**request, "component": None, "item_id": None, "gender_target": None})
        for component, item in shown:
            rows.append({**request, "component": component, "item_id": item.item_id,
                         "gender_target": item.gender_target})
    return pd.DataFrame(rows, columns=["page_view_id", "account_id", "page", "device", "at_is_utc",
                                       "history_length", "component", "item_id", "gender_target"])


def invalid_serving_inputs(views: Sequence[PageView], n_items: int | None = None) -> Measurement:
    """Share of served rows (page view x item) that break an invariant of the serving inputs (GX suite)."""
    import great_expectations as gx

    from inloop.validation import validate

    frame = serving_inputs(views)
    if frame.empty:
        return Measurement(None, "no page views were served: nothing to validate")
    shown = frame["component"].notna()
    expectations = [
        gx.expectations.ExpectColumnValuesToBeInSet(column="page", value_set=list(PAGES)),
        gx.expectations.ExpectColumnValuesToBeInSet(column="device", value_set=list(DEVICES)),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="account_id"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="account_id", min_value=0),
        gx.expectations.ExpectColumnValuesToBeInSet(column="at_is_utc", value_set=[True]),
        gx.expectations.ExpectColumnValuesToBeBetween(column="history_length", min_value=0),
        # the served items' catalog tags at serving time (an untagged article must not be shown)
        gx.expectations.ExpectColumnValuesToBeInSet(column="gender_target", value_set=list(GENDER_TARGETS)),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="gender_target"),
    ]
    if n_items is not None:
        expectations.append(gx.expectations.ExpectColumnValuesToBeBetween(column="item_id", min_value=0,
                                                                          max_value=n_items - 1))
    checked = frame[shown].reset_index(drop=True)
    summary = validate(checked, expectations, "recommender-serving-inputs")
    failing = checked.loc[summary.failing_row_indices] if summary.failing_row_indices else checked.iloc[:0]
    return Measurement(
        value=summary.failing_row_share,
        summary=(f"{len(failing)} of {len(checked)} served rows ({frame['page_view_id'].nunique()} page views) "
                 f"break a serving-input invariant: {summary.describe_failures()}"),
        details={"rows": len(checked), "failing": len(failing), "page_views": int(frame["page_view_id"].nunique()),
                 "failing_page_views": failing["page_view_id"].drop_duplicates().head(5).tolist(),
                 "expectations": summary.describe_failures()},
    )


# --- monitor-3: training/serving skew -------------------------------------------------------------

def serving_skew(service: PageService, split: TimeSplit, accounts: Sequence[int], *,
                 evaluated_model: CollaborativeModel | None = None, device: str = "app") -> pd.DataFrame:
    """For each account and page: the online box at the split's cutoff vs the offline evaluation's ranking.

    Offline evaluation (:func:`recommender.lib.evaluation.evaluate`) reads the account's history from the
    training window and ranks the page's pool with :func:`rank_for_account`; the page service reads the
    whole clickstream "as of" the view. At the cutoff both must see the same history, fold in the same
    account vector and show the same top ``box_size`` — the columns say where they part.
    ``evaluated_model`` is the model offline evaluation judged (default: the one the service holds).
    """
    model = evaluated_model or service.model
    offline_history = HistoryStore(split.train)
    k = service.config.box_size
    at = pd.Timestamp(split.cutoff).to_pydatetime()
    rows = []
    for account_id in accounts:
        past = offline_history.of(account_id)
        items, weights = past.weighted_items()
        offline_vector = model.account_vector(items, weights)
        for page in PAGES:
            view, _ = service.render(int(account_id), page, device, at, log=False)
            online_history = service.history.of(account_id, before=at)
            online_items, online_weights = online_history.weighted_items()
            online_vector = service.model.account_vector(online_items, online_weights)
            offline, _ = rank_for_account(service.assortment.for_page(page), items, offline_vector, model,
                                          service.popularity, k)
            online = [item.item_id for item in view.box(RECOMMENDATIONS).items]
            same_history = (len(past) == view.history_length and np.array_equal(items, online_items)
                            and np.allclose(weights, online_weights))
            if offline_vector is None or online_vector is None:
                vector_gap = 0.0 if offline_vector is None and online_vector is None else float("inf")
            else:
                vector_gap = float(np.max(np.abs(offline_vector - online_vector)))
            rows.append({"account_id": int(account_id), "page": page, "same_history": bool(same_history),
                         "vector_max_abs_diff": vector_gap, "same_ranking": online == [int(i) for i in offline],
                         "online": online, "offline": [int(i) for i in offline]})
    return pd.DataFrame(rows)


def skew_measurement(skew: pd.DataFrame, tolerance: float = 1e-9) -> Measurement:
    """Share of (account, page) pairs whose online box differs from the offline ranking (0 means no skew)."""
    if skew.empty:
        return Measurement(None, "no accounts compared")
    bad = skew[~skew["same_ranking"] | ~skew["same_history"] | (skew["vector_max_abs_diff"] > tolerance)]
    return Measurement(
        value=len(bad) / len(skew),
        summary=f"{len(bad)} of {len(skew)} (account, page) pairs differ between serving and offline evaluation",
        details={"pairs": len(skew), "skewed": len(bad), "examples": bad[["account_id", "page"]].head(5).to_dict("records"),
                 "max_vector_diff": float(skew["vector_max_abs_diff"].replace(np.inf, np.nan).max() or 0.0)},
    )


# --- monitor-7: live box click-through from logged traffic ------------------------------------------

def box_clicks(views: Sequence[PageView], events: pd.DataFrame) -> pd.DataFrame:
    """One row per (page view, box): impressions and the shown items the shopper then interacted with.

    A page view is linked to the session that follows it (same account, first event one second after the
    view — how :func:`recommender.lib.traffic.page_requests_from_sessions` places views); views without a
    following session are left out and counted in ``frame.attrs["unlinked_views"]``.
    """
    if events.empty:
        raise ValueError("no clickstream events to measure clicks on")
    starts = events.groupby("session_id").agg(account_id=("account_id", "first"), ts=("ts", "min"))
    session_of = {(int(r.account_id), pd.Timestamp(r.ts)): int(sid) for sid, r in starts.iterrows()}
    items_of = events.groupby("session_id")["item_id"].agg(lambda s: set(s.astype(int).tolist()))
    rows = []
    unlinked = 0
    for view in views:
        session = session_of.get((view.account_id, pd.Timestamp(view.at) + pd.Timedelta(seconds=1)))
        if session is None:
            unlinked += 1
            continue
        engaged = items_of[session]
        for box in view.boxes:
            rows.append({"page_view_id": view.page_view_id, "account_id": view.account_id, "page": view.page,
                         "component": box.component, "history_length": view.history_length,
                         "shared_account": view.shared_account.shared, "impressions": len(box.items),
                         "clicks": sum(1 for item in box.items if item.item_id in engaged)})
    frame = pd.DataFrame(rows, columns=["page_view_id", "account_id", "page", "component", "history_length",
                                        "shared_account", "impressions", "clicks"])
    frame.attrs["unlinked_views"] = unlinked
    return frame


def box_click_through(clicks: pd.DataFrame) -> pd.DataFrame:
    """Per box: page views, impressions, clicks, CTR (clicks / impressions) and hit rate (views with a click)."""
    grouped = clicks.assign(hit=clicks["clicks"] > 0).groupby("component")
    out = grouped.agg(page_views=("page_view_id", "nunique"), impressions=("impressions", "sum"),
                      clicks=("clicks", "sum"), hit_rate=("hit", "mean"))
    out["ctr"] = out["clicks"] / out["impressions"].replace(0, np.nan)
    return out.reset_index()


def live_box_ctr(clicks: pd.DataFrame) -> Measurement:
    """The "recommended for you" box's live CTR on the logged page views, with every box beside it."""
    if clicks.empty:
        return Measurement(None, "no page view could be linked to a following session: no live traffic to judge")
    table = box_click_through(clicks).set_index("component")
    if RECOMMENDATIONS not in table.index or not table.loc[RECOMMENDATIONS, "impressions"]:
        return Measurement(None, "the recommendations box showed nothing: no live CTR")
    row = table.loc[RECOMMENDATIONS]
    return Measurement(
        value=float(row["ctr"]),
        summary=(f"recommendations box: {int(row['clicks'])} clicks on {int(row['impressions'])} impressions "
                 f"(CTR {row['ctr']:.2%}) over {int(row['page_views'])} page views; "
                 + ", ".join(f"{c} {r.ctr:.2%}" for c, r in table.iterrows() if c != RECOMMENDATIONS)),
        details={"by_box": table.round(5).reset_index().to_dict("records"),
                 "unlinked_page_views": int(clicks.attrs.get("unlinked_views", 0))},
    )


# --- model-2: offline recall@10 vs live CTR ----------------------------------------------------------

@dataclass(frozen=True)
class Relation:
    """Offline recall@k against live CTR, one row per variant, with their correlations."""

    table: pd.DataFrame  # variant, offline_recall, online_ctr
    pearson: float
    spearman: float
    #: share of variant pairs the offline metric orders the same way as the online one
    pairwise_agreement: float

    def as_dict(self) -> dict[str, Any]:
        return {"variants": self.table.round(5).to_dict("records"), "pearson": self.pearson,
                "spearman": self.spearman, "pairwise_agreement": self.pairwise_agreement}


def offline_online_relation(offline_recall: dict[str, float], online_ctr: dict[str, float]) -> Relation:
    """How well the offline metric orders the variants the way live traffic does (needs >= 3 variants)."""
    if set(offline_recall) != set(online_ctr):
        raise ValueError(f"offline and online variants differ: {sorted(offline_recall)} vs {sorted(online_ctr)}")
    if len(offline_recall) < 3:
        raise ValueError("a relation needs at least 3 variants")
    table = pd.DataFrame({"variant": list(offline_recall), "offline_recall": list(offline_recall.values()),
                          "online_ctr": [online_ctr[v] for v in offline_recall]})
    pearson = float(np.corrcoef(table["offline_recall"], table["online_ctr"])[0, 1])
    spearman = float(np.corrcoef(table["offline_recall"].rank(), table["online_ctr"].rank())[0, 1])
    pairs = [(a, b) for a in range(len(table)) for b in range(a + 1, len(table))]
    agree = sum(1 for a, b in pairs
                if np.sign(table.offline_recall[a] - table.offline_recall[b]) == np.sign(table.online_ctr[a] - table.online_ctr[b]))
    return Relation(table, pearson, spearman, agree / len(pairs))


# --- model-7: inclusion over the groups the stakeholders named ---------------------------------------

#: The groups named in the concern review: new customers (product owner), shared household accounts
#: (customer care) and the men's and women's pages (the category heads).
INCLUSION_GROUPS = ("new users", "shared accounts", "section: men", "section: women")


def inclusion(evaluation: Evaluation, groups: Sequence[str] = INCLUSION_GROUPS) -> Measurement:
    """The worst named group's model recall@k relative to what bestsellers give that same group."""
    table = evaluation.slices.set_index("slice")
    missing = [g for g in groups if g not in table.index]
    if missing:
        return Measurement(None, f"the evaluation has no accounts in {missing}: the groups cannot be judged")
    ratios = {g: float(table.loc[g, "model_recall"] / table.loc[g, "popularity_recall"])
              if table.loc[g, "popularity_recall"] > 0 else float("inf") for g in groups}
    worst = min(ratios, key=lambda g: ratios[g])
    overall = float(table.loc["all", "model_recall"])
    return Measurement(
        value=round(ratios[worst], 4),
        summary=(f"worst named group: {worst} gets {ratios[worst]:.2f}x the bestsellers' recall@{evaluation.k} "
                 f"(model {table.loc[worst, 'model_recall']:.4f} vs {table.loc[worst, 'popularity_recall']:.4f}); "
                 + ", ".join(f"{g} {r:.2f}x" for g, r in ratios.items())),
        details={"ratio_to_bestsellers": ratios, "worst_group": worst,
                 "model_recall": {g: float(table.loc[g, "model_recall"]) for g in groups},
                 "share_of_overall_recall": {g: float(table.loc[g, "model_recall"]) / overall if overall else None
                                             for g in groups},
                 "accounts": {g: int(table.loc[g, "accounts"]) for g in groups}},
    )
