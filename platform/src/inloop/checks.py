"""Concern checks: a stakeholder concern from the card, enforced as a Dagster asset check.

:func:`concern_check` builds the asset check. The domain supplies only how to *measure* the
concern's metric on the asset's value; the platform compares it with the card's threshold,
sets the card's severity and ``blocking``, writes the evaluation to the metric history and
opens (or groups into) an alert when it fails, and resolves that alert when it holds again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import sqlalchemy as sa

from inloop import db
from inloop.alerts import raise_alert, resolve_alerts
from inloop.cards import Concern, ProjectCard, Threshold
from inloop.db.models import CheckResult

__all__ = ["CheckOutcome", "Measurement", "concern_check", "evaluate_concern", "latest_results", "metric_history"]


@dataclass(frozen=True)
class Measurement:
    """What a domain measured for a concern: the metric value and the evidence behind it."""

    value: float | None
    summary: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    evidence_url: str | None = None
    #: A threshold derived from evidence (e.g. the age limit a staleness curve implies) that replaces the
    #: card's for this evaluation; the card's stays the fallback. Recorded with the result.
    threshold: Threshold | None = None


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    measurement: Measurement
    alert_id: int | None
    check_result_id: int


def _cause_key(domain: str, concern: Concern) -> str:
    return f"check:{domain}:{concern.id}"


def evaluate_concern(
    domain: str,
    concern: Concern,
    measurement: Measurement,
    *,
    asset_key: str = "",
    run_id: str | None = None,
    db_url: str | None = None,
) -> CheckOutcome:
    """Judge a measurement against the concern's threshold; record it; alert or resolve."""
    if concern.metric is None or concern.threshold is None or concern.check is None:
        raise ValueError(f"concern {concern.id!r} has no metric, threshold or check; it cannot be evaluated")
    value = measurement.value
    if value is not None and not math.isfinite(value):
        value = None  # NaN/inf is a failed measurement, never a pass (and JSON cannot hold it)
    threshold = measurement.threshold or concern.threshold
    passed = threshold.holds(value)
    with db.session(db_url) as sess:
        row = CheckResult(
            domain=domain, concern_id=concern.id, check_name=concern.check, asset_key=asset_key,
            passed=passed, severity=concern.severity, metric_name=concern.metric.name, metric_value=value,
            threshold_op=threshold.op, threshold_value=threshold.value, run_id=run_id,
            details={"summary": measurement.summary, **_jsonable(measurement.details)},
            evidence_url=measurement.evidence_url,
        )
        sess.add(row)
        sess.flush()
        result_id = row.id
    alert_id = None
    cause = _cause_key(domain, concern)
    shown = "missing" if value is None else f"{value:g}"
    if not passed:
        alert = raise_alert(
            domain=domain, concern_id=concern.id, source="check", cause_key=cause, severity=concern.severity,
            title=f"Concern needs attention: {concern.statement}",
            message=(f"{concern.metric.name} = {shown}, expected {threshold}. {measurement.summary}").strip(),
            routes=concern.alert_route,
            evidence={"check": concern.check, "asset": asset_key, "run_id": run_id, "check_result_id": result_id,
                      "evidence_url": measurement.evidence_url},
            db_url=db_url,
        )
        alert_id = alert.id
    else:
        resolve_alerts(cause, f"check {concern.check} passed again ({concern.metric.name} = {shown})", db_url)
    return CheckOutcome(passed, measurement, alert_id, result_id)


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in details.items():
        if isinstance(value, float) and not math.isfinite(value):
            out[key] = None
        elif isinstance(value, str | int | float | bool | type(None) | list | dict):
            out[key] = value
        else:
            out[key] = str(value)
    return out


def _metadata_value(value: Any) -> Any:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return dg.MetadataValue.json(value) if isinstance(value, dict | list) else str(value)


def concern_check(
    card: ProjectCard,
    concern_id: str,
    *,
    asset: dg.AssetsDefinition | dg.AssetKey | str,
    measure: Callable[..., Measurement],
    additional_deps: list[Any] | None = None,
    resources: Sequence[str] = (),
) -> dg.AssetChecksDefinition:
    """Build the Dagster asset check that enforces ``concern_id`` of ``card`` on ``asset``.

    ``measure`` receives the asset's value and returns a :class:`Measurement`; it is plain
    Python (no Dagster), so it can be tested on its own. A check that measures an outside system
    names the resources it needs (``resources=("invoice_workspace",)``): ``measure`` then also
    receives each as a keyword argument, as the run's ``Definitions`` (or a test) bound it.
    """
    concern = card.concern(concern_id)
    if concern.check is None or concern.metric is None or concern.threshold is None:
        raise ValueError(f"{card.domain}: concern {concern_id!r} needs metric, threshold and check in the card")
    asset_key = asset.key if isinstance(asset, dg.AssetsDefinition) else dg.AssetKey.from_coercible(asset)
    severity = dg.AssetCheckSeverity.ERROR if concern.severity == "ERROR" else dg.AssetCheckSeverity.WARN
    domain = card.domain

    @dg.asset_check(
        asset=asset_key,
        name=concern.check,
        blocking=concern.blocking,
        description=f"{concern.statement} — {concern.metric.name} {concern.threshold}",
        additional_deps=additional_deps,
        required_resource_keys=set(resources),
    )
    def _check(context, value: Any) -> dg.AssetCheckResult:  # type: ignore[no-untyped-def]
        measurement = measure(value, **{key: getattr(context.resources, key) for key in resources})
        outcome = evaluate_concern(domain, concern, measurement, asset_key=asset_key.to_user_string(),
                                   run_id=context.run.run_id)
        metadata = {
            "concern": concern.statement,
            "metric": concern.metric.name if concern.metric else None,
            "value": _metadata_value(measurement.value),
            "threshold": str(measurement.threshold or concern.threshold),
            "summary": measurement.summary,
            **{f"detail_{k}": _metadata_value(v) for k, v in measurement.details.items()},
        }
        if outcome.alert_id is not None:
            metadata["alert_id"] = outcome.alert_id
        if measurement.evidence_url:
            metadata["evidence"] = dg.MetadataValue.url(measurement.evidence_url)
        return dg.AssetCheckResult(passed=outcome.passed, severity=severity, metadata=metadata)

    return _check


def latest_results(domain: str | None = None, db_url: str | None = None) -> list[CheckResult]:
    """The most recent evaluation of every concern (optionally of one domain)."""
    latest = (
        sa.select(CheckResult.domain, CheckResult.concern_id, sa.func.max(CheckResult.id).label("id"))
        .group_by(CheckResult.domain, CheckResult.concern_id)
        .subquery()
    )
    query = sa.select(CheckResult).join(latest, CheckResult.id == latest.c.id).order_by(CheckResult.domain)
    if domain:
        query = query.where(CheckResult.domain == domain)
    with db.read_session(db_url) as sess:
        return list(sess.scalars(query))


def metric_history(domain: str, concern_id: str, limit: int = 200, db_url: str | None = None) -> list[CheckResult]:
    """The last ``limit`` evaluations of one concern, oldest first."""
    with db.read_session(db_url) as sess:
        rows = sess.scalars(
            sa.select(CheckResult).where(CheckResult.domain == domain, CheckResult.concern_id == concern_id)
            .order_by(CheckResult.id.desc()).limit(limit)
        ).all()
    return list(reversed(rows))
