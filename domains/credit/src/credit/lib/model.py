"""Training: the LightGBM risk model and the logistic-regression baseline beside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from credit.lib.features import CATEGORIES
from inloop.stability import require_finite

__all__ = ["DEFAULT_PARAMS", "RiskModel", "train_baseline", "train_risk_model"]

#: Small and regularised: about 15,000 training rows with about 10 % defaults.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 80,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 20,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
    # One thread: at demo scale a second OpenMP thread gains little, and when Dagster runs steps in
    # parallel (or tests run on both cores) spinning OpenMP threads made 9 trainings take 91 s instead
    # of 4.4 s. Same trees either way (deterministic=True).
    "num_threads": 1,
    "verbosity": -1,
}
NUM_ROUNDS = 300


@dataclass
class RiskModel:
    """A trained booster with the features it expects, in order."""

    booster: lgb.Booster
    features: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # contributions_matrix passes category codes: they must mean what they meant in training.
        trained = getattr(self.booster, "pandas_categorical", None) or []
        categorical = [f for f in self.features if f in CATEGORIES]
        expected = [list(CATEGORIES[f]) for f in categorical]
        if [list(c) for c in trained] != expected:
            raise ValueError(f"the model's categories {trained} differ from the application categories {expected}")

    def probability(self, X: pd.DataFrame) -> np.ndarray:
        """Probability of a 12-month default per row."""
        return self.booster.predict(X[list(self.features)])

    def contributions_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Contributions for a float matrix in :attr:`features` order (categories as their codes).

        The codes are the positions in :data:`~credit.lib.features.CATEGORIES`, which is how
        LightGBM encoded the pandas categories it was trained on; this path skips pandas, so one
        application takes a fraction of a millisecond. Small batches use one thread: starting
        threads costs more than scoring a handful of rows.
        """
        threads = 1 if len(matrix) <= 256 else self.params.get("num_threads", 0)
        return self.booster.predict(matrix, pred_contrib=True, num_threads=threads)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-row log-odds contribution of each feature (the last column, ``bias``, is the base)."""
        raw = self.booster.predict(X[list(self.features)], pred_contrib=True)
        return pd.DataFrame(raw, columns=[*self.features, "bias"], index=X.index)


def train_risk_model(X: pd.DataFrame, y: np.ndarray, params: dict[str, Any] | None = None,
                     num_rounds: int = NUM_ROUNDS) -> RiskModel:
    """Fit LightGBM on ``X`` (categoricals as pandas categories) and ``y`` (1 = default)."""
    params = {**DEFAULT_PARAMS, **(params or {})}
    # Numerical stability: non-finite features, labels, loss or predictions stop training (with an alert).
    require_finite("credit", "training", {"features": X, "labels": np.asarray(y, dtype=float)})
    data = lgb.Dataset(X, label=y, categorical_feature=[c for c in X.columns if c in CATEGORIES],
                       free_raw_data=False)
    losses: dict[str, Any] = {}
    booster = lgb.train({**params, "metric": "binary_logloss"}, data, num_boost_round=num_rounds,
                        valid_sets=[data], valid_names=["train"], callbacks=[lgb.record_evaluation(losses)])
    require_finite("credit", "training", {"loss": losses["train"]["binary_logloss"],
                                          "predictions": booster.predict(X)})
    return RiskModel(booster, tuple(X.columns), {**params, "num_rounds": num_rounds})


def train_baseline(X: pd.DataFrame, y: np.ndarray) -> Pipeline:
    """The scorecard-like baseline: logistic regression on scaled numbers and one-hot categories."""
    categorical = [c for c in X.columns if c in CATEGORIES]
    numeric = [c for c in X.columns if c not in CATEGORIES]
    prep = ColumnTransformer([
        ("numbers", StandardScaler(), numeric),
        ("categories", OneHotEncoder(categories=[list(CATEGORIES[c]) for c in categorical], handle_unknown="ignore"),
         categorical),
    ])
    return Pipeline([("prepare", prep), ("logit", LogisticRegression(max_iter=2_000))]).fit(X, y)
