"""The credit domain's worst-case demos (``inloop demo run credit:<id>``).

Each pushes a bad case through the real system — the decision service on the MLflow champion,
the policy file, the prediction log, the Dagster monitoring assets and their concern checks —
and records what happened step by step. A demo passes only when every claim of its story held.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml

from credit.lib.data import HISTORY_MONTHS, generate_applications
from credit.lib.decision import Decision, DecisionService
from credit.lib.policy import default_policy_path, parse_policy
from inloop.demos import Demo, DemoTrace
from inloop.predictions import get_prediction

#: Live applicants the demos draw from: the first month after the history (no concept shift yet).
DEMO_MONTH = HISTORY_MONTHS
DEMO_SEED = 101


def ensure_champion(trace: DemoTrace | None = None) -> DecisionService:
    """The decision service on the champion; trains and promotes one through Dagster if there is none."""
    from credit.lib.decision import MODEL_NAME
    from credit.lib.registry import load_decision_service
    from inloop.tracking import champion_version

    if champion_version(MODEL_NAME) is None:
        import dagster as dg

        from credit.definitions import training_assets
        from credit.defs.applications import applications_match_schema
        from credit.defs.training import gate_checks

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


def _monitor(batch_id: str, observed_by: str | None = None) -> Any:
    """Run the monitoring job's assets and checks on one inbox batch, in process; ``observed_by`` reads the
    label feedback at that time (a replay of past months: once their outcomes are known)."""
    import dagster as dg

    from credit.defs.applications import loan_applications
    from credit.defs.monitoring import monitoring_assets, monitoring_checks

    ops: dict[str, Any] = {"live_applications": {"config": {"batch_id": batch_id}}}
    if observed_by is not None:
        ops |= {op: {"config": {"observed_by": observed_by}} for op in ("loan_outcomes", "live_test_set_performance")}
    return dg.materialize([loan_applications, *monitoring_assets, *monitoring_checks], raise_on_error=False,
                          run_config={"ops": ops})


def _checks(result: Any) -> dict[str, Any]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _open_alert(concern_id: str) -> Any:
    from inloop.alerts import list_alerts

    return next((a for a in list_alerts("credit", status="open") if a.concern_id == concern_id), None)


def _approval_rate(result: Any) -> float:
    decisions = result.output_for_node("live_decisions").decisions
    return sum(d.decision == "approve" for d in decisions) / len(decisions)


SEEDED_UNIT_CHANGE_POSTMORTEM = "2026-05-12-application-duration-arrived-in-milliseconds.md"


def unit_change(trace: DemoTrace) -> None:
    from credit.domain import domain
    from credit.lib.live import simulate_frontend_batch
    from inloop.settings import get_settings

    ensure_champion(trace)
    clean = simulate_frontend_batch(DEMO_MONTH, 1_000, seed=201)
    trace.step("input", f"Front-end batch {clean}: 1,000 applications, form time in seconds")
    before = _monitor(clean)
    checks = _checks(before)
    trace.step("check", "Monitoring on the normal batch",
               f"schema: {checks['live_inputs_match_schema'].passed}, drift: {checks['live_inputs_not_drifted'].passed}")
    trace.claim(checks["live_inputs_match_schema"].passed and checks["live_inputs_not_drifted"].passed,
                "a normal batch passes the schema and drift checks")

    broken = simulate_frontend_batch(DEMO_MONTH + 1, 1_000, seed=202, duration_unit="milliseconds")
    trace.step("input", f"Front-end release: batch {broken} sends application_duration_seconds in milliseconds",
               "only the web and app front end changed; partner shops and the training data still use seconds")
    after = _monitor(broken)
    checks = _checks(after)
    decided = len(after.output_for_node("live_decisions").decisions)
    trace.step("result", f"The decision service answered all {decided} applications (service health green); "
                         f"approval rate {_approval_rate(before):.1%} before, {_approval_rate(after):.1%} now")
    trace.claim(decided == 1_000, "the service stays up and decides every application: only monitoring can tell")
    schema = checks["live_inputs_match_schema"]
    trace.step("check", "Input schema check (Great Expectations)", str(schema.metadata["summary"].value),
               passed=schema.passed)
    trace.claim(not schema.passed and "application_duration_seconds" in schema.metadata["summary"].value,
                "the input schema check fails on the first batch, naming application_duration_seconds")
    drift = after.output_for_node("live_input_drift")
    trace.step("check", "Drift report (Evidently, one pinned PSI test per column)", drift.describe(),
               report=drift.report_path, drifted=drift.drifted_columns)
    trace.claim(drift.drifted_columns == ["application_duration_seconds"],
                "the drift report flags exactly that column", drifted=drift.drifted_columns)
    alert = _open_alert("live-input-schema")
    trace.claim(alert is not None and broken in alert.message, "an alert is open for the live-input-schema "
                "concern, naming the batch", alert=None if alert is None else alert.id)
    if alert is None:
        return
    trace.step("notify", f"Alert #{alert.id} ({alert.severity}) to {', '.join(alert.routes)}: {alert.title}",
               alert.message[:400])

    from inloop.incidents.drafts import draft_from_alert, draft_path, write_draft
    from inloop.incidents.postmortems import link_evidence

    drafts = get_settings().domain_dir("credit") / "postmortem-drafts"
    draft = draft_from_alert(alert.id, authors=["ML platform on-call engineer"])
    path = write_draft(draft, draft_path(draft, drafts))
    trace.step("action", "Post-mortem draft from the alert, facts pre-filled", str(path),
               facts=[f.description[:120] for f in draft.facts])
    trace.claim(any(f.kind == "check_result" for f in draft.facts) and any(f.kind == "alert" for f in draft.facts),
                "the post-mortem draft starts from the facts: the alert and the failed check")

    # The seeded post-mortem of the real incident had its evidence pending: link this run's evidence.
    check_fact = next(f for f in draft.facts if f.kind == "check_result" and "live_inputs_match_schema" in f.description)
    request_ids = [d.request_id for d in after.output_for_node("live_decisions").decisions[:1]] + \
                  [d.request_id for d in before.output_for_node("live_decisions").decisions[:1]]
    links = {"F1": check_fact.ref, "F2": f"file:{drift.report_path}",
             "F3": " ".join(f"request:{r}" for r in request_ids)}
    out, completed = link_evidence(domain.postmortems_dir / SEEDED_UNIT_CHANGE_POSTMORTEM, links, drafts)
    trace.step("action", "Seeded post-mortem's pending evidence linked to this run", str(out), links=links)
    trace.claim(all(f.status == "linked" for f in completed.facts if f.id in links),
                "the seeded unit-change post-mortem's evidence F1-F3 is linked (check, drift report, logged requests)")


def silent_degradation(trace: DemoTrace) -> None:
    from credit.defs.card import credit_card
    from credit.lib.data import SHIFT_START_MONTH, month_start
    from credit.lib.live import simulate_frontend_batch

    service = ensure_champion(trace)
    months = list(range(SHIFT_START_MONTH, SHIFT_START_MONTH + 4))
    batch = simulate_frontend_batch(months, 12_000, seed=303)
    trace.step("input", f"Four months of live applications ({batch}), after the applicants' behaviour changed",
               "rates went up: running credits weigh more, income protects less, fast partner-shop forms go bad, "
               "and a cost-of-living shock hits households in ways no application field shows")
    # Read a year after the last of the four months: every outcome is known by then (the card's label delay),
    # also while a running world's clock is still early in its simulated year.
    known = dt.datetime.combine(month_start(months[-1] + 1), dt.time(), tzinfo=dt.UTC) + dt.timedelta(
        days=credit_card().labels.delay_days)  # type: ignore[union-attr]
    trace.step("input", "A year later: core banking has reported the outcomes of the granted loans",
               f"label feedback read as of {known:%Y-%m-%d}, {credit_card().labels.delay_days} days "  # type: ignore[union-attr]
               "after the last application")
    result = _monitor(batch, observed_by=known.isoformat())
    checks = _checks(result)
    decisions = result.output_for_node("live_decisions").decisions
    trace.step("result", f"All {len(decisions)} applications decided by v{service.model_version}; "
                         f"{sum(d.live_test_set for d in decisions)} in the live test set")
    green = all(checks[name].passed for name in ("live_inputs_match_schema", "live_inputs_not_drifted",
                                                 "rejections_have_reasons", "decision_policy_valid"))
    trace.claim(len(decisions) == 12_000 and green,
                "service health is green: every application decided, inputs valid, no input drift, reasons given")
    perf_check = checks.get("live_test_set_performance")
    trace.claim(perf_check is not None, "the live test set has enough outcomes to judge the model")
    if perf_check is None:
        return
    trace.step("check", "Live-test-set performance vs offline", str(perf_check.metadata["summary"].value),
               passed=perf_check.passed)
    trace.claim(not perf_check.passed, "the model's AUC on the live test set fell more than the card allows")
    alert = _open_alert("live-performance")
    trace.claim(alert is not None, "an alert is open for the live-performance concern")
    if alert is not None:
        trace.step("notify", f"Alert #{alert.id} ({alert.severity}) to {', '.join(alert.routes)}", alert.message)


def bad_model_refused(trace: DemoTrace) -> None:
    import dagster as dg

    from credit.definitions import training_assets
    from credit.defs.applications import applications_match_schema
    from credit.defs.training import gate_checks
    from credit.lib.decision import MODEL_NAME
    from inloop.tracking import champion_version, client

    ensure_champion(trace)
    before = champion_version(MODEL_NAME)
    trace.step("input", "A candidate trained without the applicant's income (a broken feature export)",
               "the training sets drop income_monthly_eur and the burden derived from it")
    result = dg.materialize(
        [*training_assets, applications_match_schema, *gate_checks], raise_on_error=False,
        run_config={"ops": {"training_sets": {"config": {"drop_features": ["income_monthly_eur", "burden"]}}}})
    evaluation = result.output_for_node("model_evaluation")
    trace.step("result", f"Candidate AUC {evaluation.model_auc:.3f} vs logistic-regression baseline "
                         f"{evaluation.baseline_auc:.3f}")
    failed = sorted(e.check_name for e in result.get_asset_check_evaluations() if not e.passed)
    trace.step("check", "Promotion gate (blocking checks)", f"failed: {', '.join(failed) or 'none'}")
    trace.claim("beats_baseline" in failed, "the gate refuses the candidate and names the gate: beats_baseline")
    candidate = result.output_for_node("risk_model_candidate")
    tags = client().get_model_version(MODEL_NAME, candidate.version).tags
    trace.claim(tags.get("inloop.promotion") == "refused"
                and "beats_baseline" in tags.get("inloop.promotion_refused_by", ""),
                f"MLflow records the refusal on version {candidate.version}",
                refused_by=tags.get("inloop.promotion_refused_by"))
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    trace.claim("champion_model" not in materialized and champion_version(MODEL_NAME) == before,
                f"the promotion step never ran: the champion stays version {before}")
    alert = _open_alert("beats-baseline")
    trace.claim(alert is not None, "an alert tells the team why the promotion was refused")
    if alert is not None:
        trace.step("notify", f"Alert #{alert.id} to {', '.join(alert.routes)}", alert.message)


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
    "unit-change": Demo(
        id="unit-change",
        title="A feature's unit changes on the live path only: seconds become milliseconds",
        story=("A front-end release starts sending the time spent on the form in milliseconds; the training data "
               "still has seconds. The model keeps answering and the service is green, but the input schema check "
               "fails on the first batch, the drift report flags exactly that column, an alert opens, and a "
               "post-mortem draft starts with the facts."),
        run=unit_change,
        concerns=("live-input-schema", "live-input-drift"),
    ),
    "silent-degradation": Demo(
        id="silent-degradation",
        title="Up and green, but predicting worse: the live test set catches a concept shift",
        story=("Applicants change after the model was trained (the concept shift in the later months). Inputs look "
               "normal and every decision is made, so service health stays green; the live test set, where model "
               "rejections are not applied, shows the model's AUC falling below its offline figure and an alert opens."),
        run=silent_degradation,
        concerns=("live-performance",),
    ),
    "bad-model-refused": Demo(
        id="bad-model-refused",
        title="A worse model never reaches applicants: the promotion gate refuses it and says why",
        story=("A candidate is trained without the applicant's income. It still trains and scores, but the "
               "promotion gate compares it with the logistic-regression baseline on the same held-out months, "
               "refuses it, names the failing gate in MLflow and in an alert, and the champion stays."),
        run=bad_model_refused,
        concerns=("beats-baseline",),
    ),
}
