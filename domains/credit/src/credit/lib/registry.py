"""The risk model in MLflow: logging a candidate with its evidence, loading the champion.

A candidate run holds the parameters, the evaluation (model and baseline, overall and per
slice), the signature, and the training data's statistics (what drift is measured against).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from credit.lib.decision import MODEL_NAME, DecisionService
from credit.lib.evaluation import Evaluation
from credit.lib.model import RiskModel
from credit.lib.policy import DecisionPolicy, load_policy

__all__ = ["CandidateRun", "champion_age_days", "champion_offline_auc", "champion_training_statistics",
           "load_challenger_service", "load_decision_service", "log_candidate",
           "log_evaluation", "training_statistics"]


@dataclass(frozen=True)
class CandidateRun:
    """A logged and registered candidate: its MLflow run and registered version."""

    run_id: str
    version: str


def training_statistics(X: pd.DataFrame) -> dict[str, Any]:
    """Per feature: quantiles for numbers, shares for categories (JSON-ready)."""
    stats: dict[str, Any] = {"rows": len(X), "features": {}}
    for name in X.columns:
        column = X[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            shares = column.value_counts(normalize=True).sort_index()
            stats["features"][name] = {"kind": "category", "shares": {str(k): round(float(v), 5)
                                                                      for k, v in shares.items()}}
        else:
            q = column.quantile([0.01, 0.25, 0.5, 0.75, 0.99])
            stats["features"][name] = {"kind": "number", "mean": float(column.mean()), "std": float(column.std()),
                                       "min": float(column.min()), "max": float(column.max()),
                                       "quantiles": {str(k): float(v) for k, v in q.items()}}
    return stats


def log_candidate(model: RiskModel, X_train: pd.DataFrame, y_train: np.ndarray, *, run_name: str = "train",
                  tags: dict[str, str] | None = None) -> CandidateRun:
    """Log and register the trained model; returns its run id and registered version."""
    import mlflow
    from mlflow.models import infer_signature

    from inloop.tracking import start_run

    # MLflow would copy the workspace's uv.lock into every model (and run uv to find it); the
    # pinned pip requirements below say what the model needs.
    os.environ.setdefault("MLFLOW_LOG_UV_FILES", "false")
    sample = X_train.head(200)
    signature = infer_signature(sample, model.probability(sample))
    with start_run("credit", run_name, tags=tags) as run:
        mlflow.log_params({k: v for k, v in model.params.items() if k not in ("verbosity",)})
        mlflow.log_params({"features": ",".join(model.features), "training_rows": len(X_train),
                           "training_default_rate": round(float(np.mean(y_train)), 4)})
        mlflow.log_dict(training_statistics(X_train), "training_statistics.json")
        info = mlflow.lightgbm.log_model(
            model.booster, name="model", signature=signature, registered_model_name=MODEL_NAME,
            pip_requirements=["lightgbm", "pandas", "numpy"],
        )
    return CandidateRun(run_id=run.info.run_id, version=str(info.registered_model_version))


def log_evaluation(run_id: str, evaluation: Evaluation) -> None:
    """Add the evaluation (metrics and the slice table) to the candidate's run."""
    from inloop.tracking import client

    mlc = client()
    for key, value in evaluation.metrics().items():
        mlc.log_metric(run_id, key, value)
    mlc.log_dict(run_id, json.loads(json.dumps(evaluation.to_dict())), "evaluation.json")
    mlc.log_text(run_id, evaluation.slice_table().to_csv(index=False), "slices.csv")


def load_decision_service(policy: DecisionPolicy | None = None) -> DecisionService:
    """The decision service on the ``champion`` model and the policy file in force."""
    from inloop.tracking import load_champion

    booster, version = load_champion(MODEL_NAME, flavor="lightgbm")
    model = RiskModel(booster, tuple(booster.feature_name()))
    return DecisionService(model, policy or load_policy(), model_version=version)


def load_challenger_service(policy: DecisionPolicy | None = None) -> DecisionService | None:
    """The decision service on the ``challenger`` model (the canary), or None when there is none."""
    import mlflow

    from inloop.canary import challenger_version

    version = challenger_version(MODEL_NAME)
    if version is None:
        return None
    booster = mlflow.lightgbm.load_model(f"models:/{MODEL_NAME}/{version}")
    model = RiskModel(booster, tuple(booster.feature_name()))
    return DecisionService(model, policy or load_policy(), model_version=version)


def _champion_run(model_name: str) -> Any:
    from inloop.tracking import champion_version, client

    version = champion_version(model_name)
    if version is None:
        raise LookupError(f"no champion for {model_name}: train and promote one first")
    mlc = client()
    mv = mlc.get_model_version(model_name, version)
    return mv, mlc.get_run(mv.run_id)


def champion_training_statistics(model_name: str = MODEL_NAME) -> dict[str, Any]:
    """The statistics of the data the champion was trained on (logged with the candidate)."""
    import mlflow

    _, run = _champion_run(model_name)
    return mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/training_statistics.json")


def champion_offline_auc(model_name: str = MODEL_NAME) -> float:
    """The champion's AUC on its holdout months, as logged at evaluation."""
    _, run = _champion_run(model_name)
    return float(run.data.metrics["model_auc"])


def champion_age_days(model_name: str = MODEL_NAME, now: dt.datetime | None = None) -> tuple[str, float]:
    """(version, days since the champion version was registered)."""
    from inloop.staleness import champion_age_days as platform_age

    version, days, _ = platform_age(model_name, now)
    return version, days
