"""What the console reads, without any Streamlit: concern status, histories, the prediction log.

Pages call these functions and only draw. Everything that touches a large table aggregates in
SQL over an indexed time window or reads one page of rows (keyset/offset pagination), so a
prediction log with millions of rows never comes into Python whole.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel

from inloop import db
from inloop.cards import CardError, Concern, ProjectCard, is_unanswered
from inloop.db.models import Alert, BugReport, CheckResult, Prediction, utcnow
from inloop.domains import DomainPlugin
from inloop.settings import get_settings

__all__ = [
    "ConcernStatus",
    "DomainCards",
    "HistoryPoint",
    "PredictionPage",
    "Status",
    "TrafficWindow",
    "checklist_progress",
    "check_history_page",
    "concern_statuses",
    "drift_reports",
    "fmt_value",
    "headline",
    "load_cards",
    "model_versions_served",
    "open_alert_counts",
    "prediction_page",
    "prediction_volume",
    "recent_history",
    "report_page",
    "reports_version",
    "traffic_window",
]

Status = Literal["holds", "needs attention", "not yet checked"]


@dataclass(frozen=True)
class HistoryPoint:
    evaluated_at: dt.datetime
    value: float | None
    passed: bool


@dataclass(frozen=True)
class ConcernStatus:
    """One concern as the overview shows it: the stakeholder's words and where it stands."""

    domain: str
    concern: Concern
    status: Status
    value: float | None = None
    threshold: str | None = None
    last_checked: dt.datetime | None = None
    summary: str = ""
    evidence_url: str | None = None
    run_id: str | None = None
    check_result_id: int | None = None
    history: list[HistoryPoint] = field(default_factory=list)

    @property
    def why_unchecked(self) -> str:
        """Why a concern has no result yet, in plain words (empty when it has one)."""
        if self.status != "not yet checked":
            return ""
        c = self.concern
        if c.status == "planned":
            return "agreed with the stakeholder, the check is not built yet"
        if c.check is None or c.metric is None or c.threshold is None:
            return "no metric, threshold or check on the project card yet"
        return f"the check {c.check} has not run yet (it runs with the domain's pipeline in Dagster)"


@dataclass(frozen=True)
class DomainCards:
    """Every installed domain's card, and the cards that could not be read (with why)."""

    cards: dict[str, ProjectCard]
    errors: dict[str, str]


def load_cards(domains: Mapping[str, DomainPlugin]) -> DomainCards:
    """Load each domain's project card; a broken card is reported, never hides the others."""
    cards: dict[str, ProjectCard] = {}
    errors: dict[str, str] = {}
    for name, domain in sorted(domains.items()):
        try:
            cards[name] = _card_of(domain)
        except CardError as exc:
            errors[name] = str(exc)
    return DomainCards(cards, errors)


_parsed_cards: dict[tuple[str, int, int], ProjectCard] = {}


def _card_of(domain: DomainPlugin) -> ProjectCard:
    """The domain's card, parsed again only when the file changed (YAML parsing dominated page time)."""
    path = domain.card_path
    try:
        stat = path.stat()
    except OSError:
        return domain.card()  # raises CardError naming the missing file
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _parsed_cards:
        _parsed_cards[key] = domain.card()
    return _parsed_cards[key]


def recent_history(limit_per_concern: int = 30, domain: str | None = None,
                   db_url: str | None = None) -> dict[tuple[str, str], list[HistoryPoint]]:
    """The last ``limit_per_concern`` evaluations of every concern, oldest first, in one query."""
    ranked = sa.select(
        CheckResult.domain, CheckResult.concern_id, CheckResult.evaluated_at, CheckResult.metric_value,
        CheckResult.passed,
        sa.func.row_number().over(partition_by=(CheckResult.domain, CheckResult.concern_id),
                                  order_by=CheckResult.id.desc()).label("rank"),
    )
    if domain:
        ranked = ranked.where(CheckResult.domain == domain)
    sub = ranked.subquery()
    query = sa.select(sub).where(sub.c.rank <= limit_per_concern).order_by(
        sub.c.domain, sub.c.concern_id, sub.c.rank.desc())
    out: dict[tuple[str, str], list[HistoryPoint]] = {}
    with db.read_session(db_url) as sess:
        for row in sess.execute(query):
            at = row.evaluated_at
            at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at  # a subquery skips the UTC type
            out.setdefault((row.domain, row.concern_id), []).append(
                HistoryPoint(at, row.metric_value, bool(row.passed)))
    return out


