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


def _interval(low: float | None, high: float | None) -> str:
    return f" [90 % CI {low:.3f}..{high:.3f}]" if low is not None and high is not None else ""


def gate_measurements(evaluation: Evaluation) -> dict[str, GateMeasurement]:
    """What each gate measures on ``evaluation``, by concern id.

    Figures carry their bootstrap 90 % intervals. A slice too small to judge (too few defaults or
    non-defaults) makes the slice gate's value None, so it refuses and says which slices and why:
    a floor that cannot be judged is not passed by noise.
    """
    worst = evaluation.worst_slice()
    unjudgeable = evaluation.unjudgeable_slices()
    if unjudgeable:
        small_groups = GateMeasurement(
            None, "cannot judge the slice floor for lack of rows: "
            + "; ".join(s.why_not_judgeable() for s in unjudgeable)
            + (f" (worst judgeable slice {worst.column}={worst.value}: AUC {worst.model_auc}"
               f"{_interval(worst.model_auc_low, worst.model_auc_high)})" if worst is not None else ""),
            {"unjudgeable": [s.why_not_judgeable() for s in unjudgeable]})
    else:
        assert worst is not None  # every slice judgeable, and there is at least one
        small_groups = GateMeasurement(
            worst.model_auc,
            f"worst slice {worst.column}={worst.value}: AUC {worst.model_auc}"
            f"{_interval(worst.model_auc_low, worst.model_auc_high)} on {worst.rows} applications "
            f"(baseline {worst.baseline_auc})", {})
    small_groups.details["slices"] = [
        f"{s.column}={s.value}: AUC {s.model_auc}{_interval(s.model_auc_low, s.model_auc_high)}, "
        f"approval {s.approval_rate:.1%}" for s in evaluation.slices]
    return {
        "beats-baseline": GateMeasurement(
            round(evaluation.auc_lift, 4),
            f"model AUC {evaluation.model_auc:.4f}{_interval(evaluation.model_auc_low, evaluation.model_auc_high)} "
            f"vs logistic-regression baseline {evaluation.baseline_auc:.4f}; lift "
            f"{evaluation.auc_lift:+.4f}{_interval(evaluation.auc_lift_low, evaluation.auc_lift_high)} "
            f"on {evaluation.rows} held-out applications",
            {"model_auc": evaluation.model_auc, "baseline_auc": evaluation.baseline_auc,
             "auc_lift_interval": [evaluation.auc_lift_low, evaluation.auc_lift_high]}),
        "small-groups": small_groups,
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
        summary = m.summary
        interval = m.details.get("auc_lift_interval")
        if interval and None not in interval and concern.threshold.holds(interval[0]) != concern.threshold.holds(
                interval[1]):
            # Small data: say when the verdict rests on the point estimate alone.
            summary += (f"; the 90 % interval straddles {concern.threshold}, so on these rows the verdict is "
                        "not distinguishable from noise")
        results.append(GateResult(gate, passed, f"{concern.metric.name} = {m.value} (needs {concern.threshold}): "
                                                f"{summary}"))
    return results


def promote_candidate(version: str, evaluation: Evaluation, card: ProjectCard,
                      model_name: str = MODEL_NAME) -> PromotionDecision:
    """Move ``champion`` to ``version`` if every gate passes; otherwise record which refused."""
    return promote(model_name, version, promotion_gates(evaluation, card))
