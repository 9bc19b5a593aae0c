"""Studies around the risk model: hyperparameter search, feature ablation, staleness curve.

Plain functions on the application history (no Dagster); the platform runs the generic parts
(:mod:`inloop.tuning`, :mod:`inloop.ablation`, :mod:`inloop.staleness`), this module supplies what
is credit-specific: the search space, the feature groups by data source and the minimum gain each
must show, and how a model is trained and scored on time-ordered months.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from credit.lib.features import FEATURES, build_features, labels, month_index
from credit.lib.model import DEFAULT_PARAMS, NUM_ROUNDS, train_risk_model
from inloop.ablation import AblationReport, FeatureGroup, Score, run_ablation
from inloop.cards import Threshold
from inloop.staleness import StalenessCurve, StalenessPoint
from inloop.tuning import SearchResult, bounded_search

__all__ = ["FEATURE_GROUPS", "MIN_AUC_GAIN", "SEARCH_BUDGET", "SEARCH_SPACE", "VALIDATION_MONTHS",
           "ablation_report", "data_fingerprint", "staleness_curve", "tune_hyperparameters"]

#: The search space around the hand-set defaults (small: the first run must stay fast).
SEARCH_SPACE: dict[str, list[Any]] = {
    "num_leaves": [7, 15],
    "learning_rate": [0.03, 0.05, 0.1],
    "min_data_in_leaf": [40, 80],
    "num_rounds": [150, 300],
}
#: Trials per search, the incumbent (today's defaults) included.
SEARCH_BUDGET = 6
SEARCH_SEED = 7
#: The last months of the training window validate the search (the holdout stays untouched).
VALIDATION_MONTHS = 2

#: The model's features grouped by the data source they come from.
FEATURE_GROUPS: tuple[FeatureGroup, ...] = (
    FeatureGroup("applicant_income", ("income_monthly_eur",), "application form: declared net income"),
    FeatureGroup("employment", ("employment_years",), "application form: employment history"),
    FeatureGroup("applicant_profile", ("age_band", "residence_permit"), "application form: identity and permit"),
    FeatureGroup("loan_request", ("loan_amount_eur", "loan_duration_months"), "loan request (product selection)"),
    FeatureGroup("affordability", ("burden",), "derived: instalment / income (no new source)"),
    FeatureGroup("credit_register", ("existing_credits",), "internal credit register lookup"),
    FeatureGroup("sales_channel", ("channel",), "front end: sales-channel routing"),
    FeatureGroup("form_telemetry", ("application_duration_seconds",), "front end: session telemetry"),
)
#: Every data source must prove itself: a group adding less holdout AUC than this is a finding.
MIN_AUC_GAIN = 0.002


def data_fingerprint(applications: pd.DataFrame) -> str:
    """A short hash of the training data (same rows, same values -> same fingerprint)."""
    hashed = pd.util.hash_pandas_object(applications.reset_index(drop=True), index=True).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


#: The studies train many small models one after another: one thread each. On a busy 2-core machine two
#: LightGBM threads per model took 20x longer (thread hand-offs), and with ``deterministic`` the
#: trees are the same either way.
STUDY_THREADS = 1


def _split_params(params: dict[str, Any]) -> tuple[dict[str, Any], int]:
    params = {**params, "num_threads": STUDY_THREADS}
    return params, int(params.pop("num_rounds", NUM_ROUNDS))


def tune_hyperparameters(train: pd.DataFrame, *, budget: int = SEARCH_BUDGET, seed: int = SEARCH_SEED,
                         features: tuple[str, ...] = FEATURES, track: bool = True,
                         tags: dict[str, str] | None = None) -> SearchResult:
    """Search :data:`SEARCH_SPACE` on the training window: fit on its earlier months, AUC on its last ones."""
    months = month_index(train["applied_at"]).to_numpy()
    first_validation = months.max() - VALIDATION_MONTHS + 1
    fit, validate = train[months < first_validation], train[months >= first_validation]
    if fit.empty or validate.empty:
        raise ValueError(f"the training window needs more than {VALIDATION_MONTHS} months to tune on")
    X_fit, y_fit = build_features(fit, features), labels(fit)
    X_val, y_val = build_features(validate, features), labels(validate)

    def objective(candidate: dict[str, Any]) -> float:
        params, rounds = _split_params(candidate)
        model = train_risk_model(X_fit, y_fit, params, num_rounds=rounds)
        return float(roc_auc_score(y_val, model.probability(X_val)))

    incumbent = {**DEFAULT_PARAMS, "num_rounds": NUM_ROUNDS}
    return bounded_search(SEARCH_SPACE, objective, budget=budget, seed=seed, metric="validation_auc",
                          incumbent=incumbent, domain="credit" if track else None, run_name="tune-lightgbm",
                          tags=tags)


def _latency_ms_per_row(model: Any, X: pd.DataFrame, repeats: int = 7) -> float:
    """Best of ``repeats`` batch predictions (one warm-up first): the least noisy figure on a shared machine."""
    rows = X.head(1_000)
    model.probability(rows)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        model.probability(rows)
        best = min(best, time.perf_counter() - started)
    return best * 1_000 / len(rows)


def ablation_report(train: pd.DataFrame, holdout: pd.DataFrame, params: dict[str, Any] | None = None, *,
                    groups: tuple[FeatureGroup, ...] = FEATURE_GROUPS, min_gain: float = MIN_AUC_GAIN
                    ) -> AblationReport:
    """Leave each data source out in turn: holdout AUC gained vs latency, model size, dependency."""
    params, rounds = _split_params({**DEFAULT_PARAMS, "num_rounds": NUM_ROUNDS, **(params or {})})
    y_train, y_holdout = labels(train), labels(holdout)

    def fit_and_score(dropped: tuple[str, ...]) -> Score:
        features = tuple(f for f in FEATURES if f not in dropped)
        X_train, X_holdout = build_features(train, features), build_features(holdout, features)
        model = train_risk_model(X_train, y_train, params, num_rounds=rounds)
        auc = float(roc_auc_score(y_holdout, model.probability(X_holdout)))
        size = len(model.booster.model_to_string().encode())
        return Score(auc, _latency_ms_per_row(model, X_holdout), size)

    return run_ablation(groups, fit_and_score, metric="holdout AUC", min_gain=min_gain)


#: Each model of the staleness study learns from this many months, then is scored month by month after.
STALENESS_TRAIN_MONTHS = 6
#: Training moments (the last month index a model learns from).
STALENESS_ORIGINS = (5, 7, 9)
DAYS_PER_MONTH = 30.4


def staleness_curve(history: pd.DataFrame, params: dict[str, Any] | None = None, *, max_drop: float = 0.05,
                    origins: tuple[int, ...] = STALENESS_ORIGINS,
                    train_months: int = STALENESS_TRAIN_MONTHS) -> StalenessCurve:
    """Holdout AUC by model age: train on ``train_months`` up to each origin, score every later month.

    The value judged is the AUC drop against the model's first month (what a fresh model gives),
    with the live-performance concern's tolerance (``max_drop``, AUC points) as the threshold. Ages
    are the end of the scored month: a model that holds for month ``a`` holds up to ``a`` months old.
    """
    params, rounds = _split_params({**DEFAULT_PARAMS, "num_rounds": NUM_ROUNDS, **(params or {})})
    months = month_index(history["applied_at"]).to_numpy()
    last = int(months.max())
    points: list[StalenessPoint] = []
    for origin in origins:
        window = (months > origin - train_months) & (months <= origin)
        if origin >= last or not window.any():
            raise ValueError(f"origin month {origin} leaves nothing to score (history ends at month {last})")
        train = history[window]
        model = train_risk_model(build_features(train), labels(train), params, num_rounds=rounds)
        fresh: float | None = None
        for month in range(origin + 1, last + 1):
            scored = history[months == month]
            y = labels(scored)
            if y.min() == y.max():
                continue
            auc = float(roc_auc_score(y, model.probability(build_features(scored))))
            fresh = auc if fresh is None else fresh
            age = (month - origin) * DAYS_PER_MONTH
            until = str(pd.Timestamp(train["applied_at"].max()).date())
            points.append(StalenessPoint(until, round(age, 1), round(auc, 4), round(fresh - auc, 4), len(scored)))
    return StalenessCurve("holdout AUC", "AUC drop vs the model's first month", Threshold(op="<=", value=max_drop),
                          tuple(points))


def predictions_fingerprint(probabilities: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(probabilities, dtype=np.float64).tobytes()).hexdigest()[:16]
