"""Bug reports: a colleague's "WTF moment", kept until it is resolved, grouped, and escalated.

A report has a reporter, free text, an optional screenshot (checked on its bytes: PNG, JPEG or
WebP that Pillow can verify, under a size limit; stored content-addressed under the data
directory), an optional request id (which must be in the prediction log, so the report links
to :func:`~inloop.incidents.replay.replay`), the domain (a registered one), page/component,
segment, failure kind and the severity as the reporter sees it.

Reports with the same domain + component + failure kind + segment form a *group*. "If a lot
of users say it's a bug, it's worth investigating": when a group's open reports within the
card's ``bug_reports.window_days`` reach ``bug_reports.escalation_threshold``, the group raises
one alert (cause key ``bug-reports:<group>``); later reports count as occurrences of that alert.

Statuses move ``new -> triaged -> linked`` (to a post-mortem) ``-> closed`` (with a resolution),
each change recorded with who and why; a closed report can be reopened. Nothing is deleted.
Bad input fails before anything is written: no row, no orphan screenshot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from inloop import alerts, db
from inloop import domains as domain_registry
from inloop.cards import BugReportPolicy, CardError
from inloop.db.models import Alert, BugReport, BugReportEvent, utcnow
from inloop.predictions import UnknownRequestError, get_prediction
from inloop.settings import get_settings

__all__ = [
    "MAX_SCREENSHOT_BYTES",
    "BugReportError",
    "BugReportRecord",
    "FiledReport",
    "GroupSummary",
    "NewBugReport",
    "Screenshot",
    "StatusChange",
    "close_report",
    "file_report",
    "get_report",
    "group_key",
    "inspect_screenshot",
    "link_to_postmortem",
    "list_groups",
    "list_reports",
    "reopen_report",
    "report_history",
    "triage_report",
]

log = logging.getLogger("inloop.incidents.bug_reports")

Severity = Literal["low", "medium", "high", "critical"]
Status = Literal["new", "triaged", "linked", "closed"]
SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
STATUSES: tuple[str, ...] = ("new", "triaged", "linked", "closed")
#: Allowed status changes; anything else is refused with the allowed next steps.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("triaged", "closed"),
    "triaged": ("linked", "closed"),
    "linked": ("closed",),
    "closed": ("triaged",),  # reopen: a closed report comes back for another look
}

MAX_SCREENSHOT_BYTES = 10 * 1024 * 1024
#: A screenshot larger than this many pixels is refused (a decompression bomb in disguise).
MAX_SCREENSHOT_PIXELS = 40_000_000
_IMAGE_KINDS = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg"), "WEBP": ("image/webp", "webp")}


class BugReportError(ValueError):
    """Input that cannot become (or change) a bug report; names each field and its problem."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems))

    @classmethod
    def one(cls, field: str, problem: str) -> BugReportError:
        return cls([(field, problem)])