def _latest(domain: str | None, db_url: str | None) -> dict[tuple[str, str], CheckResult]:
    latest = sa.select(sa.func.max(CheckResult.id).label("id")).group_by(CheckResult.domain, CheckResult.concern_id)
    if domain:
        latest = latest.where(CheckResult.domain == domain)
    with db.read_session(db_url) as sess:
        rows = sess.scalars(sa.select(CheckResult).where(CheckResult.id.in_(latest.scalar_subquery()))).all()
    return {(r.domain, r.concern_id): r for r in rows}


def concern_statuses(cards: Mapping[str, ProjectCard], *, history: int = 30,
                     db_url: str | None = None) -> list[ConcernStatus]:
    """Every concern of ``cards`` with its latest check result and a short history."""
    latest = _latest(None, db_url)
    histories = recent_history(history, db_url=db_url) if history else {}
    out = []
    for name, card in cards.items():
        for concern in card.concerns:
            row = latest.get((name, concern.id))
            if row is None:
                out.append(ConcernStatus(name, concern, "not yet checked",
                                         threshold=str(concern.threshold) if concern.threshold else None))
                continue
            out.append(ConcernStatus(
                name, concern, "holds" if row.passed else "needs attention", value=row.metric_value,
                threshold=f"{row.threshold_op} {row.threshold_value:g}", last_checked=row.evaluated_at,
                summary=str((row.details or {}).get("summary") or ""), evidence_url=row.evidence_url,
                run_id=row.run_id, check_result_id=row.id, history=histories.get((name, concern.id), []),
            ))
    return out


def headline(statuses: Iterable[ConcernStatus]) -> str:
    """The first line of the overview: the answer to "does it work?" in one sentence."""
    statuses = list(statuses)
    if not statuses:
        return "No concerns are written down yet: each domain's project card lists them."
    failing = [s for s in statuses if s.status == "needs attention"]
    unchecked = [s for s in statuses if s.status == "not yet checked"]
    holding = [s for s in statuses if s.status == "holds"]
    if failing:
        names = "; ".join(s.concern.statement.rstrip(".") for s in failing[:3])
        more = f" (and {len(failing) - 3} more)" if len(failing) > 3 else ""
        noun = "concern needs" if len(failing) == 1 else "concerns need"
        line = f"{len(failing)} {noun} attention: {names}{more}"
    elif not unchecked:
        return f"All {len(holding)} concerns hold"
    elif holding:
        line = f"All {len(holding)} checked concerns hold"
    else:
        line = "No concern has been checked yet"
    if unchecked:
        line += f" — {len(unchecked)} of {len(statuses)} not yet checked"
    return line


def checklist_progress(card: ProjectCard) -> tuple[int, int]:
    """(answered, total) checklist items: business case, outage matrix, and who/worst case/story per concern."""
    answered = total = 0

    def walk(model: Any) -> None:
        nonlocal answered, total
        for name, fld in type(model).model_fields.items():
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                walk(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, BaseModel):
                        walk(item)
            elif fld.annotation == (str | None):
                total += 1
                answered += not is_unanswered(value)

    walk(card.business_case)
    walk(card.outage_impact)
    for concern in card.concerns:  # the concern questions lint_card asks too
        for value in (concern.raised_by, concern.worst_case, concern.user_story):
            total += 1
            answered += not is_unanswered(value)
    return answered, total


def open_alert_counts(db_url: str | None = None) -> dict[str, int]:
    """Open alerts per domain."""
    with db.read_session(db_url) as sess:
        rows = sess.execute(sa.select(Alert.domain, sa.func.count()).where(Alert.status == "open")
                            .group_by(Alert.domain)).all()
    return {d: n for d, n in rows}


# The prediction log -----------------------------------------------------------------------------


