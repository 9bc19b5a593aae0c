"""Bounded hyperparameter search, every trial an MLflow child run (ML Test Score model-3).

:func:`bounded_search` draws at most ``budget`` settings from a small grid with a fixed seed
(scikit-learn's ``ParameterSampler``: without replacement when every dimension is a list), always
tries the incumbent (today's defaults) first, scores each on a validation split through the
domain's ``objective`` and returns the best. With a ``domain`` given, the search is one MLflow run
(``tune``) and each trial a nested child run with its parameters and score, so the search is
reviewable beside the model it chose.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from inloop.readiness import rubric

__all__ = ["SearchResult", "bounded_search"]


@dataclass(frozen=True)
class SearchResult:
    metric: str
    best_params: dict[str, Any]
    best_score: float
    incumbent_score: float | None
    trials: pd.DataFrame  # one row per trial: trial, the parameters, score, seconds
    run_id: str | None  # the parent MLflow run (None when not tracked)
    seed: int
    budget: int

    def summary(self) -> str:
        base = "" if self.incumbent_score is None else f" (defaults {self.incumbent_score:.4f})"
        return (f"best {self.metric} {self.best_score:.4f}{base} over {len(self.trials)} trials with "
                + ", ".join(f"{k}={v}" for k, v in self.best_params.items()))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


@rubric("model-3", how="automated", what="bounded hyperparameter search (fixed budget and seed, validation split), each trial "
        "an MLflow child run; the best setting is what training uses")
def bounded_search(space: Mapping[str, Sequence[Any]], objective: Callable[[dict[str, Any]], float], *,
                   budget: int, seed: int, metric: str, incumbent: Mapping[str, Any] | None = None,
                   greater_is_better: bool = True, domain: str | None = None, run_name: str = "tune",
                   tags: dict[str, str] | None = None) -> SearchResult:
    """Try at most ``budget`` settings (the incumbent first, when given) and return the best.

    ``objective(params)`` trains on the training part and returns the validation score. Ties keep
    the earlier trial, so the incumbent wins unless something is strictly better.
    """
    from sklearn.model_selection import ParameterSampler

    if budget < 1:
        raise ValueError("budget must be at least 1 trial")
    if not space or any(len(v) == 0 for v in space.values()):
        raise ValueError("the search space needs at least one value per parameter")
    candidates: list[dict[str, Any]] = []
    if incumbent is not None:
        candidates.append({k: _plain(incumbent[k]) for k in space if k in incumbent})
    size = math.prod(len(v) for v in space.values())
    draws = ParameterSampler({k: list(v) for k, v in space.items()}, n_iter=min(budget, size), random_state=seed)
    for params in draws:
        params = {k: _plain(v) for k, v in params.items()}
        if params not in candidates:
            candidates.append(params)
    candidates = candidates[:budget]

    def run_trials(parent_run_id: str | None, experiment: str | None = None) -> list[dict[str, Any]]:
        rows = []
        for i, params in enumerate(candidates):
            started = time.perf_counter()
            score = float(objective(dict(params)))
            seconds = time.perf_counter() - started
            rows.append({"trial": i, **params, metric: score, "seconds": round(seconds, 3)})
            if parent_run_id is not None:
                import mlflow

                # A child run lands in the default experiment unless told the parent's.
                with mlflow.start_run(run_name=f"trial-{i}", nested=True, experiment_id=experiment,
                                      tags={"inloop.domain": domain or "", "inloop.search": parent_run_id}):
                    mlflow.log_params({**params, "incumbent": i == 0 and incumbent is not None})
                    mlflow.log_metric(metric, score if math.isfinite(score) else -1e300)
                    mlflow.log_metric("seconds", seconds)
        return rows

    run_id = None
    if domain is None:
        rows = run_trials(None)
    else:
        import mlflow

        from inloop.tracking import start_run

        with start_run(domain, run_name, tags={"inloop.kind": "hyperparameter_search", **(tags or {})}) as run:
            run_id = run.info.run_id
            mlflow.log_params({"budget": budget, "seed": seed, "metric": metric,
                               "space": "; ".join(f"{k}={list(v)}" for k, v in space.items())})
            rows = run_trials(run_id, run.info.experiment_id)
    trials = pd.DataFrame(rows)
    scores = trials[metric].where(trials[metric].map(math.isfinite))
    if scores.isna().all():
        raise ValueError(f"every trial's {metric} was missing or not finite: nothing to choose")
    best = int(scores.idxmax() if greater_is_better else scores.idxmin())
    best_params = {k: _plain(trials.loc[best, k]) for k in candidates[best]}
    result = SearchResult(metric, best_params, float(scores[best]),
                          float(scores[0]) if incumbent is not None else None, trials, run_id, seed, budget)
    if run_id is not None:
        from inloop.tracking import client

        mlc = client()
        mlc.log_metric(run_id, f"best_{metric}", result.best_score)
        mlc.log_dict(run_id, {"best_params": best_params, "best": result.best_score}, "best_params.json")
        mlc.log_text(run_id, trials.to_csv(index=False), "trials.csv")
    return result