class NewBugReport(BaseModel):
    """What a reporter sends (the console form and ``POST /bug-reports`` use this shape)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reporter: str = Field(min_length=1, max_length=200, description="Who saw it (name or e-mail).")
    text: str = Field(min_length=3, max_length=20_000, description="What they saw, in their words.")
    domain: str = Field(min_length=1, max_length=64)
    page: str | None = Field(default=None, max_length=200, description="Page or screen, e.g. 'home/men'.")
    component: str | None = Field(default=None, max_length=64, description="e.g. 'last_seen', 'decision'.")
    segment: str | None = Field(default=None, max_length=128, description="Who is affected, e.g. 'shared_account'.")
    failure_kind: str | None = Field(default=None, max_length=128, description="e.g. 'off_context_item'.")
    severity: Severity = Field(default="medium", description="As the reporter sees it.")
    request_id: str | None = Field(default=None, max_length=64, description="The prediction's request id.")

    @field_validator("page", "component", "segment", "failure_kind", "request_id", mode="after")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None  # an empty form field means "not given"


@dataclass(frozen=True)
class Screenshot:
    """A screenshot whose bytes were verified as an image."""

    data: bytes
    media_type: str
    extension: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class BugReportRecord:
    id: int
    created_at: dt.datetime
    updated_at: dt.datetime
    reporter: str
    text: str
    domain: str
    page: str | None
    component: str | None
    segment: str | None
    failure_kind: str | None
    severity: str
    request_id: str | None
    screenshot_path: str | None
    screenshot_sha256: str | None
    screenshot_media_type: str | None
    status: str
    group_key: str
    postmortem_slug: str | None
    resolution: str | None

    @classmethod
    def of(cls, row: BugReport) -> BugReportRecord:
        return cls(row.id, row.created_at, row.updated_at, row.reporter, row.text, row.domain, row.page,
                   row.component, row.segment, row.failure_kind, row.severity, row.request_id,
                   row.screenshot_path, row.screenshot_sha256, row.screenshot_media_type, row.status,
                   row.group_key, row.postmortem_slug, row.resolution)

    @property
    def screenshot_file(self) -> Path | None:
        """Where the screenshot is on disk (paths are stored relative to ``settings.files_dir``)."""
        return None if self.screenshot_path is None else get_settings().files_dir / self.screenshot_path


@dataclass(frozen=True)
class StatusChange:
    at: dt.datetime
    actor: str
    from_status: str | None
    to_status: str
    note: str | None


@dataclass(frozen=True)
class GroupSummary:
    """Similar reports taken together, and whether they have escalated."""

    domain: str
    group_key: str
    open_in_window: int
    total: int
    threshold: int
    window_days: int
    first_reported_at: dt.datetime
    last_reported_at: dt.datetime
    report_ids: list[int]
    alert_id: int | None

    @property
    def escalated(self) -> bool:
        return self.alert_id is not None

    @property
    def escalation_due(self) -> bool:
        """At or over the threshold without an open alert (e.g. the alert was resolved meanwhile)."""
        return self.open_in_window >= self.threshold and not self.escalated


@dataclass(frozen=True)
class FiledReport:
    report: BugReportRecord
    group: GroupSummary
    alert: alerts.AlertRecord | None

    @property
    def escalated_now(self) -> bool:
        """This report made its group cross the threshold (a new alert was opened)."""
        return self.alert is not None and self.alert.new


# Input checks -------------------------------------------------------------------------------


def inspect_screenshot(data: bytes, *, max_bytes: int = MAX_SCREENSHOT_BYTES) -> Screenshot:
    """Check a screenshot on its bytes (never its name): size, format, and that it decodes."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise BugReportError.one("screenshot", "the file is empty")
    if len(data) > max_bytes:
        raise BugReportError.one(
            "screenshot", f"{len(data):,} bytes is over the {max_bytes:,}-byte limit; crop it or send a smaller one")
    if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")
            or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")):
        raise BugReportError.one("screenshot", "not a PNG, JPEG or WebP image (checked on the file's content)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, size = image.format, image.size
            if kind not in _IMAGE_KINDS:
                raise BugReportError.one("screenshot", f"{kind} images are not accepted; send PNG, JPEG or WebP")
            if size[0] * size[1] > MAX_SCREENSHOT_PIXELS:
                raise BugReportError.one("screenshot", f"{size[0]}x{size[1]} pixels is larger than any screen")
            image.verify()  # structure and checksums (PNG CRCs); verify() leaves the image unusable
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # a truncated file fails only when its pixels are decoded
    except BugReportError:
        raise
    except UnidentifiedImageError:
        raise BugReportError.one("screenshot", "the image cannot be read: damaged, or not really a PNG, JPEG "
                                 "or WebP") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        # Pillow's message, without any object repr it names the in-memory file by.
        cause = re.sub(r"<[^<>]* object at 0x[0-9a-fA-F]+>", "the file", str(exc))
        raise BugReportError.one("screenshot", f"the image is damaged or incomplete ({cause})") from None
    media_type, extension = _IMAGE_KINDS[kind]
    return Screenshot(data, media_type, extension, size[0], size[1])


def _slug_part(value: str | None) -> str:
    if value is None or not value.strip():
        return "unspecified"
    return re.sub(r"[^a-z0-9_.-]+", "-", value.strip().lower()).strip("-") or "unspecified"


def group_key(domain: str, component: str | None, failure_kind: str | None, segment: str | None) -> str:
    """The grouping key: same domain, component, failure kind and segment means "the same thing"."""
    return "/".join(_slug_part(v) for v in (domain, component, failure_kind, segment))


def _validate(fields: NewBugReport | Mapping[str, Any]) -> NewBugReport:
    if isinstance(fields, NewBugReport):
        return fields
    try:
        return NewBugReport.model_validate(dict(fields))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "(report)"
            problem = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append((field, problem))
        raise BugReportError(problems) from None


def _check_context(report: NewBugReport) -> tuple[NewBugReport, list[tuple[str, str]]]:
    """Domain must be registered; a request id must be logged (and belong to that domain)."""
    problems: list[tuple[str, str]] = []
    try:
        domain_registry.get_domain(report.domain)
    except domain_registry.UnknownDomainError as exc:
        problems.append(("domain", str(exc)))
    if report.request_id:
        try:
            logged = get_prediction(report.request_id)
        except UnknownRequestError as exc:
            problems.append(("request_id", f"{exc}; copy it from the page or API response"))
        else:
            if logged.domain != report.domain:
                problems.append(("request_id", f"request {report.request_id!r} was served by domain "
                                 f"{logged.domain!r}, not {report.domain!r}"))
            elif report.component is None:
                report = report.model_copy(update={"component": logged.component})
    return report, problems


# Filing -------------------------------------------------------------------------------------


def _store_screenshot(shot: Screenshot) -> tuple[str, bool]:
    """Write the screenshot content-addressed; returns (path relative to files_dir, created?)."""
    files_dir = get_settings().files_dir
    relative = f"screenshots/{shot.sha256[:2]}/{shot.sha256}.{shot.extension}"
    target = files_dir / relative
    if target.exists():
        return relative, False  # same bytes already kept (another report of the same screen)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(shot.data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return relative, True


def file_report(fields: NewBugReport | Mapping[str, Any], *, screenshot: bytes | None = None,
                max_screenshot_bytes: int = MAX_SCREENSHOT_BYTES, reported_at: dt.datetime | None = None,
                db_url: str | None = None) -> FiledReport:
    """Record a bug report and escalate its group if it crossed the card's threshold.

    Every check runs before anything is written; a failure raises :class:`BugReportError`
    naming each bad field. If the database write fails, a screenshot this call stored is removed.
    """
    report = _validate(fields)
    report, problems = _check_context(report)
    shot: Screenshot | None = None
    if screenshot is not None:
        try:
            shot = inspect_screenshot(screenshot, max_bytes=max_screenshot_bytes)
        except BugReportError as exc:
            problems += exc.problems
    if problems:
        raise BugReportError(problems)

    now = reported_at or utcnow()
    created_file: Path | None = None
    try:
        with db.session(db_url) as sess:
            row = BugReport(
                created_at=now, updated_at=now, reporter=report.reporter, text=report.text, domain=report.domain,
                page=report.page, component=report.component, segment=report.segment,
                failure_kind=report.failure_kind, severity=report.severity, request_id=report.request_id,
                status="new",
                group_key=group_key(report.domain, report.component, report.failure_kind, report.segment),
            )
            sess.add(row)
            sess.flush()
            sess.add(BugReportEvent(bug_report_id=row.id, at=now, actor=report.reporter, from_status=None,
                                    to_status="new", note="reported"))
            if shot is not None:
                relative, created = _store_screenshot(shot)
                if created:
                    created_file = get_settings().files_dir / relative
                row.screenshot_path, row.screenshot_sha256 = relative, shot.sha256
                row.screenshot_media_type = shot.media_type
            sess.flush()
            record = BugReportRecord.of(row)
    except BaseException:
        if created_file is not None:
            created_file.unlink(missing_ok=True)
        raise
    group, alert = _escalate_if_due(record.domain, record.group_key, now, db_url)
    return FiledReport(record, group, alert)


# Grouping and escalation --------------------------------------------------------------------


def _policy(domain: str) -> BugReportPolicy:
    """The card's bug-report policy; the defaults when the card cannot be read (logged)."""
    try:
        return domain_registry.get_domain(domain).card().bug_reports
    except (CardError, domain_registry.UnknownDomainError) as exc:
        log.warning("bug reports of %s use the default escalation policy: %s", domain, exc)
        return BugReportPolicy()


def _cause_key(group: str) -> str:
    return f"bug-reports:{group}"


def _group_summary(domain: str, group: str, now: dt.datetime, policy: BugReportPolicy,
                   db_url: str | None) -> GroupSummary:
    since = now - dt.timedelta(days=policy.window_days)
    with db.read_session(db_url) as sess:
        rows = sess.execute(
            sa.select(BugReport.id, BugReport.created_at, BugReport.status)
            .where(BugReport.domain == domain, BugReport.group_key == group)
            .order_by(BugReport.id)
        ).all()
        alert_id = sess.scalar(sa.select(Alert.id).where(Alert.open_key == _cause_key(group)))
    in_window = [r for r in rows if r.created_at >= since and r.status != "closed"]
    return GroupSummary(
        domain=domain, group_key=group, open_in_window=len(in_window), total=len(rows),
        threshold=policy.escalation_threshold, window_days=policy.window_days,
        first_reported_at=min(r.created_at for r in rows), last_reported_at=max(r.created_at for r in rows),
        report_ids=[r.id for r in rows], alert_id=alert_id,
    )


def _escalate_if_due(domain: str, group: str, now: dt.datetime,
                     db_url: str | None) -> tuple[GroupSummary, alerts.AlertRecord | None]:
    policy = _policy(domain)
    summary = _group_summary(domain, group, now, policy, db_url)
    if summary.open_in_window < policy.escalation_threshold:
        return summary, None
    with db.read_session(db_url) as sess:
        severities = set(sess.scalars(sa.select(BugReport.severity).where(
            BugReport.domain == domain, BugReport.group_key == group, BugReport.status != "closed")))
    # One open alert per group: the first crossing opens it, later reports count as occurrences.
    try:
        alert = _raise_group_alert(domain, group, summary, policy, severities, db_url)
    except sa.exc.SQLAlchemyError:
        # The report itself is saved; the next report of the group (or `inloop bugs groups`,
        # which shows the group as due) escalates it. Failing here would invite a duplicate report.
        log.exception("bug-report group %s is due for escalation, but raising its alert failed", group)
        return summary, None
    return dataclasses.replace(summary, alert_id=alert.id), alert


def _raise_group_alert(domain: str, group: str, summary: GroupSummary, policy: BugReportPolicy,
                       severities: set[str], db_url: str | None) -> alerts.AlertRecord:
    return alerts.raise_alert(
        domain=domain, cause_key=_cause_key(group), source="bug_reports",
        title=f"Many similar bug reports: {group}",
        message=(f"{summary.open_in_window} open reports in {policy.window_days} days for {group} "
                 f"(threshold {policy.escalation_threshold}): a lot of users say it's a bug, so it is worth "
                 f"investigating. Triage them and draft a post-mortem: inloop postmortem new --from-bug "
                 f"{summary.report_ids[-1]}"),
        severity="ERROR" if severities & {"high", "critical"} else "WARN",
        evidence={"group_key": group, "bug_report_ids": summary.report_ids, "open_in_window": summary.open_in_window,
                  "threshold": policy.escalation_threshold, "window_days": policy.window_days},
        db_url=db_url,
    )


def list_groups(domain: str | None = None, *, now: dt.datetime | None = None,
                db_url: str | None = None) -> list[GroupSummary]:
    """Every group with its count in the card's window, largest first."""
    now = now or utcnow()
    with db.read_session(db_url) as sess:
        query = sa.select(BugReport.domain, BugReport.group_key).distinct()
        if domain:
            query = query.where(BugReport.domain == domain)
        pairs = sess.execute(query).all()
    policies: dict[str, BugReportPolicy] = {}
    out = []
    for dom, group in pairs:
        if dom not in policies:  # setdefault would read (parse) the card again for every group
            policies[dom] = _policy(dom)
        policy = policies[dom]
        out.append(_group_summary(dom, group, now, policy, db_url))
    return sorted(out, key=lambda g: (-g.open_in_window, g.domain, g.group_key))


# Status changes ------------------------------------------------------------------------------


def _change_status(report_id: int, to: str, *, actor: str, note: str | None, db_url: str | None,
                   update: dict[str, Any] | None = None) -> BugReportRecord:
    if not actor or not actor.strip():
        raise BugReportError.one("actor", "say who makes this change")
    with db.session(db_url) as sess:
        row = sess.get(BugReport, report_id)
        if row is None:
            raise BugReportError.one("id", f"no bug report #{report_id}")
        allowed = TRANSITIONS[row.status]
        if to not in allowed and not (to == row.status == "triaged"):
            raise BugReportError.one(
                "status", f"report #{report_id} is {row.status}; it can move to {', '.join(allowed)}, not {to}")
        for key, value in (update or {}).items():
            setattr(row, key, value)
        sess.add(BugReportEvent(bug_report_id=row.id, actor=actor.strip(), from_status=row.status, to_status=to,
                                note=note))
        row.status = to
        row.updated_at = utcnow()
        sess.flush()
        return BugReportRecord.of(row)


def triage_report(report_id: int, *, actor: str, component: str | None = None, segment: str | None = None,
                  failure_kind: str | None = None, severity: str | None = None, note: str | None = None,
                  db_url: str | None = None) -> FiledReport:
    """Classify a report (it may move to another group, which may then escalate)."""
    if severity is not None and severity not in SEVERITIES:
        raise BugReportError.one("severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
    current = get_report(report_id, db_url=db_url)
    update: dict[str, Any] = {}
    for name, value in (("component", component), ("segment", segment), ("failure_kind", failure_kind),
                        ("severity", severity)):
        if value is not None and value.strip():
            update[name] = value.strip()
    merged = {**dataclasses.asdict(current), **update}
    update["group_key"] = group_key(current.domain, merged["component"], merged["failure_kind"], merged["segment"])
    record = _change_status(report_id, "triaged", actor=actor, note=note, db_url=db_url, update=update)
    group, alert = _escalate_if_due(record.domain, record.group_key, utcnow(), db_url)
    return FiledReport(record, group, alert)


def link_to_postmortem(report_id: int, postmortem_slug: str, *, actor: str, note: str | None = None,
                       db_url: str | None = None) -> BugReportRecord:
    """Link a triaged report to the post-mortem that investigates it."""
    if not postmortem_slug or not postmortem_slug.strip():
        raise BugReportError.one("postmortem", "name the post-mortem (its file name without .md)")
    return _change_status(report_id, "linked", actor=actor, note=note or f"linked to {postmortem_slug}",
                          db_url=db_url, update={"postmortem_slug": postmortem_slug.strip()})


def close_report(report_id: int, resolution: str, *, actor: str, db_url: str | None = None) -> BugReportRecord:
    """Close a report; the resolution (fixed how, or why it is not a bug) is required."""
    if not resolution or len(resolution.strip()) < 3:
        raise BugReportError.one("resolution", "say how it was resolved (or why it is not a bug): "
                                 "a report is never closed without one")
    return _change_status(report_id, "closed", actor=actor, note=resolution.strip(), db_url=db_url,
                          update={"resolution": resolution.strip()})


def reopen_report(report_id: int, *, actor: str, note: str, db_url: str | None = None) -> BugReportRecord:
    """Bring a closed report back to triage (it happened again, or the resolution did not hold)."""
    return _change_status(report_id, "triaged", actor=actor, note=note, db_url=db_url, update={"resolution": None})


# Reads ---------------------------------------------------------------------------------------


def get_report(report_id: int, *, db_url: str | None = None) -> BugReportRecord:
    with db.read_session(db_url) as sess:
        row = sess.get(BugReport, report_id)
        if row is None:
            raise BugReportError.one("id", f"no bug report #{report_id}")
        return BugReportRecord.of(row)


def list_reports(domain: str | None = None, *, status: str | None = None, group: str | None = None,
                 limit: int = 200, db_url: str | None = None) -> list[BugReportRecord]:
    """Reports, newest first, optionally one domain / status / group."""
    if status is not None and status not in STATUSES:
        raise BugReportError.one("status", f"{status!r} is not one of {', '.join(STATUSES)}")
    query = sa.select(BugReport).order_by(BugReport.id.desc()).limit(limit)
    if domain:
        query = query.where(BugReport.domain == domain)
    if status:
        query = query.where(BugReport.status == status)
    if group:
        query = query.where(BugReport.group_key == group)
    with db.read_session(db_url) as sess:
        return [BugReportRecord.of(r) for r in sess.scalars(query)]


def report_history(report_id: int, *, db_url: str | None = None) -> list[StatusChange]:
    """Every status change of a report, oldest first."""
    with db.read_session(db_url) as sess:
        rows = sess.scalars(sa.select(BugReportEvent).where(BugReportEvent.bug_report_id == report_id)
                            .order_by(BugReportEvent.id)).all()
        return [StatusChange(r.at, r.actor, r.from_status, r.to_status, r.note) for r in rows]
