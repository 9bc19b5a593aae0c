"""Draft a post-mortem from an alert or a bug report, with the facts already filled in.

The draft starts from what the system recorded — the report and its screenshot, the alert and
its evidence, the check results, and the replay of every logged prediction involved (its exact
input features and output) — so the investigation starts from facts, not from conclusions.
Request ids named in an alert's evidence or in a failed check result's details (keys
``request_id`` / ``request_ids``, e.g. a check's ``Measurement.details``) are replayed into facts;
when none is named, the predictions logged in the window the first failing check judged are listed
and the first of them replayed. Other concerns' check results on the same batch (``details.batch_id``,
e.g. the drift report with its file) become facts too. Every fact of an alert's draft links to a
record: the alert, check-history rows, prediction-log request ids, reports, bug reports.
Everything a human must still write is a ``TODO`` that :func:`~inloop.incidents.postmortems.lint_postmortem`
reports once the post-mortem leaves draft.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from inloop import db
from inloop import domains as domain_registry
from inloop.db.models import Alert, CheckResult, Prediction
from inloop.incidents.bug_reports import BugReportRecord, get_report, list_reports
from inloop.incidents.postmortems import (
    Detection,
    Fact,
    Impact,
    Postmortem,
    TimelineEntry,
    WhyStep,
    render_postmortem,
    slugify,
)
from inloop.incidents.replay import replay
from inloop.predictions import UnknownRequestError

__all__ = ["DraftError", "draft_from_alert", "draft_from_bug", "draft_path", "write_draft"]

_TODO = "TODO"


class DraftError(LookupError):
    """The alert or report to draft from does not exist, or the draft cannot be written."""


def _minute(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


class _Facts:
    """Collects facts with running ids (F1, F2, ...) and the timeline beside them."""

    def __init__(self) -> None:
        self.facts: list[Fact] = []
        self.timeline: list[tuple[dt.datetime, str]] = []
        self.unlogged: list[str] = []

    def add(self, kind: str, description: str, ref: str | None, data: dict[str, Any] | None = None) -> str:
        fact_id = f"F{len(self.facts) + 1}"
        self.facts.append(Fact(id=fact_id, kind=kind, description=description, ref=ref,  # type: ignore[arg-type]
                               status="linked" if ref else "pending", data=data))
        return fact_id

    def at(self, when: dt.datetime, event: str) -> None:
        self.timeline.append((when, event))

    def add_replay(self, request_id: str) -> str | None:
        """A logged prediction as a fact: what the system saw (features) and answered (output)."""
        try:
            record = replay(request_id).record
        except UnknownRequestError:
            # Not a record: no fact (a fact links to a record); the draft's details name it instead.
            self.unlogged.append(request_id)
            return None
        self.at(record.created_at, f"Prediction {request_id} served by {record.domain}/{record.component} "
                f"(model {record.model_name or '-'} {record.model_version or '-'}, "
                f"policy {record.policy_version or '-'})")
        return self.add(
            "logged_input",
            f"What the system saw and answered for request {request_id}: component {record.component}, model "
            f"{record.model_name or '-'} version {record.model_version or '-'}, policy "
            f"{record.policy_version or '-'}, live test set {'yes' if record.live_test_set else 'no'}, "
            f"at {_minute(record.created_at)} UTC (replay: inloop replay {request_id})",
            f"request:{request_id}",
            {"features": record.features, "output": record.output},
        )

    def sorted_timeline(self) -> list[TimelineEntry]:
        return [TimelineEntry(at=_minute(when), event=event) for when, event in sorted(self.timeline,
                                                                                        key=lambda t: t[0])]


def _skeleton(*, title: str, domain: str, date: dt.date, authors: list[str], summary: str, detection: Detection,
              collected: _Facts, first_question: WhyStep, affected: str) -> Postmortem:
    return Postmortem(
        title=title, domain=domain, status="draft", date=date, authors=authors, summary=summary,
        impact=Impact(business=f"{_TODO}: what this cost or risked, in the stakeholder's terms", affected=affected,
                      duration=f"{_TODO}: from first impact to mitigation", outage_bucket="none"),
        detection=detection, facts=collected.facts, timeline=collected.sorted_timeline(),
        five_whys=[first_question],
        root_cause=f"{_TODO}: the confirmed end of the five-whys chain",
        trigger=f"{_TODO}: what set it off this time",
        resolution=f"{_TODO}: what was done to mitigate it",
        details="\n## Investigation details\n\nDrafted by inloop from the records above. Add queries, logs and "
                "notes here.\n" + "".join(f"\n- Request {r} is named in the evidence but is not in the prediction "
                                          "log (was it logged?).\n" for r in collected.unlogged),
    )


def draft_from_bug(report_id: int, *, authors: list[str] | None = None, db_url: str | None = None) -> Postmortem:
    """A draft post-mortem for a bug report: the report, its screenshot, its group and its replay."""
    report = get_report(report_id, db_url=db_url)
    collected = _Facts()
    where = " / ".join(p for p in (report.page, report.component) if p) or "an unspecified page"
    collected.at(report.created_at, f"Bug report #{report.id} filed ({report.severity}) on {where}")
    collected.add("bug_report", f"{report.reporter} reported on {where} (severity {report.severity}): "
                  f"\u201c{report.text.strip()}\u201d", f"bug:{report.id}")
    if report.screenshot_path:
        collected.add("screenshot", f"Screenshot attached to report #{report.id} ({report.screenshot_media_type})",
                      f"file:{report.screenshot_path}")
    replayed = collected.add_replay(report.request_id) if report.request_id else None
    if report.request_id is None:
        collected.add("logged_input", "The report carries no request id: find the prediction in the log "
                      "(time, subject, component) and link it here", None)
    similar = [r for r in list_reports(report.domain, group=report.group_key, db_url=db_url) if r.id != report.id]
    if similar:
        collected.add("bug_report", f"{len(similar)} similar report(s) in the group {report.group_key}: "
                      + ", ".join(f"#{r.id}" for r in sorted(similar, key=lambda r: r.id)),
                      f"bug-group:{report.group_key}")
        for other in similar:
            collected.at(other.created_at, f"Similar bug report #{other.id} filed")
    alert = _group_alert(report, db_url)
    if alert is not None:
        collected.add("alert", f"The group escalated: alert #{alert.id} \u201c{alert.title}\u201d", f"alert:{alert.id}")
        collected.at(alert.first_seen_at, f"Alert #{alert.id} raised: {alert.title}")
    cite = f" [{replayed}]" if replayed else ""
    first = WhyStep(
        question=f"Why did {report.reporter} see this on {where}?",
        hypothesis=f"{_TODO}: a hypothesis to check (not a conclusion)",
        how_checked=(f"Replay the logged request (inloop replay {report.request_id}) and compare what the system "
                     "saw and answered with the report" if report.request_id else
                     f"{_TODO}: find the logged prediction and replay it"),
        evidence=f"{_TODO}: what the check showed{cite}",
        verdict="open",
    )
    return _skeleton(
        title=f"{_TODO}: title — bug report #{report.id} on {where}",
        domain=report.domain, date=report.created_at.date(), authors=authors or [f"{_TODO}: authors"],
        summary=f"{_TODO}: what happened, in plain words. Reported: \u201c{report.text.strip()}\u201d",
        detection=Detection(kind="bug_report", description=f"Bug report #{report.id} by {report.reporter}",
                            reference=f"bug:{report.id}", detected_at=_minute(report.created_at)),
        collected=collected, first_question=first,
        affected=f"{_TODO}: who and how many ({1 + len(similar)} report(s) so far in this group)",
    )


def _group_alert(report: BugReportRecord, db_url: str | None) -> Alert | None:
    with db.read_session(db_url) as sess:
        return sess.scalars(sa.select(Alert).where(Alert.cause_key == f"bug-reports:{report.group_key}")
                            .order_by(Alert.id.desc())).first()


def draft_from_alert(alert_id: int, *, authors: list[str] | None = None, db_url: str | None = None) -> Postmortem:
    """A draft post-mortem for an alert: its evidence, the concern's check results, replays, reports."""
    with db.read_session(db_url) as sess:
        alert = sess.get(Alert, alert_id) if alert_id > 0 else None
        if alert is None:
            raise DraftError(f"no alert #{alert_id}")
        checks: list[CheckResult] = []
        if alert.concern_id:
            checks = list(sess.scalars(
                sa.select(CheckResult).where(CheckResult.domain == alert.domain,
                                             CheckResult.concern_id == alert.concern_id,
                                             CheckResult.evaluated_at <= alert.last_seen_at)
                .order_by(CheckResult.evaluated_at.desc()).limit(5)))
        same_batch = _same_batch_checks(sess, alert, checks)
        window = _judged_window(sess, alert, checks)
    collected = _Facts()
    evidence = dict(alert.evidence or {})
    collected.add("alert", f"Alert #{alert.id} ({alert.severity}, {alert.source}, seen {alert.occurrences}x): "
                  f"{alert.title} — {alert.message}", f"alert:{alert.id}", evidence or None)
    collected.at(alert.first_seen_at, f"Alert #{alert.id} raised: {alert.title}")
    if alert.occurrences > 1:
        collected.at(alert.last_seen_at, f"Alert #{alert.id} seen for the {alert.occurrences}th time")
    if alert.resolved_at is not None:
        collected.at(alert.resolved_at, f"Alert #{alert.id} resolved: {alert.resolution or '-'}")
    for check in reversed(checks):
        verdict = "passed" if check.passed else "FAILED"
        collected.add("check_result", f"Check {check.check_name} {verdict}: {check.metric_name} = "
                      f"{check.metric_value} (threshold {check.threshold_op} {check.threshold_value:g})",
                      check.evidence_url or f"check-result:{check.id}", dict(check.details) or None)
        collected.at(check.evaluated_at, f"Check {check.check_name} {verdict} ({check.metric_name} = "
                     f"{check.metric_value})")
    for check in same_batch:
        verdict = "passed" if check.passed else "FAILED"
        drift = "drifted_columns" in (check.details or {})
        collected.add("drift_report" if drift else "check_result",
                      f"On the same batch ({check.details.get('batch_id')}), {'the drift report: ' if drift else ''}"
                      f"check {check.check_name} {verdict}: {check.metric_name} = {check.metric_value} "
                      f"(threshold {check.threshold_op} {check.threshold_value:g})",
                      check.evidence_url or f"check-result:{check.id}", dict(check.details) or None)
    request_ids = _request_ids(evidence) + [r for check in checks if not check.passed
                                            for r in _request_ids(check.details or {})]
    if not request_ids and window is not None:
        # No request named: the predictions served in the window the first failing check judged.
        start, end, count, sample = window
        collected.add("logged_input", f"{count} prediction(s) of {alert.domain} logged between {_minute(start)} and "
                      f"{_minute(end)} UTC, the traffic the failing check judged; the first "
                      f"{len(sample)} are replayed below", f"predictions:{alert.domain}:{start.isoformat()}/"
                      f"{end.isoformat()}", {"count": count, "request_ids": sample})
        request_ids = sample[:_REPLAYED]
    replayed = [f for f in (collected.add_replay(r) for r in dict.fromkeys(request_ids)) if f]
    for bug_id in evidence.get("bug_report_ids") or []:
        try:
            bug = get_report(int(bug_id), db_url=db_url)
        except (ValueError, LookupError):
            continue
        collected.add("bug_report", f"{bug.reporter}: \u201c{bug.text.strip()}\u201d", f"bug:{bug.id}")
        collected.at(bug.created_at, f"Bug report #{bug.id} filed")
        if bug.request_id:
            fact = collected.add_replay(bug.request_id)
            if fact:
                replayed.append(fact)
    kind = {"check": "check", "bug_reports": "bug_report"}.get(alert.source, "alert")
    cites = "".join(f" [{f}]" for f in replayed)
    first = WhyStep(
        question=f"Why did the alert \u201c{alert.title}\u201d fire?",
        hypothesis=f"{_TODO}: a hypothesis to check (not a conclusion)",
        how_checked=f"{_TODO}: compare the failing check's evidence with the logged inputs",
        evidence=f"{_TODO}: what the check showed{cites}",
        verdict="open",
    )
    concern = f" (concern {alert.concern_id})" if alert.concern_id else ""
    return _skeleton(
        title=f"{_TODO}: title — {alert.title}"[:300],
        domain=alert.domain, date=alert.first_seen_at.date(), authors=authors or [f"{_TODO}: authors"],
        summary=f"{_TODO}: what happened, in plain words. Alert: {alert.title}{concern}",
        detection=Detection(kind=kind, description=f"Alert #{alert.id} from {alert.source}{concern}",  # type: ignore[arg-type]
                            reference=f"alert:{alert.id}", detected_at=_minute(alert.first_seen_at)),
        collected=collected, first_question=first, affected=f"{_TODO}: who and how many",
    )


