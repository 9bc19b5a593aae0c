"""Monitoring the live path: each front-end batch is decided, checked, compared and fed back.

live_applications -> schema check (GX) and drift report (Evidently, per column) against the
history; decision_policy -> validity check (blocking); live_decisions (champion + policy, every
decision logged) -> reasons and staleness checks; loan_outcomes (label feedback: core banking reports
an outcome only the card's label delay after the application) -> live_test_set_performance (AUC on the
live test set's arrived outcomes against the champion's offline AUC); performance_before_labels (per
recent month, AUC and default rate estimated from the champion's confidence, CBPE, beside the realised
figures as the outcomes land). Every monitor counts only labels observed by the simulated now.
"""

# No `from __future__ import annotations` here: Dagster resolves Config annotations at runtime.
import datetime as dt
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd
from sklearn.metrics import roc_auc_score

from credit.defs.card import credit_card
from credit.lib.data import HISTORY_MONTHS, MODEL_INPUTS
from credit.lib.decision import Decision
from credit.lib.live import (
    SERVED_BATCH_PREFIX,
    batch_from_prediction_log,
    claim_batch,
    deliver_due_outcomes,
    inbox_dir,
    is_claimed,
    latest_batch_id,
    live_test_set_outcomes,
    read_batch,
    record_outcomes,
    simulate_frontend_batch,
)
from credit.lib.offline_online import AucRelation, relation_from_log
from credit.lib.performance import MonthlyPerformance, monthly_performance
from credit.lib.policy import PolicyError, default_policy_path, load_policy
from credit.lib.registry import (
    champion_offline_auc,
    champion_training_statistics,
    load_decision_service,
)
from credit.lib.schema import check_schema, rows_breaking
from inloop.cards import LabelFeedback
from inloop.checks import Measurement, concern_check
from inloop.drift import DriftSummary, drift_report
from inloop.settings import get_settings
from inloop.world import simulated_now

#: A live batch at demo scale 1 (about a day of applications).
DEFAULT_BATCH_SIZE = 2_000
#: The live test set's AUC is judged on its most recent outcomes (a rolling window, so an old
#: good period cannot hide a new bad one), once they hold enough defaults and non-defaults.
LIVE_TEST_WINDOW = 200
MIN_LIVE_TEST_OUTCOMES = 30


@dataclass
class LiveBatch:
    batch_id: str
    applications: pd.DataFrame


@dataclass
class PolicyStatus:
    path: str
    version: str | None
    problems: list[str] = field(default_factory=list)


@dataclass
class LiveDecisions:
    batch_id: str
    decisions: list[Decision]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([{**d.output(), "request_id": d.request_id, "reasons": len(d.reasons)}
                             for d in self.decisions])


@dataclass
class LivePerformance:
    model_version: str
    outcomes: int
    defaults: int
    live_auc: float
    offline_auc: float

    @property
    def gap(self) -> float:
        return self.offline_auc - self.live_auc


class LiveBatchConfig(dg.Config):
    """Which inbox batch to process (default: the newest; an empty inbox gets a simulated one)."""

    batch_id: str | None = None


@dg.asset(group_name="credit_monitoring")
def live_applications(context: dg.AssetExecutionContext, config: LiveBatchConfig) -> LiveBatch:
    """A batch of live loan applications as the front end sent them (inputs only)."""
    batch_id = config.batch_id or latest_batch_id()
    if batch_id is None:
        size = max(100, round(DEFAULT_BATCH_SIZE * get_settings().demo_data_scale))
        # Claimed before it lands in the inbox: the inbox sensor must not monitor it a second time.
        batch_id = simulate_frontend_batch(HISTORY_MONTHS, size, claimed=True)
        context.log.info(f"the inbox {inbox_dir()} was empty: simulated front-end batch {batch_id}")
    frame = read_batch(batch_id)
    claim_batch(batch_id)
    context.add_output_metadata({"batch_id": batch_id, "rows": len(frame),
                                 "median_application_duration_seconds":
                                     float(frame["application_duration_seconds"].median())})
    return LiveBatch(batch_id, frame)


