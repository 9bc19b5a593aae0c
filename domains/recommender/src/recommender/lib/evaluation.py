"""Offline evaluation on the held-out week: the model beside the popularity baseline, overall and per slice.

For each account with something new in the test week, both rankers see only the training
window and rank articles the account had not interacted with yet; the targets are the articles
it then viewed, carted or bought. Slices: shared household accounts vs single ones, new users
(fewer than ``new_user_max`` training events) vs established ones, and each gendered section
(ranking within the section's assortment against the test articles of that section).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from inloop.tracking import GateResult
from recommender.lib.boxes import Assortment
from recommender.lib.collaborative import CollaborativeModel
from recommender.lib.history import HistoryStore, TimeSplit
from recommender.lib.popularity import PopularityModel
from recommender.lib.recommendations import rank_for_account
from recommender.lib.shop import SECTIONS

__all__ = ["Evaluation", "evaluate", "ndcg_at_k", "promotion_gates", "recall_at_k"]


def recall_at_k(ranked: np.ndarray, targets: set[int], k: int) -> float:
    """Hits in the top ``k`` over ``min(k, |targets|)`` (so a perfect top-k scores 1)."""
    if not targets:
        raise ValueError("recall needs at least one target")
    hits = sum(1 for item in ranked[:k] if int(item) in targets)
    return hits / min(k, len(targets))


def ndcg_at_k(ranked: np.ndarray, targets: set[int], k: int) -> float:
    """Normalised discounted cumulative gain of the top ``k`` with binary relevance."""
    if not targets:
        raise ValueError("NDCG needs at least one target")
    dcg = sum(1.0 / np.log2(rank + 2) for rank, item in enumerate(ranked[:k]) if int(item) in targets)
    ideal = sum(1.0 / np.log2(rank + 2) for rank in range(min(k, len(targets))))
    return float(dcg / ideal)


@dataclass(frozen=True)
class Evaluation:
    k: int
    overall: dict[str, dict[str, float]]
    slices: pd.DataFrame
    catalog_coverage: dict[str, float]
    accounts: int

    @property
    def recall_lift(self) -> float:
        """Relative recall@k lift of the model over popularity (the card's promotion bar)."""
        base = self.overall["popularity"]["recall"]
        return self.overall["model"]["recall"] / base - 1.0 if base > 0 else float("inf")

    def metrics(self) -> dict[str, float]:
        """Flat metrics for MLflow: overall, coverage and every slice."""
        out = {f"{who}_{m}_at_{self.k}": v for who, ms in self.overall.items() for m, v in ms.items()}
        out["recall_lift_over_popularity"] = self.recall_lift
        out.update({f"catalog_coverage_{who}": v for who, v in self.catalog_coverage.items()})
        for row in self.slices.itertuples(index=False):
            key = row.slice.replace(" ", "_").replace(":", "")
            out[f"slice_{key}_model_recall_at_{self.k}"] = row.model_recall
            out[f"slice_{key}_popularity_recall_at_{self.k}"] = row.popularity_recall
        return out

    def table(self) -> list[dict[str, Any]]:
        return self.slices.round(4).to_dict(orient="records")


def evaluate(model: CollaborativeModel, popularity: PopularityModel, split: TimeSplit, catalog: pd.DataFrame,
             shoppers: pd.DataFrame, *, k: int = 10, new_user_max: int = 5) -> Evaluation:
    """Recall@k and NDCG@k for the model (with its popularity fallback, as served) and for popularity alone."""
    assortment = Assortment(catalog)
    history = HistoryStore(split.train)
    shared = shoppers.groupby("account_id")["shared_account"].first()
    tested = split.test.groupby("account_id")["item_id"].agg(lambda s: set(s.tolist()))
    rows: list[dict[str, Any]] = []
    shown: dict[str, set[int]] = {"model": set(), "popularity": set()}
    for account_id, test_items in tested.items():
        past = history.of(account_id)
        items, weights = past.weighted_items()
        targets = test_items - set(items.tolist())
        if not targets:
            continue
        vector = model.account_vector(items, weights)
        groups = ["all", "shared accounts" if shared.get(account_id, False) else "single accounts",
                  "new users" if len(past) < new_user_max else "established users"]
        for page in ("home", *SECTIONS):
            pool = assortment.for_page(page)
            wanted = targets & set(pool.tolist()) if page != "home" else targets
            if not wanted:
                continue
            by_model, _ = rank_for_account(pool, items, vector, model, popularity, k)
            by_popularity, _ = rank_for_account(pool, items, None, model, popularity, k)
            if page == "home":
                shown["model"].update(by_model.tolist())
                shown["popularity"].update(by_popularity.tolist())
            scores = {
                "model_recall": recall_at_k(by_model, wanted, k), "popularity_recall": recall_at_k(by_popularity, wanted, k),
                "model_ndcg": ndcg_at_k(by_model, wanted, k), "popularity_ndcg": ndcg_at_k(by_popularity, wanted, k),
            }
            for group in (groups if page == "home" else [f"section: {page}"]):
                rows.append({"slice": group, "account_id": account_id, **scores})
    if not rows:
        raise ValueError("no account has new interactions in the test week: nothing to evaluate")
    frame = pd.DataFrame(rows)
    order = ["all", "single accounts", "shared accounts", "established users", "new users",
             *[f"section: {s}" for s in SECTIONS]]
    slices = (frame.groupby("slice").agg(accounts=("account_id", "nunique"), model_recall=("model_recall", "mean"),
                                         popularity_recall=("popularity_recall", "mean"),
                                         model_ndcg=("model_ndcg", "mean"), popularity_ndcg=("popularity_ndcg", "mean"))
              .reindex([s for s in order if s in set(frame["slice"])]).reset_index())
    slices["recall_lift"] = slices["model_recall"] / slices["popularity_recall"].replace(0, np.nan) - 1
    overall_row = slices.set_index("slice").loc["all"]
    overall = {
        "model": {"recall": float(overall_row["model_recall"]), "ndcg": float(overall_row["model_ndcg"])},
        "popularity": {"recall": float(overall_row["popularity_recall"]), "ndcg": float(overall_row["popularity_ndcg"])},
    }
    coverage = {who: len(items) / assortment.size for who, items in shown.items()}
    return Evaluation(k, overall, slices, coverage, int(overall_row["accounts"]))


def promotion_gates(evaluation: Evaluation, required_lift: float) -> list[GateResult]:
    """What a model version must show before it serves: the card's recall bar and two sanity gates."""
    model, base = evaluation.overall["model"], evaluation.overall["popularity"]
    coverage = evaluation.catalog_coverage
    return [
        GateResult("recall_at_10_lift_over_popularity", evaluation.recall_lift >= required_lift,
                   f"lift {evaluation.recall_lift:+.1%}, required {required_lift:+.0%}"),
        GateResult("ndcg_at_10_not_below_popularity", model["ndcg"] >= base["ndcg"],
                   f"NDCG@10 {model['ndcg']:.4f} vs popularity {base['ndcg']:.4f}"),
        GateResult("catalog_coverage_not_below_popularity", coverage["model"] >= coverage["popularity"],
                   f"catalog coverage {coverage['model']:.1%} vs popularity {coverage['popularity']:.1%}"),
    ]
