"""The "new in" carousel: this week's arrivals in the page's section, ranked for the account.

New articles have no interactions yet, so the model scores them through their cold-start
factors (the average of trained articles with the same category, style and gender target,
see :func:`recommender.lib.collaborative.train_als`). Without any history the carousel shows
the newest arrivals first, as it did before the project.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from recommender.lib.boxes import Assortment, Box, age_text
from recommender.lib.collaborative import CollaborativeModel
from recommender.lib.history import AccountHistory

__all__ = ["COMPONENT", "new_in_carousel"]

COMPONENT = "new_in_carousel"


def new_in_carousel(history: AccountHistory, assortment: Assortment, model: CollaborativeModel, *, page: str,
                    now: dt.datetime, size: int, vector: np.ndarray | None = None, version: str | None = None) -> Box:
    """New articles that have arrived by ``now``, the account's likeliest first (newest first without history)."""
    pool = assortment.for_page(page)
    fresh = pool[assortment.new_in[pool] & assortment.arrived_by(now)[pool]]
    history_items, _ = history.weighted_items()
    fresh = fresh[~np.isin(fresh, history_items)]
    now_s = pd.Timestamp(now).timestamp()
    if vector is None:
        ranked = fresh[np.argsort(-assortment.added_at[fresh], kind="stable")[:size]]
        reasons = [f"new in, arrived {age_text(now_s - assortment.added_at[i])}" for i in ranked]
    else:
        ranked = fresh[np.argsort(-model.scores(vector, fresh), kind="stable")[:size]]
        reasons = ["new in, close to what you look at"] * len(ranked)
    items = [assortment.item(item, rank, COMPONENT, reason, source="model" if vector is not None else "arrival")
             for rank, (item, reason) in enumerate(zip(ranked, reasons, strict=True), start=1)]
    return Box(COMPONENT, tuple(items), model.name, version or model.version, fallback=vector is None,
               notes={"new_articles_available": len(fresh)})
