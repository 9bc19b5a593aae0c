"""The "recommended for you" box: the collaborative model, with bestsellers where it knows too little.

It always ranks within the page's assortment (the section's articles plus unisex ones) and
never repeats what the account already interacted with — that is the last-seen box's job.
"""

from __future__ import annotations

import numpy as np

from inloop.stability import Stage, require_finite
from recommender.lib.boxes import Assortment, Box
from recommender.lib.collaborative import CollaborativeModel
from recommender.lib.history import AccountHistory
from recommender.lib.popularity import PopularityModel

__all__ = ["COMPONENT", "rank_for_account", "recommendations_box"]

COMPONENT = "recommendations_box"


def rank_for_account(candidates: np.ndarray, history_items: np.ndarray, vector: np.ndarray | None,
                     model: CollaborativeModel, popularity: PopularityModel, n: int,
                     stage: Stage = "training") -> tuple[np.ndarray, int]:
    """Top ``n`` candidates by model score (popularity fills in); returns (items, how many came from the model).

    A NaN or infinite account vector or score is refused (:class:`~inloop.stability.NonFiniteError`, with an
    alert naming ``stage``): a ranking by NaN would look like an answer.
    """
    if len(history_items):
        candidates = candidates[~np.isin(candidates, history_items)]
    if vector is None or len(candidates) == 0:
        return popularity.rank(candidates, n), 0
    scores = model.scores(vector, candidates)
    if not (np.isfinite(vector).all() and np.isfinite(scores).all()):
        require_finite("recommender", stage, {"features": vector, "scores": scores},
                       evidence={"model_version": model.version})
    top = candidates[np.argsort(-scores, kind="stable")[:n]]
    if len(top) < n:
        rest = popularity.rank(candidates[~np.isin(candidates, top)], n - len(top))
        return np.concatenate([top, rest]), len(top)
    return top, len(top)


def recommendations_box(history: AccountHistory, assortment: Assortment, model: CollaborativeModel,
                        popularity: PopularityModel, *, page: str, size: int,
                        vector: np.ndarray | None = None, version: str | None = None) -> Box:
    """The box for one page view; ``vector`` is the account's folded-in model vector (None: no history)."""
    history_items, _ = history.weighted_items()
    ranked, from_model = rank_for_account(assortment.for_page(page), history_items, vector, model, popularity, size,
                                          stage="serving")
    section = "" if page == "home" else f" in the {page}'s section"
    items = []
    for rank, item in enumerate(ranked, start=1):
        if rank <= from_model:
            anchor = model.most_similar(int(item), history_items)
            reason = f"similar to {assortment.name[anchor]} you looked at" if anchor is not None else "matches your taste"
            items.append(assortment.item(item, rank, COMPONENT, reason, source="model", similar_to=anchor))
        else:
            items.append(assortment.item(item, rank, COMPONENT, f"bestseller{section}", source="popularity"))
    return Box(COMPONENT, tuple(items), model.name, version or model.version, fallback=from_model < len(items),
               notes={"from_model": from_model, "from_popularity": len(items) - from_model,
                      "popularity_version": popularity.version})
