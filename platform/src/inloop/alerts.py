"""Alerts: raised by failed checks and runs, grouped by cause, routed per the project card.

An alert is a row in the platform database (the console inbox). Repeats of the same cause
while it is open increase ``occurrences`` on one row instead of creating new ones. Routing
(log, Slack-compatible webhook) is done by :func:`route_pending_alerts`, which the per-domain
Dagster sensor calls: a new alert is delivered once (also when it already resolved before the
router's tick), repeats are re-announced only when their count reaches 10, 100, 1000, ... so a
flapping check cannot spam anyone.
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
from inloop.db.models import Alert, utcnow
from inloop.settings import get_settings

__all__ = ["AlertRecord", "Delivery", "list_alerts", "raise_alert", "refresh_alert", "resolve_alerts",
           "route_pending_alerts"]

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

    @classmethod
    def of(cls, row: Alert, new: bool = False) -> AlertRecord:
        return cls(row.id, row.domain, row.concern_id, row.source, row.cause_key, row.title, row.message,
                   row.severity, row.status, row.occurrences, row.first_seen_at, row.last_seen_at,
                   list(row.routes), dict(row.evidence), new)


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
                db_url: str | None = None) -> list[AlertRecord]:
    with db.read_session(db_url) as sess:
        query = sa.select(Alert).order_by(Alert.last_seen_at.desc()).limit(limit)
        if domain:
            query = query.where(Alert.domain == domain)
        if status:
            query = query.where(Alert.status == status)
        return [AlertRecord.of(r) for r in sess.scalars(query)]


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
    """Deliver the domain's new (and escalating) alerts to their routes; mark them routed."""
    webhook_url = webhook_url or get_settings().alert_webhook_url
    deliveries: list[Delivery] = []
    with db.session(db_url) as sess:
        # An alert that opened and resolved between two ticks (a check failed on one batch and passed
        # on the next) was never announced: it is announced once, saying when and why it resolved.
        rows = sess.scalars(
            sa.select(Alert).where(Alert.domain == domain, Alert.occurrences > Alert.routed_occurrences,
                                   sa.or_(Alert.status == "open", Alert.routed_occurrences == 0))
            .order_by(Alert.id)
        ).all()
        for row in rows:
            if _should_announce(row.occurrences, row.routed_occurrences):
                delivered = _deliver(row, webhook_url, http)
                deliveries += delivered
                if any(d.route == "webhook" and not d.ok and webhook_url for d in delivered):
                    continue  # leave it pending: the next sensor tick tries the webhook again
            row.routed_occurrences = row.occurrences
            row.routed_at = utcnow()
    return deliveries


def _deliver(row: Alert, webhook_url: str | None, http: httpx.Client | None) -> list[Delivery]:
    repeat = f" (seen {row.occurrences}x)" if row.occurrences > 1 else ""
    text = f"[{row.severity}] {row.domain}: {row.title}{repeat}\n{row.message}"
    if row.status != "open" and row.resolved_at is not None:
        text += f"\n(already {row.status} at {row.resolved_at:%Y-%m-%d %H:%M:%S} UTC: {row.resolution or '-'})"
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