def _measure_live_schema(batch: LiveBatch) -> Measurement:
    """Domain rules per row, plus batch medians against the champion's training statistics."""
    try:
        statistics = champion_training_statistics()
    except LookupError:
        statistics = None  # no champion yet: the domain rules alone
    summary = check_schema(batch.applications, statistics=statistics)
    return Measurement(rows_breaking(summary), f"batch {batch.batch_id}: {summary.describe_failures()}",
                       {"batch_id": batch.batch_id, "rows": summary.rows,
                        "rows_breaking": len(summary.failing_row_indices),
                        "failed_expectations": {o.description: o.unexpected_count for o in summary.failed}})


live_inputs_match_schema = concern_check(credit_card(), "live-input-schema", asset=live_applications,
                                         measure=_measure_live_schema)


@dg.asset(group_name="credit_monitoring")
def live_input_drift(context: dg.AssetExecutionContext, live_applications: LiveBatch,
                     loan_applications: pd.DataFrame) -> DriftSummary:
    """Per-column drift of the batch's model inputs against the history (Evidently, PSI pinned)."""
    # An input the history's source does not have (declared absent in the card's mapping) has no reference.
    inputs = [c for c in MODEL_INPUTS if loan_applications[c].notna().any()]
    summary = drift_report(loan_applications, live_applications.applications, columns=inputs,
                           name=f"credit-{live_applications.batch_id}")
    context.add_output_metadata({
        "drifted_columns": ", ".join(summary.drifted_columns) or "none",
        "report": dg.MetadataValue.path(summary.report_path or ""),
        "scores": dg.MetadataValue.json({c.column: c.score for c in summary.columns}),
    })
    return summary


def _measure_drift(summary: DriftSummary) -> Measurement:
    return Measurement(float(summary.drifted_count), summary.describe(),
                       {"drifted_columns": summary.drifted_columns,
                        "scores": {c.column: c.score for c in summary.columns}},
                       evidence_url=f"file://{summary.report_path}" if summary.report_path else None)


live_inputs_not_drifted = concern_check(credit_card(), "live-input-drift", asset=live_input_drift,
                                        measure=_measure_drift)


@dg.asset(group_name="credit_monitoring")
def decision_policy(context: dg.AssetExecutionContext) -> PolicyStatus:
    """The decision policy file Credit Risk edits, as the decision service will read it."""
    path = default_policy_path()
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        context.log.error(str(exc))
        return PolicyStatus(str(path), None, exc.problems)
    context.add_output_metadata({"version": policy.version, "approve_below": policy.cutoffs.approve_below,
                                 "reject_from": policy.cutoffs.reject_from,
                                 "overrides": ", ".join(o.id for o in policy.overrides) or "none"})
    return PolicyStatus(str(path), policy.version)


decision_policy_valid = concern_check(
    credit_card(), "change-logic-without-retraining", asset=decision_policy,
    measure=lambda status: Measurement(float(len(status.problems)),
                                       f"policy {status.version} in force" if not status.problems else
                                       f"{status.path}: " + "; ".join(status.problems),
                                       {"problems": status.problems, "version": status.version}),
)


# After the policy check (blocking) and, when both run together, after a new champion was promoted.
@dg.asset(group_name="credit_monitoring", deps=[decision_policy, "champion_model", "model_staleness_curve"])
def live_decisions(context: dg.AssetExecutionContext, live_applications: LiveBatch) -> LiveDecisions:
    """Every application of the batch decided by the champion under the policy, each one logged."""
    service = load_decision_service()
    decisions = service.decide_batch(live_applications.applications)
    frame = pd.Series([d.decision for d in decisions])
    context.add_output_metadata({
        "batch_id": live_applications.batch_id, "model_version": service.model_version,
        "policy_version": service.policy.version, "decisions": len(decisions),
        "approval_rate": float((frame == "approve").mean()),
        "model_approval_rate": float(pd.Series([d.policy_decision == "approve" for d in decisions]).mean()),
        "live_test_set": sum(d.live_test_set for d in decisions),
    })
    return LiveDecisions(live_applications.batch_id, decisions)


