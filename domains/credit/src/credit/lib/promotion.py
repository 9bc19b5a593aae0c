"""The promotion gate: the card's thresholds applied to an evaluation, and the champion alias.

Each gate is one stakeholder concern from the project card (its metric and threshold live in
the card, not here): the model beats the baseline, no slice falls below the floor, and the
approval rate does not drop below today's. The Dagster checks measure the same figures with
:func:`gate_measurements`; :func:`promote_candidate` moves ``champion`` only when all pass and
otherwise records which gate refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from credit.lib.decision import MODEL_NAME
from credit.lib.evaluation import Evaluation
from inloop.cards import ProjectCard
from inloop.tracking import GateResult, PromotionDecision, promote

__all__ = ["GATES", "GateMeasurement", "gate_measurements", "promote_candidate", "promotion_gates"]

#: Gate (= the concern's check name in the card) -> concern id.
GATES: dict[str, str] = {
    "beats_baseline": "beats-baseline",
    "slices_above_floor": "small-groups",
    "approval_rate_holds": "sales-volume",
}


@dataclass(frozen=True)
class GateMeasurement:
    value: float | None
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


def gate_measurements(evaluation: Evaluation) -> dict[str, GateMeasurement]:
    """What each gate measures on ``evaluation``, by concern id."""
    worst = evaluation.worst_slice()
    unmeasured = [f"{s.column}={s.value}" for s in evaluation.slices if s.model_auc is None]
    return {
        "beats-baseline": GateMeasurement(
            round(evaluation.auc_lift, 4),
            f"model AUC {evaluation.model_auc:.4f} vs logistic-regression baseline {evaluation.baseline_auc:.4f}",
            {"model_auc": evaluation.model_auc, "baseline_auc": evaluation.baseline_auc}),
        "small-groups": GateMeasurement(
            None if worst is None else worst.model_auc,
            "no slice has enough defaults to measure" if worst is None else
            f"worst slice {worst.column}={worst.value}: AUC {worst.model_auc} on {worst.rows} applications "
            f"(baseline {worst.baseline_auc})" + (f"; too few defaults to measure: {', '.join(unmeasured)}"
                                                  if unmeasured else ""),
            {"slices": [f"{s.column}={s.value}: AUC {s.model_auc}, approval {s.approval_rate:.1%}"
                        for s in evaluation.slices]}),
        "sales-volume": GateMeasurement(
            evaluation.approval_rate,
            f"approval rate {evaluation.approval_rate:.1%} at policy {evaluation.policy_version} "
            f"(baseline at the same cut-off {evaluation.baseline_approval_rate:.1%})",
            {"baseline_approval_rate": evaluation.baseline_approval_rate}),
    }


def promotion_gates(evaluation: Evaluation, card: ProjectCard) -> list[GateResult]:
    """Each gate judged against its concern's threshold in the card."""
    measured = gate_measurements(evaluation)
    results = []
    for gate, concern_id in GATES.items():
        concern = card.concern(concern_id)
        assert concern.threshold is not None and concern.metric is not None
        m = measured[concern_id]
        passed = concern.threshold.holds(m.value)
        results.append(GateResult(gate, passed, f"{concern.metric.name} = {m.value} (needs {concern.threshold}): "
                                                f"{m.summary}"))
    return results


def promote_candidate(version: str, evaluation: Evaluation, card: ProjectCard,
                      model_name: str = MODEL_NAME) -> PromotionDecision:
    """Move ``champion`` to ``version`` if every gate passes; otherwise record which refused."""
    return promote(model_name, version, promotion_gates(evaluation, card))
