"""Alerts: raised by failed checks and runs, grouped by cause, routed per the project card.

An alert is a row in the platform database (the console inbox). Repeats of the same cause
while it is open increase ``occurrences`` on one row instead of creating new ones. Routing
(log, Slack-compatible webhook) is done by :func:`route_pending_alerts`, which the per-domain
Dagster sensor calls: a new alert is delivered once, repeats are re-announced only when their
count reaches 10, 100, 1000, ... so a flapping check cannot spam anyone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from inloop import db
from inloop.db.models import Alert, AlertEvent, utcnow
from inloop.settings import get_settings

__all__ = ["AlertConflict", "AlertEventRecord", "AlertNotFound", "AlertRecord", "Delivery", "acknowledge_alert",
           "alert_events", "assign_alert", "get_alert", "list_alerts", "raise_alert", "refresh_alert",
           "resolve_alert", "resolve_alerts", "route_pending_alerts"]

log = logging.getLogger("inloop.alerts")

ROUTES = ("console", "log", "webhook")


@dataclass(frozen=True)
class AlertRecord:
    id: int
    domain: str
    concern_id: str | None
    source: str
    cause_key: str
    title: str
    message: str
    severity: str
    status: str
    occurrences: int
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    routes: list[str]
    evidence: dict[str, Any]
    new: bool = False
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: str | None = None
    assignee: str | None = None
    resolved_at: dt.datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None

    @classmethod
    def of(cls, row: Alert, new: bool = False) -> AlertRecord:
        return cls(row.id, row.domain, row.concern_id, row.source, row.cause_key, row.title, row.message,
                   row.severity, row.status, row.occurrences, row.first_seen_at, row.last_seen_at,
                   list(row.routes), dict(row.evidence), new, acknowledged_at=row.acknowledged_at,
                   acknowledged_by=row.acknowledged_by, assignee=row.assignee, resolved_at=row.resolved_at,
                   resolved_by=row.resolved_by, resolution=row.resolution)


def raise_alert(
    *,
    domain: str,
    cause_key: str,
    title: str,
    message: str,
    severity: str = "ERROR",
    source: str = "check",
    concern_id: str | None = None,
    routes: Sequence[str] = ("console", "log"),
    evidence: dict[str, Any] | None = None,
    db_url: str | None = None,
) -> AlertRecord:
    """Open an alert for ``cause_key``, or count one more occurrence of the open one."""
    unknown = set(routes) - set(ROUTES)
    if unknown:
        raise ValueError(f"unknown alert route(s) {sorted(unknown)}; routes are {', '.join(ROUTES)}")
    for attempt in range(2):
        try:
            with db.session(db_url) as sess:
                # FOR UPDATE: concurrent repeats on PostgreSQL queue here instead of losing counts
                # (SQLite is already serialised by BEGIN IMMEDIATE).
                row = sess.scalars(
                    sa.select(Alert).where(Alert.open_key == cause_key).with_for_update()
                ).one_or_none()
                if row is not None:
                    row.occurrences += 1
                    row.last_seen_at = utcnow()
                    row.message = message
                    row.evidence = {**row.evidence, **(evidence or {})}
                    sess.flush()
                    return AlertRecord.of(row)
                row = Alert(domain=domain, concern_id=concern_id, source=source, cause_key=cause_key,
                            open_key=cause_key, title=title[:300], message=message, severity=severity,
                            routes=list(routes), evidence=evidence or {})
                sess.add(row)
                sess.flush()
                return AlertRecord.of(row, new=True)
        except IntegrityError:
            # Another process opened the same cause between our read and insert: count on theirs.
            if attempt:
                raise
    raise AssertionError("unreachable")


def refresh_alert(cause_key: str, *, title: str | None = None, message: str | None = None,
                  evidence: dict[str, Any] | None = None, db_url: str | None = None) -> AlertRecord | None:
    """Bring the open alert for ``cause_key`` up to date without counting an occurrence; None if none is open.

    For grouped alerts whose membership shrinks (an invoice left the review queue): the console shows
    the current list, and nobody is notified again for a change that needs no one.
    """
    with db.session(db_url) as sess:
        row = sess.scalars(sa.select(Alert).where(Alert.open_key == cause_key).with_for_update()).one_or_none()
        if row is None:
            return None
        if title is not None:
            row.title = title[:300]
        if message is not None:
            row.message = message
        if evidence is not None:
            row.evidence = evidence
        sess.flush()
        return AlertRecord.of(row)


def resolve_alerts(cause_key: str, resolution: str, db_url: str | None = None) -> int:
    """Close the open alert for ``cause_key`` (e.g. the check passes again); returns how many."""
    with db.session(db_url) as sess:
        rows = sess.scalars(sa.select(Alert).where(Alert.open_key == cause_key)).all()
        for row in rows:
            row.status, row.open_key, row.resolved_at, row.resolution = "resolved", None, utcnow(), resolution
        return len(rows)


def list_alerts(domain: str | None = None, status: str | None = None, limit: int = 100,
                db_url: str | None = None, *, concern_id: str | None = None) -> list[AlertRecord]:
    with db.read_session(db_url) as sess:
        query = sa.select(Alert).order_by(Alert.last_seen_at.desc()).limit(limit)
        if domain:
            query = query.where(Alert.domain == domain)
        if concern_id:
            query = query.where(Alert.concern_id == concern_id)
        if status:
            query = query.where(Alert.status == status)
        return [AlertRecord.of(r) for r in sess.scalars(query)]


# People acting on alerts ------------------------------------------------------------------------


class AlertNotFound(LookupError):
    """No alert has this id."""


class AlertConflict(Exception):
    """The action does not fit the alert's state (e.g. resolving an alert that is already resolved)."""