#: How many logged predictions of the judged window a draft replays into facts.
_REPLAYED = 3


def _same_batch_checks(sess: Any, alert: Alert, checks: list[CheckResult]) -> list[CheckResult]:
    """The other concerns' check results on the batch of the failing check (e.g. its drift report)."""
    failing = [c for c in checks if not c.passed and (c.details or {}).get("batch_id")]
    if not failing:
        return []
    batch = failing[0].details["batch_id"]
    around = failing[0].evaluated_at
    candidates = sess.scalars(
        sa.select(CheckResult).where(CheckResult.domain == alert.domain, CheckResult.concern_id != alert.concern_id,
                                     CheckResult.evaluated_at >= around - dt.timedelta(hours=1),
                                     CheckResult.evaluated_at <= around + dt.timedelta(hours=1))
        .order_by(CheckResult.id))
    return [c for c in candidates if (c.details or {}).get("batch_id") == batch]


def _judged_window(sess: Any, alert: Alert, checks: list[CheckResult]) -> tuple[dt.datetime, dt.datetime, int,
                                                                                 list[str]] | None:
    """The predictions logged between the concern's last check before the first failing one and that one."""
    failing = [c for c in checks if not c.passed]
    if not failing:
        return None
    first = failing[-1]  # checks are newest first
    start = sess.scalar(sa.select(sa.func.max(CheckResult.evaluated_at)).where(
        CheckResult.domain == alert.domain, CheckResult.concern_id == alert.concern_id,
        CheckResult.evaluated_at < first.evaluated_at))
    if start is None:
        return None
    where = (Prediction.domain == alert.domain, Prediction.created_at > start,
             Prediction.created_at <= first.evaluated_at)
    count = sess.scalar(sa.select(sa.func.count()).select_from(Prediction).where(*where)) or 0
    if not count:
        return None
    sample = list(sess.scalars(sa.select(Prediction.request_id).where(*where).order_by(Prediction.id).limit(10)))
    return start, first.evaluated_at, int(count), sample


def _request_ids(evidence: dict[str, Any]) -> list[str]:
    """Request ids named in an alert's evidence or a check result's details."""
    found = [evidence["request_id"]] if evidence.get("request_id") else []
    listed = evidence.get("request_ids")
    found += listed if isinstance(listed, list) else []
    return [str(r) for r in found]


def draft_path(postmortem: Postmortem, folder: Path | None = None) -> Path:
    """Where a new post-mortem goes: ``domains/<d>/postmortems/<date>-<slug>.md``."""
    if folder is None:
        folder = domain_registry.get_domain(postmortem.domain).postmortems_dir
    title = postmortem.title.removeprefix(f"{_TODO}: title — ")
    return folder / f"{postmortem.date.isoformat()}-{slugify(title)}.md"


def write_draft(postmortem: Postmortem, path: Path) -> Path:
    """Write a draft; refuses to overwrite an existing post-mortem."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(render_postmortem(postmortem))
    except FileExistsError:
        raise DraftError(f"{path} already exists; pass another --out path") from None
    return path