def _measure_reasons(batch: LiveDecisions) -> Measurement:
    adverse = [d for d in batch.decisions if d.decision != "approve" or d.policy_decision != "approve"]
    missing = [d for d in adverse if not d.reasons]
    share = len(missing) / len(adverse) if adverse else 0.0
    return Measurement(share, f"{len(missing)} of {len(adverse)} rejections or referrals carry no reason",
                       {"request_ids": [d.request_id for d in missing[:20]], "adverse_decisions": len(adverse)})


rejections_have_reasons = concern_check(credit_card(), "rejection-reasons", asset=live_decisions,
                                        measure=_measure_reasons)


def _measure_staleness(batch: LiveDecisions) -> Measurement:
    """The champion's age against the age limit its staleness curve implies (the card's value caps it)."""
    from credit.lib.decision import MODEL_NAME
    from inloop.staleness import champion_age_days, derived_threshold, logged_staleness_limit

    version, days, run_id = champion_age_days(MODEL_NAME)
    limit = logged_staleness_limit(run_id)
    ceiling = credit_card().concern("model-staleness").threshold
    assert ceiling is not None
    threshold = derived_threshold(limit, ceiling)
    used = {d.model_version for d in batch.decisions}
    basis = (f"limit {threshold.value:g} days (curve {limit:g}, card ceiling {ceiling.value:g})" if threshold
             else f"no staleness curve logged for v{version}: the card's {ceiling.value:g} days")
    return Measurement(round(days, 3), f"champion v{version} was registered {days:.1f} days ago; {basis}",
                       {"champion_version": version, "versions_used": sorted(used),
                        "curve_limit_days": limit, "card_ceiling_days": ceiling.value}, threshold=threshold)


champion_not_stale = concern_check(credit_card(), "model-staleness", asset=live_decisions,
                                   measure=_measure_staleness)


class LabelsConfig(dg.Config):
    """When the label feedback is read: by default the simulated now (the wall clock when no world runs).
    A replay of past months sets the time their outcomes are known by (ISO 8601 with a time zone)."""

    observed_by: str | None = None