@dataclass(frozen=True)
class AlertEventRecord:
    alert_id: int
    at: dt.datetime
    actor: str
    action: str
    assignee: str | None
    note: str | None


def _person(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValueError(f"say who {what} (a person's name or e-mail)")
    if len(value) > 200 or any(ord(ch) < 32 for ch in value):
        raise ValueError(f"the name of who {what} must be one line of at most 200 characters")
    return value


def _note(value: str | None, *, required: bool = False) -> str | None:
    value = (value or "").strip() or None
    if required and value is None:
        raise ValueError("a resolution needs a note: what was done, or why no action is needed")
    if value is not None and len(value) > 5000:
        raise ValueError("the note is longer than 5,000 characters")
    return value


def get_alert(alert_id: int, db_url: str | None = None) -> AlertRecord:
    with db.read_session(db_url) as sess:
        row = sess.get(Alert, alert_id)
        if row is None:
            raise AlertNotFound(f"no alert #{alert_id}")
        return AlertRecord.of(row)


def _act(alert_id: int, db_url: str | None, action: str, actor: str, note: str | None,
         assignee: str | None = None) -> AlertRecord:
    with db.session(db_url) as sess:
        row = sess.scalars(sa.select(Alert).where(Alert.id == alert_id).with_for_update()).one_or_none()
        if row is None:
            raise AlertNotFound(f"no alert #{alert_id}")
        if row.status == "resolved":
            when = f" on {row.resolved_at:%Y-%m-%d %H:%M} UTC" if row.resolved_at else ""
            by = f" by {row.resolved_by}" if row.resolved_by else ""
            raise AlertConflict(f"alert #{alert_id} is already resolved{by}{when}; it cannot be {action}")
        now = utcnow()
        if action == "acknowledged":
            if row.acknowledged_at is not None:
                raise AlertConflict(f"alert #{alert_id} was already acknowledged by {row.acknowledged_by} on "
                                    f"{row.acknowledged_at:%Y-%m-%d %H:%M} UTC")
            row.acknowledged_at, row.acknowledged_by = now, actor
        elif action == "assigned":
            if row.assignee == assignee:
                raise AlertConflict(f"alert #{alert_id} is already assigned to {assignee}")
            row.assignee = assignee
            if row.acknowledged_at is None:  # taking it on is also seeing it
                row.acknowledged_at, row.acknowledged_by = now, actor
        else:
            row.status, row.open_key, row.resolved_at, row.resolved_by, row.resolution = (
                "resolved", None, now, actor, note)
        sess.add(AlertEvent(alert_id=alert_id, at=now, actor=actor, action=action, assignee=assignee, note=note))
        sess.flush()
        return AlertRecord.of(row)


def acknowledge_alert(alert_id: int, *, by: str, note: str | None = None, db_url: str | None = None) -> AlertRecord:
    """Record that ``by`` has seen the open alert (409-style :class:`AlertConflict` when already done)."""
    return _act(alert_id, db_url, "acknowledged", _person(by, "acknowledges"), _note(note))


def assign_alert(alert_id: int, *, to: str, by: str, note: str | None = None, db_url: str | None = None) -> AlertRecord:
    """Give the open alert to ``to`` (recorded as done by ``by``)."""
    return _act(alert_id, db_url, "assigned", _person(by, "assigns"), _note(note), _person(to, "is assigned"))


def resolve_alert(alert_id: int, *, by: str, note: str, db_url: str | None = None) -> AlertRecord:
    """Close the open alert by hand, with a note saying what was done. A later failure of the same
    check opens a new alert (the cause is free again)."""
    return _act(alert_id, db_url, "resolved", _person(by, "resolves"), _note(note, required=True))


def alert_events(alert_id: int, db_url: str | None = None) -> list[AlertEventRecord]:
    """What people did with the alert, oldest first."""
    with db.read_session(db_url) as sess:
        rows = sess.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id))
        return [AlertEventRecord(r.alert_id, r.at, r.actor, r.action, r.assignee, r.note) for r in rows]