def _day(column: Any, dialect: str) -> Any:
    return sa.func.date(column) if dialect == "sqlite" else sa.cast(column, sa.Date)


@dataclass(frozen=True)
class TrafficWindow:
    """What the monitoring page shows about a domain's traffic, from one pass over the log window."""

    per_day: list[dict[str, Any]]
    per_version: list[dict[str, Any]]
    per_component: list[dict[str, Any]]


def traffic_window(domain: str, days: int = 30, *, component_days: int = 7, now: dt.datetime | None = None,
                   db_url: str | None = None) -> TrafficWindow:
    """Predictions per day (with the live-test-set count), model versions in service with their age, and
    per component over the last ``component_days`` whole days.

    One pass over the indexed window, grouped in SQL by day, component and model version: reading
    a month of a busy domain's log once per view was the slowest thing the page did.
    """
    now = now or utcnow()
    since = now - dt.timedelta(days=days)
    component_since = str((now - dt.timedelta(days=component_days - 1)).date())
    with db.read_session(db_url) as sess:
        day = _day(Prediction.created_at, sess.get_bind().dialect.name).label("day")
        rows = sess.execute(
            sa.select(day, Prediction.component, Prediction.model_name, Prediction.model_version,
                      sa.func.count().label("served"),
                      sa.func.sum(sa.case((Prediction.live_test_set, 1), else_=0)).label("live"),
                      sa.func.sum(Prediction.latency_ms).label("latency_sum"),
                      sa.func.count(Prediction.latency_ms).label("latency_n"),
                      sa.func.min(Prediction.created_at).label("first"), sa.func.max(Prediction.created_at).label("last"))
            .where(Prediction.domain == domain, Prediction.created_at >= since)
            .group_by(day, Prediction.component, Prediction.model_name, Prediction.model_version)
        ).all()
    per_day: dict[str, dict[str, Any]] = {}
    per_version: dict[tuple[str, str], dict[str, Any]] = {}
    per_component: dict[str, dict[str, Any]] = {}
    for r in rows:
        served, live = int(r.served), int(r.live or 0)
        d = per_day.setdefault(str(r.day), {"day": str(r.day), "served": 0, "live_test_set": 0})
        d["served"] += served
        d["live_test_set"] += live
        key = (r.model_name or "-", r.model_version or "-")
        first, last = _aware(r.first), _aware(r.last)
        v = per_version.setdefault(key, {"model": key[0], "version": key[1], "served": 0,
                                         "first seen in window": first, "last seen": last})
        v["served"] += served
        v["first seen in window"] = min(v["first seen in window"], first)
        v["last seen"] = max(v["last seen"], last)
        if str(r.day) >= component_since:
            c = per_component.setdefault(r.component, {"component": r.component, "served": 0, "live": 0,
                                                       "latency_sum": 0.0, "latency_n": 0})
            c["served"] += served
            c["live"] += live
            c["latency_sum"] += float(r.latency_sum or 0)
            c["latency_n"] += int(r.latency_n or 0)
    versions = sorted(per_version.values(), key=lambda v: v["last seen"], reverse=True)
    for v in versions:
        v["days in service (in window)"] = round((now - v["first seen in window"]).total_seconds() / 86400, 1)
    components = [{"component": c["component"], "served": c["served"],
                   "live test share": c["live"] / c["served"] if c["served"] else 0.0,
                   "mean latency (ms)": round(c["latency_sum"] / c["latency_n"], 1) if c["latency_n"] else None}
                  for c in sorted(per_component.values(), key=lambda c: -c["served"])]
    return TrafficWindow([per_day[k] for k in sorted(per_day)], versions, components)


def prediction_volume(domain: str, days: int = 30, *, now: dt.datetime | None = None,
                      db_url: str | None = None) -> list[dict[str, Any]]:
    """Predictions served per day (and how many were in the live test set), over an indexed window."""
    return traffic_window(domain, days, now=now, db_url=db_url).per_day


def model_versions_served(domain: str, days: int = 30, *, now: dt.datetime | None = None,
                          db_url: str | None = None) -> list[dict[str, Any]]:
    """Which model versions answered in the window, with first/last time seen (the model's age in service)."""
    return traffic_window(domain, days, now=now, db_url=db_url).per_version