def observed_by(config: LabelsConfig) -> dt.datetime:
    """The config's time, or the simulated now; a bad time is refused with the reason."""
    if config.observed_by is None:
        return simulated_now()
    try:
        when = dt.datetime.fromisoformat(config.observed_by)
    except ValueError:
        raise ValueError(f"observed_by {config.observed_by!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise ValueError(f"observed_by {config.observed_by!r} needs a time zone (e.g. +00:00)")
    return when


@dg.asset(group_name="credit_monitoring")
def loan_outcomes(context: dg.AssetExecutionContext, config: LabelsConfig, live_decisions: LiveDecisions) -> int:
    """Label feedback: the batch's granted loans go to core banking's feed; the outcomes known by now (the
    card's label delay after each application, on the simulated clock) land in the label table."""
    delay, now = label_feedback().delay_days, observed_by(config)
    recorded = record_outcomes(live_decisions.batch_id, live_decisions.decisions, delay_days=delay, now=now)
    earlier = deliver_due_outcomes(now)  # earlier batches' outcomes that have come due since
    context.add_output_metadata({"outcomes_recorded": recorded, "earlier_outcomes_recorded": earlier,
                                 "label_delay_days": delay, "observed_by": now.isoformat()})
    return recorded + earlier


def label_feedback() -> LabelFeedback:
    """The card's label feedback (name and delay): required for credit's late labels."""
    labels = credit_card().labels
    if labels is None:
        raise ValueError("the credit card has no `labels:` section (label name and delay_days)")
    return labels


def _log_offline_online_relation(context: dg.AssetExecutionContext, champion: str,
                                 now: dt.datetime) -> AucRelation | None:
    """Offline vs live-test-set AUC of every version that served, logged with the champion's MLflow run."""
    from credit.lib.decision import MODEL_NAME
    from inloop import tracking

    threshold = credit_card().concern("live-performance").threshold
    assert threshold is not None
    found = relation_from_log(threshold.value, min_each=MIN_LIVE_TEST_OUTCOMES, observed_by=now)
    if found is None:
        return None
    client = tracking.client()
    client.log_dict(client.get_model_version(MODEL_NAME, champion).run_id, found.to_dict(),
                    "evaluation/offline_online_auc.json")
    context.log.info(f"offline vs live-test-set AUC per model version: {found.describe()}")
    return found


@dg.asset(group_name="credit_monitoring", deps=[loan_outcomes], output_required=False)
def live_test_set_performance(context: dg.AssetExecutionContext, config: LabelsConfig):  # type: ignore[no-untyped-def]
    """The champion's AUC on the live test set's outcomes beside its offline AUC (once there are enough)."""
    from credit.lib.decision import MODEL_NAME
    from inloop.tracking import champion_version

    version = str(champion_version(MODEL_NAME))
    now = observed_by(config)
    found = _log_offline_online_relation(context, version, now)
    outcomes = live_test_set_outcomes(version, last=LIVE_TEST_WINDOW, observed_by=now)
    defaults = int(outcomes["defaulted"].sum())
    if min(defaults, len(outcomes) - defaults) < MIN_LIVE_TEST_OUTCOMES:
        context.log.info(f"live test set of v{version}: {len(outcomes)} outcomes, {defaults} defaults; "
                         f"waiting for {MIN_LIVE_TEST_OUTCOMES} of each before judging its AUC")
        return
    live_auc = float(roc_auc_score(outcomes["defaulted"], outcomes["probability_of_default"]))
    perf = LivePerformance(version, len(outcomes), defaults, round(live_auc, 4), champion_offline_auc())
    if found is not None:
        context.add_output_metadata({"offline_vs_live_auc": found.describe(),
                                     "offline_vs_live_auc_pairs": dg.MetadataValue.json(found.to_dict())})
    context.add_output_metadata({"live_auc": perf.live_auc, "offline_auc": perf.offline_auc,
                                 "outcomes": perf.outcomes, "defaults": perf.defaults})
    yield dg.Output(perf)


live_test_set_performance_check = concern_check(
    credit_card(), "live-performance", asset=live_test_set_performance,
    measure=lambda perf: Measurement(round(perf.gap, 4),
                                     f"live-test-set AUC {perf.live_auc:.3f} on {perf.outcomes} outcomes "
                                     f"({perf.defaults} defaults) vs offline AUC {perf.offline_auc:.3f} "
                                     f"(champion v{perf.model_version})",
                                     {"live_auc": perf.live_auc, "offline_auc": perf.offline_auc,
                                      "outcomes": perf.outcomes}),
)

@dg.asset(group_name="credit_monitoring", deps=[loan_outcomes], output_required=False)
def performance_before_labels(context: dg.AssetExecutionContext):  # type: ignore[no-untyped-def]
    """Per recent month of granted loans: AUC and default rate estimated from the champion's probability of
    default (CBPE), beside the realised figures from the outcomes arrived by the simulated now."""
    from credit.lib.decision import MODEL_NAME
    from inloop.tracking import champion_version

    version, now = str(champion_version(MODEL_NAME)), simulated_now()
    # Core banking's feed for inbox batches catches up here too: this runs with every served batch, while a
    # front-end batch (the first run's) may be the last loan_outcomes run for a long time.
    fed = deliver_due_outcomes(now)
    found = monthly_performance(version, label_name=label_feedback().name, now=now)
    context.add_output_metadata({
        "now": found.now.isoformat(), "model_version": version, "inbox_outcomes_recorded": fed,
        "months": dg.MetadataValue.md(_months_table(found)),
        "estimates": dg.MetadataValue.json(found.table()),
    })
    if not found.judged("auc") and not found.judged("rate"):
        # Not a failure: nothing recent to judge (a fresh install, or a replay of months long past).
        context.log.info(f"v{version} has no recent month (of {len(found.months)}) with {found.min_loans} granted "
                         f"loans{'' if found.reference else ' and no reference month'}: nothing to judge")
        return
    yield dg.Output(found)


def _months_table(found: MonthlyPerformance) -> str:
    def show(value: float | None, pct: bool = False) -> str:
        return "-" if value is None else f"{value:.1%}" if pct else f"{value:.3f}"

    lines = ["| month | loans | est. AUC | realised AUC | est. default rate | realised default rate | labelled |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.period} | {r.predictions} | {show(r.estimated_auc)} | {show(r.realised_auc)} | "
              f"{show(r.estimated_rate, True)} | {show(r.realised_rate, True)} | {r.label_coverage:.0%} |"
              for r in found.months]
    return "\n".join(lines)


def measure_before_labels(found: MonthlyPerformance, metric: str) -> Measurement:
    """The worst recent month: its estimate against the realised figure once labelled, else the reference."""
    name = "AUC" if metric == "auc" else "default rate"
    worst = found.worst(metric)
    reference = found.reference.period if found.reference else "-"
    summary = (f"no month with {found.min_loans} granted loans yet" if worst is None else
               worst.describe(name) + f" (v{found.model_version}; reference month {reference}, "
               f"judged: {', '.join(j.period + '/' + j.against for j in found.judged(metric))})")
    return Measurement(None if worst is None else worst.value, summary,
                       {"now": found.now.isoformat(), "reference_month": reference,
                        "judged": [vars(j) for j in found.judged(metric)], "months": found.table()})


performance_before_labels_check = concern_check(
    credit_card(), "performance-before-labels", asset=performance_before_labels,
    measure=lambda found: measure_before_labels(found, "auc"))
default_rate_before_labels_check = concern_check(
    credit_card(), "default-rate-before-labels", asset=performance_before_labels,
    measure=lambda found: measure_before_labels(found, "rate"))

monitoring_assets = [live_applications, live_input_drift, decision_policy, live_decisions, loan_outcomes,
                     live_test_set_performance, performance_before_labels]
monitoring_checks = [live_inputs_match_schema, live_inputs_not_drifted, decision_policy_valid,
                     rejections_have_reasons, champion_not_stale, live_test_set_performance_check,
                     performance_before_labels_check, default_rate_before_labels_check]


# Running by default: the live-input concerns are only checked when a batch is monitored.
@dg.sensor(job_name="monitor_live_batch", minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING)
def credit_inbox_sensor(context: dg.SensorEvaluationContext):  # type: ignore[no-untyped-def]
    """Starts the monitoring job once for every new batch the front end drops into the inbox."""
    seen = set((context.cursor or "").split(",")) - {""}
    # Batches built from the prediction log were decided when served: the served-decisions sensor has them.
    # A batch a monitoring run claimed itself (the first run's simulated batch) is already monitored.
    new = sorted(p.stem for p in inbox_dir().glob("*.parquet")
                 if p.stem not in seen and not p.stem.startswith(SERVED_BATCH_PREFIX) and not is_claimed(p.stem)
                 ) if inbox_dir().is_dir() else []
    for batch_id in new:
        yield dg.RunRequest(run_key=batch_id, run_config={"ops": {"live_applications": {"config": {
            "batch_id": batch_id}}}})
    if new:
        context.update_cursor(",".join(sorted(seen | set(new))))


#: A served batch is judged once it holds this many decisions (enough for per-column drift).
SERVED_BATCH_MIN = 100


@dg.sensor(job_name="monitor_served_decisions", minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING)
def credit_served_decisions_sensor(context: dg.SensorEvaluationContext):  # type: ignore[no-untyped-def]
    """Monitors what ``POST /credit/decisions`` served: every ``SERVED_BATCH_MIN`` logged decisions become
    a batch whose inputs are checked (schema, drift) like a front-end batch, without deciding them again."""
    found = batch_from_prediction_log(int(context.cursor or 0), SERVED_BATCH_MIN)
    if found is None:
        return dg.SkipReason(f"fewer than {SERVED_BATCH_MIN} decisions served since log entry {context.cursor or 0}")
    batch_id, last_id = found
    context.update_cursor(str(last_id))
    return dg.RunRequest(run_key=batch_id, run_config={"ops": {"live_applications": {"config": {
        "batch_id": batch_id}}}})
