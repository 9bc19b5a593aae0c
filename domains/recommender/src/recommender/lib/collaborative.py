"""The collaborative model behind "recommended for you": implicit-feedback ALS (implicit's solver).

Training factorises the accounts x articles matrix of weighted events. At serving time an
account's vector is *folded in* from its current history with the same least-squares step ALS
uses, so the same code serves accounts seen in training, accounts with new events since, and
(through the caller's popularity fallback) accounts with no history at all.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from inloop.stability import require_finite
from recommender.lib.history import interaction_matrix

__all__ = ["MODEL_INPUTS", "CollaborativeModel", "train_als"]

#: Every column the model is trained on, by data source; :func:`train_als` reads only these, and the card's
#: feature_policy must allow each (``recommender.lib.feature_inputs``, data-4).
MODEL_INPUTS: dict[str, tuple[str, ...]] = {
    "shop_events": ("account_id", "item_id", "event_type", "ts"),
    "catalog": ("item_id", "category", "style", "gender_target"),
}


@dataclass(frozen=True)
class CollaborativeModel:
    """Article factors of a trained ALS model, and what is needed to fold in an account."""

    item_factors: np.ndarray
    regularization: float
    alpha: float
    params: dict[str, float | int]
    trained_until: pd.Timestamp
    training_seconds: float
    name: str = "recommender-als"
    _gram: np.ndarray = field(init=False, repr=False)
    _unit: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        factors = self.item_factors.astype(np.float64)
        object.__setattr__(self, "_gram", factors.T @ factors)
        norms = np.linalg.norm(factors, axis=1, keepdims=True)
        object.__setattr__(self, "_unit", factors / np.where(norms == 0, 1.0, norms))

    @property
    def version(self) -> str:
        """A content hash: the same factors always carry the same version."""
        digest = hashlib.sha256(np.ascontiguousarray(self.item_factors).tobytes()).hexdigest()[:10]
        return f"als-{digest}"

    def account_vector(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
        """The ALS least-squares solution for an account with these interactions (None without any)."""
        if len(items) == 0:
            return None
        y = self.item_factors[items].astype(np.float64)
        confidence = self.alpha * weights.astype(np.float64)
        a = self._gram + (y.T * (confidence - 1.0)) @ y + self.regularization * np.eye(y.shape[1])
        b = (y * confidence[:, None]).sum(axis=0)
        return np.linalg.solve(a, b)

    def scores(self, vector: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        return self.item_factors[candidates].astype(np.float64) @ vector

    def most_similar(self, item: int, among: np.ndarray) -> int | None:
        """The article in ``among`` most similar to ``item`` (cosine of factors): the "similar to X" reason."""
        if len(among) == 0:
            return None
        return int(among[int(np.argmax(self._unit[among] @ self._unit[item]))])


def train_als(train: pd.DataFrame, catalog: pd.DataFrame, n_accounts: int, *, factors: int = 32, iterations: int = 12,
              regularization: float = 0.05, alpha: float = 10.0, seed: int = 7) -> CollaborativeModel:
    """Fit ALS on the training window (single-threaded BLAS, so it is reproducible and polite on a laptop).

    Articles without a single interaction in the window (this week's arrivals above all) get
    cold-start factors: the mean factors of trained articles with the same category, style and
    gender target (or, failing that, the same style and gender target), so the model can rank them.
    """
    train, catalog = train[list(MODEL_INPUTS["shop_events"])], catalog[list(MODEL_INPUTS["catalog"])]
    n_items = len(catalog)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    matrix = interaction_matrix(train, n_accounts, n_items)
    require_finite("recommender", "training", {"features": matrix.data})  # NaN/inf weights: refuse, alert
    started = time.perf_counter()
    # implicit's own threads do the work; a BLAS thread pool underneath only oversubscribes the cores.
    with threadpool_limits(1, "blas"):
        als = AlternatingLeastSquares(factors=factors, iterations=iterations, regularization=regularization,
                                      alpha=alpha, random_state=seed, num_threads=1)
        als.fit(matrix, show_progress=False)
    item_factors = _cold_start_factors(np.asarray(als.item_factors, dtype=np.float32),
                                       np.asarray(matrix.getnnz(axis=0)) > 0, catalog.sort_values("item_id"))
    seconds = time.perf_counter() - started
    # A diverged fit (NaN/inf factors) would rank by garbage: stop training instead, with an alert.
    require_finite("recommender", "training", {"item_factors": item_factors})
    return CollaborativeModel(
        item_factors=item_factors, regularization=regularization, alpha=alpha,
        params={"factors": factors, "iterations": iterations, "regularization": regularization, "alpha": alpha,
                "seed": seed, "accounts": n_accounts, "items": n_items, "interactions": int(matrix.nnz)},
        trained_until=train["ts"].max().ceil("D"), training_seconds=seconds,
    )


def _cold_start_factors(factors: np.ndarray, trained: np.ndarray, catalog: pd.DataFrame) -> np.ndarray:
    out = factors.copy()
    out[~trained] = 0.0
    for keys in (["category", "style", "gender_target"], ["style", "gender_target"]):
        frame = catalog[keys].astype(str).reset_index(drop=True)
        group = frame.groupby(keys, sort=False).ngroup().to_numpy()
        for g in np.unique(group[~trained]):
            members = group == g
            donors = members & trained
            cold = members & ~trained & ~out.any(axis=1)
            if donors.any() and cold.any():
                out[cold] = factors[donors].mean(axis=0)
    return out