def _aware(value: Any) -> dt.datetime:
    if isinstance(value, str):  # SQLite aggregates come back as text
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


@dataclass(frozen=True)
class PredictionPage:
    rows: list[dict[str, Any]]
    next_before_id: int | None


def prediction_page(domain: str, *, before_id: int | None = None, limit: int = 50, component: str | None = None,
                    db_url: str | None = None) -> PredictionPage:
    """One page of the prediction log, newest first (keyset pagination on the id: constant time per page)."""
    query = sa.select(Prediction.id, Prediction.request_id, Prediction.created_at, Prediction.component,
                      Prediction.model_name, Prediction.model_version, Prediction.subject_id,
                      Prediction.live_test_set, Prediction.latency_ms).where(Prediction.domain == domain)
    if component:
        query = query.where(Prediction.component == component)
    if before_id is not None:
        query = query.where(Prediction.id < before_id)
    with db.read_session(db_url) as sess:
        rows = [dict(r._mapping) for r in sess.execute(query.order_by(Prediction.id.desc()).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return PredictionPage(rows, rows[-1]["id"] if more and rows else None)


def check_history_page(domain: str, *, offset: int = 0, limit: int = 50,
                       db_url: str | None = None) -> tuple[list[CheckResult], int]:
    """One page of every check evaluation of a domain, newest first, and the total count."""
    with db.read_session(db_url) as sess:
        total = sess.scalar(sa.select(sa.func.count()).select_from(CheckResult).where(CheckResult.domain == domain))
        rows = sess.scalars(sa.select(CheckResult).where(CheckResult.domain == domain)
                            .order_by(CheckResult.id.desc()).offset(offset).limit(limit)).all()
    return list(rows), int(total or 0)


def report_page(*, domain: str | None = None, status: str | None = None, group: str | None = None,
                offset: int = 0, limit: int = 20, db_url: str | None = None) -> tuple[list[int], int]:
    """Bug report ids for one page of the inbox (newest first) and how many match in all."""
    where = []
    if domain:
        where.append(BugReport.domain == domain)
    if status:
        where.append(BugReport.status == status)
    if group:
        where.append(BugReport.group_key == group)
    with db.read_session(db_url) as sess:
        total = sess.scalar(sa.select(sa.func.count()).select_from(BugReport).where(*where))
        ids = sess.scalars(sa.select(BugReport.id).where(*where).order_by(BugReport.id.desc())
                           .offset(offset).limit(limit)).all()
    return list(ids), int(total or 0)


def reports_version(db_url: str | None = None) -> tuple[Any, ...]:
    """Changes whenever a bug report or an alert changes: a cache key for views built from them."""
    with db.read_session(db_url) as sess:
        reports = sess.execute(sa.select(sa.func.count(), sa.func.max(BugReport.updated_at))).one()
        alerts = sess.execute(sa.select(sa.func.count(), sa.func.max(Alert.last_seen_at),
                                        sa.func.max(Alert.resolved_at))).one()
    return (*(str(v) for v in reports), *(str(v) for v in alerts))


def drift_reports(domain: str | None = None) -> list[Path]:
    """HTML reports (Evidently drift reports and the like) under the settings' reports dir, newest first.

    A report belongs to ``domain`` when it sits in ``<reports_dir>/<domain>/`` or its file name
    starts with the domain's name (``inloop.drift`` writes ``<reports_dir>/drift/<name>-<time>.html``
    and domains name their reports after themselves, e.g. ``credit-<batch>``).
    """
    root = get_settings().reports_dir
    if not root.is_dir():
        return []
    found = [p for p in root.rglob("*.html") if p.is_file()]
    if domain:
        prefixes = {f"{domain}-", f"{domain}_", f"{domain.replace('_', '-')}-"}
        own = root / domain
        found = [p for p in found if own in p.parents or any(p.name.startswith(x) for x in prefixes)]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def fmt_value(value: float | None, unit: str = "") -> str:
    """A metric value for people: missing says so, ratios and counts read naturally."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "no value (the measurement failed)"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"
    return f"{text} {unit}".strip()
