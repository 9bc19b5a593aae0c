"""The credit domain's worst-case demos (``inloop demo run credit:<id>``).

Each pushes a bad case through the real system — the decision service on the MLflow champion,
the policy file, the prediction log, the Dagster monitoring assets and their concern checks —
and records what happened step by step. A demo passes only when every claim of its story held.
"""

from __future__ import annotations

from typing import Any

import yaml
from inloop.demos import Demo, DemoTrace
from inloop.predictions import get_prediction

from credit.lib.data import HISTORY_MONTHS, generate_applications
from credit.lib.decision import Decision, DecisionService
from credit.lib.policy import default_policy_path, parse_policy

#: Live applicants the demos draw from: the first month after the history (no concept shift yet).
DEMO_MONTH = HISTORY_MONTHS
DEMO_SEED = 101


def ensure_champion(trace: DemoTrace | None = None) -> DecisionService:
    """The decision service on the champion; trains and promotes one through Dagster if there is none."""
    from inloop.tracking import champion_version

    from credit.lib.decision import MODEL_NAME
    from credit.lib.registry import load_decision_service

    if champion_version(MODEL_NAME) is None:
        import dagster as dg

        from credit.defs.applications import applications_match_schema
        from credit.defs.training import gate_checks
        from credit.definitions import training_assets

        if trace:
            trace.step("action", "No champion model yet: running the training pipeline",
                       "history -> schema check -> LightGBM + baseline -> evaluation -> promotion gate")
        result = dg.materialize([*training_assets, applications_match_schema, *gate_checks], raise_on_error=False)
        if not result.success:
            raise RuntimeError("the training pipeline failed, so there is no champion to demo with")
    service = load_decision_service()
    if trace:
        trace.step("info", f"Champion {service.model_name} v{service.model_version}, policy {service.policy.version}")
    return service


def _reason_texts(decision: Decision) -> list[str]:
    return [r.text for r in decision.reasons]


def why_rejected(trace: DemoTrace) -> None:
    service = ensure_champion(trace)
    batch = generate_applications(3_000, seed=DEMO_SEED, months=[DEMO_MONTH])
    temporary = batch[batch["residence_permit"].astype(str) == "temporary"]
    decisions = service.decide_batch(temporary, log=False)
    # Someone like the colleague refused a phone: rejected by the model, with the permit among the reasons.
    candidates = [d for d in decisions if d.policy_decision == "reject" and not d.live_test_set
                  and d.hard_rule is None and any(r.code == "residence_permit" for r in d.reasons)]
    trace.claim(bool(candidates), "a rejected applicant on a temporary residence permit exists in the live batch",
                temporary_applicants=len(temporary), rejected_with_permit_reason=len(candidates))
    if not candidates:
        return
    # Prefer the one whose permit weighs most: the story of the permit as "the strongest feature".
    chosen = max(candidates, key=lambda d: next(r.contribution for r in d.reasons if r.code == "residence_permit"))
    application: dict[str, Any] = temporary.set_index("application_id").loc[chosen.application_id].to_dict()
    application["application_id"] = chosen.application_id
    trace.step("input", f"Application {chosen.application_id}: temporary residence permit, "
                        f"{application['channel']} channel, EUR {application['loan_amount_eur']:,.0f}",
               application={k: str(v) for k, v in application.items()})

    first = service.decide(application)
    trace.step("result", f"Decision: {first.decision} (probability of default {first.probability_of_default:.1%}, "
                         f"policy {first.policy_version})", "; ".join(_reason_texts(first)),
               request_id=first.request_id, reasons=_reason_texts(first))
    trace.claim(first.decision == "reject", "the applicant is rejected under the current policy")
    trace.claim(any("Temporary residence permit" in t for t in _reason_texts(first)),
                "the reason codes name the residence permit, in plain words", reasons=_reason_texts(first))

    # Credit Risk edits the policy file: a temporary permit alone is no reason to reject.
    data = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    data["version"] = f"{data['version']}+permit-override"
    data["overrides"] = [*(data.get("overrides") or []), {
        "id": "permit-alone-is-no-reason",
        "description": "A temporary residence permit alone is never a reason to reject: decide as if it were unknown.",
        "when": [{"feature": "residence_permit", "op": "in", "value": ["temporary"]}],
        "ignore_feature": "residence_permit",
    }]
    new_policy = parse_policy(yaml.safe_dump(data, sort_keys=False), "policy.yaml (Credit Risk's edit)")
    trace.step("action", f"Credit Risk changes the policy to {new_policy.version}: "
                         "'a temporary residence permit alone is never a reason to reject'",
               "the model is not retrained: same model version, new policy version")

    second = service.with_policy(new_policy).decide(application)
    trace.step("result", f"Decision: {second.decision} (probability of default {second.probability_of_default:.1%}, "
                         f"policy {second.policy_version})", "; ".join(_reason_texts(second)),
               request_id=second.request_id, overrides=second.overrides)
    trace.claim(second.decision != "reject", "the policy change alone changes the decision",
                before=first.decision, after=second.decision)
    trace.claim(not any(r.code == "residence_permit" for r in second.reasons),
                "the permit is no longer given as a reason", reasons=_reason_texts(second))
    logged_first, logged_second = get_prediction(first.request_id or ""), get_prediction(second.request_id or "")
    trace.step("check", "Both decisions in the prediction log",
               f"{logged_first.request_id}: policy {logged_first.policy_version}, model v{logged_first.model_version}; "
               f"{logged_second.request_id}: policy {logged_second.policy_version}, model v{logged_second.model_version}")
    trace.claim(logged_first.policy_version == first.policy_version
                and logged_second.policy_version == new_policy.version
                and logged_first.model_version == logged_second.model_version,
                "the log names each decision's policy version, and the model version is unchanged")


DEMOS: dict[str, Demo] = {
    "why-rejected": Demo(
        id="why-rejected",
        title="Why was I rejected? A temporary permit, reason codes, and a policy change without retraining",
        story=("An applicant who just moved here on a temporary residence permit is rejected. The decision names "
               "its reasons in plain words, the permit among them. Credit Risk decides a temporary permit alone is "
               "no reason to reject and edits the policy file; the same model now decides differently, and the "
               "prediction log shows both decisions with their policy versions."),
        run=why_rejected,
        concerns=("rejection-reasons", "change-logic-without-retraining", "small-groups"),
    ),
}
