"""Re-run a logged credit decision on another model version (the incidents' replay hook)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from credit.lib.decision import MODEL_NAME, DecisionService
from credit.lib.model import RiskModel
from credit.lib.policy import load_policy
from inloop.predictions import PredictionEntry


def rerun(record: PredictionEntry, against: str) -> dict[str, Any]:
    """Decide the logged application again with model ``against`` (alias or version) and today's policy."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from inloop.tracking import client

    mlc = client()  # points MLflow at the settings' tracking URI
    try:
        version = (mlc.get_model_version_by_alias(MODEL_NAME, against).version if not against.isdigit()
                   else mlc.get_model_version(MODEL_NAME, against).version)
    except MlflowException:
        raise LookupError(f"{MODEL_NAME} has no version or alias {against!r}") from None
    booster = mlflow.lightgbm.load_model(f"models:/{MODEL_NAME}/{version}")
    policy = load_policy()
    service = DecisionService(RiskModel(booster, tuple(booster.feature_name())), policy, model_version=str(version))
    decision = service.decide_batch(pd.DataFrame([record.features]), log=False)[0]
    notes = None
    if record.policy_version != policy.version:
        notes = f"re-run under the policy in force now ({policy.version}); logged under {record.policy_version}"
    return {"output": decision.output(), "model_version": str(version), "model_name": MODEL_NAME,
            "policy_version": policy.version, "notes": notes}
