"""Platform database tables, identical on SQLite and PostgreSQL.

The schema is owned by Alembic (``inloop/db/migrations``); these models are what the code
reads and writes. Times are stored as UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "ActionItem",
    "Alert",
    "AlertEvent",
    "Base",
    "BugReport",
    "BugReportEvent",
    "CheckResult",
    "DemoRun",
    "Label",
    "PostmortemIndex",
    "Prediction",
    "SubjectErasure",
    "utcnow",
]

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in Python; naive UTC on disk (SQLite keeps no zone)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the platform database; use an aware UTC time")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType, dt.datetime: UTCDateTime}


class CheckResult(Base):
    """One evaluation of a concern's check: the metric history the console draws."""

    __tablename__ = "check_results"
    __table_args__ = (sa.Index("ix_check_results_concern_time", "domain", "concern_id", "evaluated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(sa.String(64))
    concern_id: Mapped[str] = mapped_column(sa.String(128))
    check_name: Mapped[str] = mapped_column(sa.String(128))
    asset_key: Mapped[str] = mapped_column(sa.String(256))
    passed: Mapped[bool]
    severity: Mapped[str] = mapped_column(sa.String(8))
    metric_name: Mapped[str] = mapped_column(sa.String(128))
    metric_value: Mapped[float | None]
    threshold_op: Mapped[str] = mapped_column(sa.String(4))
    threshold_value: Mapped[float]
    run_id: Mapped[str | None] = mapped_column(sa.String(64))
    evaluated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    evidence_url: Mapped[str | None] = mapped_column(sa.Text)


class Alert(Base):
    """Something a person must look at. Repeats of one cause are grouped into one open alert.

    ``open_key`` equals ``cause_key`` while the alert is open and is NULL once it is resolved;
    its unique index makes "one open alert per cause" hold even under concurrent writers.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        sa.Index("ux_alerts_open_key", "open_key", unique=True),
        sa.Index("ix_alerts_domain_status", "domain", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(sa.String(64))
    concern_id: Mapped[str | None] = mapped_column(sa.String(128))
    source: Mapped[str] = mapped_column(sa.String(32))
    cause_key: Mapped[str] = mapped_column(sa.String(400))
    open_key: Mapped[str | None] = mapped_column(sa.String(400))
    title: Mapped[str] = mapped_column(sa.String(300))
    message: Mapped[str] = mapped_column(sa.Text)
    severity: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    occurrences: Mapped[int] = mapped_column(default=1)
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    routes: Mapped[list[Any]] = mapped_column(default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    routed_occurrences: Mapped[int] = mapped_column(default=0)
    routed_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    #: Who closed it by hand (NULL when a passing check closed it).
    resolved_by: Mapped[str | None] = mapped_column(sa.String(200))
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(200))
    #: The person who works on it now (set by "assign").
    assignee: Mapped[str | None] = mapped_column(sa.String(200))


class AlertEvent(Base):
    """One thing a person did with an alert (acknowledged, assigned, resolved): who, when, with what note."""

    __tablename__ = "alert_events"
    __table_args__ = (sa.Index("ix_alert_events_alert", "alert_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(sa.ForeignKey("alerts.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(16))
    assignee: Mapped[str | None] = mapped_column(sa.String(200))
    note: Mapped[str | None] = mapped_column(sa.Text)


class DemoRun(Base):
    """The stored result of one worst-case demo run (console, CLI or test suite): verdict, when, each step."""

    __tablename__ = "demo_runs"
    __table_args__ = (sa.Index("ix_demo_runs_demo", "domain", "demo_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(sa.String(64))
    demo_id: Mapped[str] = mapped_column(sa.String(128))
    title: Mapped[str] = mapped_column(sa.String(300))
    passed: Mapped[bool]
    started_at: Mapped[dt.datetime]
    seconds: Mapped[float]
    #: Who ran it: "console", "cli", "test suite", ...
    source: Mapped[str] = mapped_column(sa.String(32))
    error: Mapped[str | None] = mapped_column(sa.Text)
    steps: Mapped[list[Any]] = mapped_column(default=list)


class Prediction(Base):
    """One served prediction: what the system saw and what it answered (for replay)."""

    __tablename__ = "predictions"
    __table_args__ = (
        sa.Index("ix_predictions_domain_time", "domain", "created_at"),
        sa.Index("ix_predictions_domain_component", "domain", "component"),
        sa.Index("ix_predictions_subject", "domain", "subject_id"),
        sa.Index("ix_predictions_client_request_id", "client_request_id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)
    # Issued by the server, unique. The client's own X-Request-ID (may repeat) is kept beside it.
    request_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_request_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    domain: Mapped[str] = mapped_column(sa.String(64))
    component: Mapped[str] = mapped_column(sa.String(64))
    model_name: Mapped[str | None] = mapped_column(sa.String(128))
    model_version: Mapped[str | None] = mapped_column(sa.String(64))
    policy_version: Mapped[str | None] = mapped_column(sa.String(64))
    subject_id: Mapped[str | None] = mapped_column(sa.String(128))
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    output: Mapped[dict[str, Any]] = mapped_column(default=dict)
    live_test_set: Mapped[bool] = mapped_column(default=False)
    latency_ms: Mapped[float | None]


class Label(Base):
    """An observed outcome (e.g. a loan default) that tells how a prediction turned out."""

    __tablename__ = "labels"
    __table_args__ = (sa.Index("ix_labels_domain_request", "domain", "request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(sa.String(64))
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    subject_id: Mapped[str | None] = mapped_column(sa.String(128))
    name: Mapped[str] = mapped_column(sa.String(64))
    value: Mapped[float]
    observed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BugReport(Base):
    """A colleague's "WTF moment", with the context needed to read back what happened."""

    __tablename__ = "bug_reports"
    __table_args__ = (sa.Index("ix_bug_reports_group", "domain", "group_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    reporter: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    domain: Mapped[str] = mapped_column(sa.String(64))
    page: Mapped[str | None] = mapped_column(sa.String(200))
    component: Mapped[str | None] = mapped_column(sa.String(64))
    segment: Mapped[str | None] = mapped_column(sa.String(128))
    failure_kind: Mapped[str | None] = mapped_column(sa.String(128))
    severity: Mapped[str] = mapped_column(sa.String(16), default="medium")
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    screenshot_path: Mapped[str | None] = mapped_column(sa.Text)
    screenshot_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    screenshot_media_type: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16), default="new")
    group_key: Mapped[str] = mapped_column(sa.String(400))
    postmortem_slug: Mapped[str | None] = mapped_column(sa.String(200))
    resolution: Mapped[str | None] = mapped_column(sa.Text)


class BugReportEvent(Base):
    """One status change of a bug report (who, when, from what to what, why): its audit trail."""

    __tablename__ = "bug_report_events"
    __table_args__ = (sa.Index("ix_bug_report_events_report", "bug_report_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bug_report_id: Mapped[int] = mapped_column(sa.ForeignKey("bug_reports.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(200))
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str | None] = mapped_column(sa.Text)


class PostmortemIndex(Base):
    """Index of the post-mortem files; rebuilt from ``domains/<d>/postmortems/`` (the source of truth)."""

    __tablename__ = "postmortems"
    __table_args__ = (sa.UniqueConstraint("domain", "slug", name="uq_postmortems_domain_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(sa.String(64))
    slug: Mapped[str] = mapped_column(sa.String(200))
    path: Mapped[str] = mapped_column(sa.Text)
    title: Mapped[str] = mapped_column(sa.String(300))
    status: Mapped[str] = mapped_column(sa.String(32))
    incident_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    indexed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ActionItem(Base):
    """An action point from a post-mortem; indexed so the console can track them across files."""

    __tablename__ = "action_items"
    __table_args__ = (sa.Index("ix_action_items_postmortem", "domain", "postmortem_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(sa.String(64))
    postmortem_slug: Mapped[str] = mapped_column(sa.String(200))
    position: Mapped[int]
    ref: Mapped[str] = mapped_column(sa.String(16), server_default="")
    kind: Mapped[str] = mapped_column(sa.String(16))
    description: Mapped[str] = mapped_column(sa.Text)
    owner: Mapped[str] = mapped_column(sa.String(200))
    priority: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    ticket: Mapped[str | None] = mapped_column(sa.Text)
    accepted: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class SubjectErasure(Base):
    """The deletion register: one row per person (subject) a domain was asked to forget.

    The subject id itself is not kept, only ``subject_key`` (SHA-256 of ``domain:subject_id``), so
    the register can say "this id was erased" (training pipelines check their input against it)
    without holding the identifier it promised to forget.
    """

    __tablename__ = "subject_erasures"
    __table_args__ = (sa.UniqueConstraint("domain", "subject_key", name="uq_subject_erasures_domain_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(sa.String(64))
    subject_key: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str] = mapped_column(sa.Text)
    requested_by: Mapped[str] = mapped_column(sa.String(200))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    runs: Mapped[int] = mapped_column(default=0)
    receipt: Mapped[dict[str, Any]] = mapped_column(default=dict)
