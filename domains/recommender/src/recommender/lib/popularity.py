"""The popularity baseline: bestsellers of the recent past (the "no ML" answer and the fallback)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.lib.history import EVENT_WEIGHTS

__all__ = ["PopularityModel", "fit_popularity"]


@dataclass(frozen=True)
class PopularityModel:
    """Each article's weighted interactions over the last ``window_days`` of the training data."""

    scores: np.ndarray
    window_days: int
    trained_until: pd.Timestamp
    name: str = "popularity"

    @property
    def version(self) -> str:
        return f"bestsellers-{self.window_days}d-until-{self.trained_until:%Y%m%d}"

    def rank(self, candidates: np.ndarray, n: int) -> np.ndarray:
        """The ``n`` most popular of ``candidates`` (ties broken by article id, so it is stable)."""
        order = np.lexsort((candidates, -self.scores[candidates]))
        return candidates[order[:n]]


def fit_popularity(train: pd.DataFrame, n_items: int, window_days: int = 14) -> PopularityModel:
    """Bestsellers of the last ``window_days`` before the end of ``train``, weighted like the model's input."""
    until = train["ts"].max().ceil("D")
    recent = train[train["ts"] >= until - pd.Timedelta(days=window_days)]
    weights = recent["event_type"].map(EVENT_WEIGHTS).to_numpy(dtype=float)
    scores = np.bincount(recent["item_id"].to_numpy(), weights=weights, minlength=n_items).astype(float)
    return PopularityModel(scores, window_days, until)