@dataclass(frozen=True)
class Delivery:
    alert_id: int
    route: str
    ok: bool
    detail: str


def _should_announce(occurrences: int, routed: int) -> bool:
    if routed == 0:
        return True
    # Re-announce a grouped alert when its count crosses a power of ten, not on every repeat.
    return len(str(occurrences)) > len(str(routed))


def route_pending_alerts(domain: str, *, db_url: str | None = None, webhook_url: str | None = None,
                         http: httpx.Client | None = None) -> list[Delivery]:
    """Deliver the domain's new (and escalating) alerts to their routes; mark them routed.

    An alert raised and resolved between two ticks (a check that failed on one batch and passed on the
    next) is still announced, once, saying when and why it resolved: a flapping concern is not silent.
    """
    webhook_url = webhook_url or get_settings().alert_webhook_url
    deliveries: list[Delivery] = []
    with db.session(db_url) as sess:
        rows = sess.scalars(
            sa.select(Alert).where(Alert.domain == domain, Alert.occurrences > Alert.routed_occurrences,
                                   sa.or_(Alert.status != "resolved", Alert.routed_occurrences == 0))
            .order_by(Alert.id)
        ).all()
        for row in rows:
            if _should_announce(row.occurrences, row.routed_occurrences):
                delivered = _deliver(row, webhook_url, http)
                deliveries += delivered
                if any(d.route == "webhook" and not d.ok and webhook_url for d in delivered):
                    continue  # leave it pending: the next sensor tick tries the webhook again
            row.routed_occurrences = row.occurrences
            row.routed_at = row.routed_at or utcnow()  # when it was first announced
    return deliveries


def _deliver(row: Alert, webhook_url: str | None, http: httpx.Client | None) -> list[Delivery]:
    repeat = f" (seen {row.occurrences}x)" if row.occurrences > 1 else ""
    text = f"[{row.severity}] {row.domain}: {row.title}{repeat}\n{row.message}"
    if row.status == "resolved":  # raised and resolved before this tick: announced once, as such
        when = f"{row.resolved_at:%Y-%m-%d %H:%M:%S} UTC" if row.resolved_at else "since"
        text += f"\n(already resolved {when}: {row.resolution or 'no reason given'})"
    out = []
    for route in row.routes:
        if route == "console":
            out.append(Delivery(row.id, route, True, "in the console inbox"))
        elif route == "log":
            (log.error if row.severity == "ERROR" else log.warning)(
                "alert %s %s", row.id, text.replace("\n", " | "))
            out.append(Delivery(row.id, route, True, "logged"))
        elif route == "webhook":
            if not webhook_url:
                log.warning("alert %s routes to webhook but INLOOP_ALERT_WEBHOOK_URL is not set", row.id)
                out.append(Delivery(row.id, route, False, "no webhook configured"))
                continue
            payload = {"text": text, "alert_id": row.id, "domain": row.domain, "concern": row.concern_id,
                       "severity": row.severity, "evidence": row.evidence}
            try:
                if http is not None:
                    resp = http.post(webhook_url, json=payload)
                else:
                    with httpx.Client(timeout=5) as client:  # closed after use: a sensor ticks forever
                        resp = client.post(webhook_url, json=payload)
                resp.raise_for_status()
                out.append(Delivery(row.id, route, True, f"HTTP {resp.status_code}"))
            except httpx.HTTPError as exc:
                # The alert stays in the console inbox; a failing webhook must not lose it.
                log.error("alert %s: webhook delivery failed: %s", row.id, exc)
                out.append(Delivery(row.id, route, False, str(exc)))
    return out
