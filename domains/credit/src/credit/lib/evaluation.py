"""Evaluation: the model beside the baseline, overall and per slice, at the policy's cut-off.

Every figure is reported for the candidate *and* the logistic-regression baseline, and for each
value of every slice column (residence permit, age band, channel) next to the overall figure,
so a small group that the model treats badly is visible before promotion.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from credit.lib.decision import DecisionService
from credit.lib.features import SLICE_COLUMNS, build_features
from credit.lib.model import RiskModel
from credit.lib.policy import DecisionPolicy

__all__ = ["MIN_CLASS_COUNT", "Evaluation", "SliceRow", "evaluate_models"]

#: A slice's AUC is only reported when it has at least this many defaults and non-defaults.
MIN_CLASS_COUNT = 15


@dataclass(frozen=True)
class SliceRow:
    column: str
    value: str
    rows: int
    defaults: int
    default_rate: float
    model_auc: float | None
    baseline_auc: float | None
    model_brier: float
    approval_rate: float
    baseline_approval_rate: float


@dataclass(frozen=True)
class Evaluation:
    """The candidate's and the baseline's figures on the holdout months."""

    rows: int
    defaults: int
    model_auc: float
    baseline_auc: float
    model_brier: float
    baseline_brier: float
    approval_rate: float
    baseline_approval_rate: float
    policy_version: str
    slices: list[SliceRow] = field(default_factory=list)

    @property
    def auc_lift(self) -> float:
        return self.model_auc - self.baseline_auc

    def worst_slice(self) -> SliceRow | None:
        """The measurable slice with the lowest model AUC."""
        measurable = [s for s in self.slices if s.model_auc is not None]
        return min(measurable, key=lambda s: s.model_auc or 0.0) if measurable else None

    def slice_table(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(s) for s in self.slices])

    def metrics(self) -> dict[str, float]:
        """Flat metrics for MLflow."""
        out = {k: float(v) for k, v in asdict(self).items() if isinstance(v, int | float) and not isinstance(v, bool)}
        out["auc_lift_over_baseline"] = self.auc_lift
        worst = self.worst_slice()
        if worst is not None and worst.model_auc is not None:
            out["worst_slice_auc"] = worst.model_auc
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "auc_lift": self.auc_lift}


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    positives = int(y.sum())
    if positives < MIN_CLASS_COUNT or len(y) - positives < MIN_CLASS_COUNT:
        return None
    return float(roc_auc_score(y, p))


def _approvals(p: np.ndarray, policy: DecisionPolicy) -> np.ndarray:
    return p < policy.cutoffs.approve_below


def evaluate_models(holdout: pd.DataFrame, y: np.ndarray, model: RiskModel, baseline: Any,
                    policy: DecisionPolicy) -> Evaluation:
    """Judge ``model`` and ``baseline`` on the ``holdout`` applications (``y``: observed defaults).

    The approval rate is the model's through the real decision service and policy (hard rules,
    overrides, cut-offs; the live test set does not count); the baseline's uses the same cut-off.
    """
    X = build_features(holdout, model.features)
    p_model = model.probability(X)
    p_base = baseline.predict_proba(build_features(holdout))[:, 1]
    service = DecisionService(model, policy, model_version="candidate")
    approved = np.array([d.policy_decision == "approve" for d in service.decide_batch(holdout, log=False)])
    approved_base = _approvals(p_base, policy)

    slices = []
    for column in SLICE_COLUMNS:
        values = holdout[column].astype(str).to_numpy()
        for value in pd.unique(values):
            mask = values == value
            y_s = y[mask]
            slices.append(SliceRow(
                column=column, value=str(value), rows=int(mask.sum()), defaults=int(y_s.sum()),
                default_rate=round(float(y_s.mean()), 4),
                model_auc=_round(_auc(y_s, p_model[mask])), baseline_auc=_round(_auc(y_s, p_base[mask])),
                model_brier=round(float(brier_score_loss(y_s, p_model[mask])), 4),
                approval_rate=round(float(approved[mask].mean()), 4),
                baseline_approval_rate=round(float(approved_base[mask].mean()), 4),
            ))
    slices.sort(key=lambda s: (SLICE_COLUMNS.index(s.column), -s.rows))
    return Evaluation(
        rows=len(y), defaults=int(y.sum()),
        model_auc=round(float(roc_auc_score(y, p_model)), 4), baseline_auc=round(float(roc_auc_score(y, p_base)), 4),
        model_brier=round(float(brier_score_loss(y, p_model)), 4),
        baseline_brier=round(float(brier_score_loss(y, p_base)), 4),
        approval_rate=round(float(approved.mean()), 4), baseline_approval_rate=round(float(approved_base.mean()), 4),
        policy_version=policy.version, slices=slices,
    )


def _round(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 4)
