"""Canary releases and rollbacks: a challenger serves a small share of traffic before it is promoted.

The life of a model version in the registry:

1. Training registers a candidate and evaluates its promotion gates (:func:`inloop.tracking.promote`'s
   gates). :func:`stage_candidate` then decides: gates failed -> refused (recorded on the version);
   gates passed and no champion yet (or canaries switched off) -> ``champion``; gates passed and a
   champion serves -> the MLflow alias ``challenger``.
2. The API serves a challenger to a deterministic share of subjects (:func:`routes_to_challenger`,
   ``settings.canary_share``), so one person always meets the same model; each logged prediction
   records the version that served it, and a canary entry also carries the champion's answer.
3. :func:`canary_report` reads the prediction log: latency, score distribution, agreement with the
   champion and live quality where labels exist; :func:`canary_gates` judges it against the settings.
4. :func:`promote_challenger` moves ``champion`` to the challenger only if the canary's gates hold
   (``inloop models promote DOMAIN``); :func:`rollback` points ``champion`` back
   (``inloop models rollback DOMAIN``). Both leave an audit alert and MLflow tags.

Which model a domain serves comes from its ``served_model`` hook (a :class:`inloop.serving.ServedModel`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

import sqlalchemy as sa

from inloop import db, tracking
from inloop.db.models import Label, Prediction, utcnow
from inloop.readiness import rubric
from inloop.serving import ServedModel, served_model
from inloop.settings import get_settings
from inloop.tracking import CHAMPION, GateResult, PromotionDecision

__all__ = ["CHALLENGER", "REVIEW", "REVIEWED_BY", "CanaryReport", "ModelEvent", "ServedModel", "StageDecision", "VersionStats",
           "canary_gates", "canary_report", "challenger_version", "clear_challenger", "promote_challenger",
           "reload_running_api", "rollback", "routes_to_challenger", "served_model", "stage_candidate"]

log = logging.getLogger("inloop.canary")

CHALLENGER: Final = "challenger"


# Aliases ---------------------------------------------------------------------------------------

def challenger_version(model_name: str) -> str | None:
    """The version the ``challenger`` alias points at, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return str(tracking.client().get_model_version_by_alias(model_name, CHALLENGER).version)
    except MlflowException:
        return None


def clear_challenger(model_name: str) -> None:
    from mlflow.exceptions import MlflowException

    with contextlib.suppress(MlflowException):
        tracking.client().delete_registered_model_alias(model_name, CHALLENGER)


@rubric("infra-6", how="automated", what="deterministic canary routing: a small share of subjects, each always to the same model")
def routes_to_challenger(subject_id: str, share: float | None = None, salt: str = "canary") -> bool:
    """Whether ``subject_id`` is served by the challenger: a stable hash below ``share`` (default: settings)."""
    share = get_settings().canary_share if share is None else share
    digest = hashlib.sha256(f"{salt}:{subject_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


@dataclass(frozen=True)
class StageDecision:
    """What training did with a candidate: ``champion``, ``challenger`` or ``refused``."""

    stage: Literal["champion", "challenger", "refused"]
    decision: PromotionDecision

    @property
    def reason(self) -> str:
        if self.stage == "challenger":
            return (f"{self.decision.model_name} v{self.decision.version} passed its gates and is now {CHALLENGER}: "
                    f"it serves {get_settings().canary_share:.0%} of traffic beside champion "
                    f"v{self.decision.previous_champion} until `inloop models promote`")
        return self.decision.reason


@rubric("infra-6", how="automated", what="training stages a gated candidate as challenger instead of replacing the champion")
def stage_candidate(domain: str, model_name: str, version: str | int, gates: list[GateResult]) -> StageDecision:
    """Gates failed: refuse (recorded). Passed: champion if none serves (or canaries are off), else challenger."""
    version = str(version)
    current = tracking.champion_version(model_name)
    if not gates or not all(g.passed for g in gates) or current is None or current == version \
            or get_settings().canary_share <= 0:
        decision = tracking.promote(model_name, version, gates)
        if decision.promoted:
            _log_card_quietly(domain, model_name, version)
        return StageDecision("champion" if decision.promoted else "refused", decision)
    mlc = tracking.client()
    earlier = challenger_version(model_name)
    if earlier is not None and earlier != version:  # a newer gated candidate takes over the canary
        mlc.set_model_version_tag(model_name, earlier, "inloop.promotion", f"superseded by v{version}")
    mlc.set_model_version_tag(model_name, version, "inloop.promotion_gates", json.dumps([asdict(g) for g in gates]))
    mlc.set_model_version_tag(model_name, version, "inloop.promotion", CHALLENGER)
    mlc.set_model_version_tag(model_name, version, "inloop.challenger_since", utcnow().isoformat())
    mlc.set_registered_model_alias(model_name, CHALLENGER, version)
    _event(domain, model_name, "challenger", f"{model_name} v{version} is the challenger",
           f"v{version} passed its promotion gates; it serves {get_settings().canary_share:.0%} of traffic beside "
           f"champion v{current} until `inloop models promote {domain}` finds its canary metrics hold.",
           {"version": version, "champion": current})
    return StageDecision(CHALLENGER, PromotionDecision(model_name, version, False, tuple(gates), current))


# The canary's figures ---------------------------------------------------------------------------

@dataclass(frozen=True)
class VersionStats:
    version: str
    role: str
    requests: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    score_mean: float | None = None
    score_p10: float | None = None
    score_p50: float | None = None
    score_p90: float | None = None
    non_finite_scores: int = 0
    decisions: dict[str, float] = field(default_factory=dict)
    labelled: int = 0
    live_auc: float | None = None


@dataclass(frozen=True)
class CanaryReport:
    domain: str
    model_name: str
    champion: str | None
    challenger: str | None
    since: dt.datetime | None
    stats: tuple[VersionStats, ...]
    compared: int  # canary requests that also carry the champion's answer
    agreement: float | None  # share of those where the champion would have decided alike
    mean_abs_score_diff: float | None
    min_agreement: float | None = None  # the domain's own bar, when it sets one

    def of(self, role: str) -> VersionStats | None:
        return next((s for s in self.stats if s.role == role), None)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["since"] = self.since.isoformat() if self.since else None
        return out


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo), 6)


def _auc(scores: list[float], labels: list[float]) -> float | None:
    if len(set(labels)) < 2 or min(labels.count(0.0), labels.count(1.0)) < 5:
        return None
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(labels, scores)), 4)


@rubric("infra-6", how="automated", what="the challenger's own latency, score distribution, agreement with the champion, live AUC")
def canary_report(domain: str, spec: ServedModel | None = None, *, max_rows: int = 50_000) -> CanaryReport:
    """The challenger beside the champion, from the prediction log since the challenger was set
    (the most recent ``max_rows`` entries of the two versions)."""
    spec = spec or served_model(domain)
    champion = tracking.champion_version(spec.model_name)
    challenger = challenger_version(spec.model_name)
    since = None
    if challenger is not None:
        raw = tracking.client().get_model_version(spec.model_name, challenger).tags.get("inloop.challenger_since")
        since = dt.datetime.fromisoformat(raw) if raw else None
    versions = {v: role for v, role in ((champion, "champion"), (challenger, "challenger")) if v is not None}
    logged = {f"{spec.version_prefix}{v}": v for v in versions}
    rows: list[Prediction] = []
    if versions:
        query = sa.select(Prediction).where(Prediction.domain == domain, Prediction.model_name == spec.model_name,
                                            Prediction.model_version.in_(list(logged)))
        if spec.component:
            query = query.where(Prediction.component == spec.component)
        if since is not None:
            query = query.where(Prediction.created_at >= since)
        query = query.order_by(Prediction.id.desc()).limit(max_rows)
        with db.read_session() as sess:
            rows = list(sess.scalars(query))
            labels = _labels_for(sess, domain, spec, rows)
    else:
        labels = {}
    stats = []
    compared = agreed = 0
    diffs: list[float] = []
    overlaps: list[float] = []
    for version, role in versions.items():
        mine = [r for r in rows if logged.get(r.model_version or "") == version]
        latencies = [r.latency_ms for r in mine if r.latency_ms is not None]
        scores: list[float] = []
        non_finite = 0
        decisions: dict[str, int] = {}
        auc_scores: list[float] = []
        auc_labels: list[float] = []
        for r in mine:
            score = r.output.get(spec.score_key) if spec.score_key else None
            if spec.score_key:
                if isinstance(score, int | float) and math.isfinite(score):
                    scores.append(float(score))
                else:
                    non_finite += 1
            if spec.decision_key and r.output.get(spec.decision_key) is not None:
                key = str(r.output[spec.decision_key])
                decisions[key] = decisions.get(key, 0) + 1
            label = labels.get(r.request_id, labels.get(f"subject:{r.subject_id}"))
            if label is not None and isinstance(score, int | float) and math.isfinite(score):
                auc_scores.append(score if spec.higher_score_means_label else -score)
                auc_labels.append(float(label))
            canary = r.output.get("canary") or {}
            if role == "challenger" and canary.get("champion_version") == champion:
                compared += 1
                if spec.decision_key:
                    agreed += canary.get("champion_decision") == r.output.get(spec.decision_key)
                elif spec.items_key:
                    theirs = set(canary.get("champion_items") or [])
                    shown = {i.get("item_id") if isinstance(i, dict) else i for i in r.output.get(spec.items_key) or []}
                    overlaps.append(len(theirs & shown) / len(theirs) if theirs else float(not shown))
                other = canary.get("champion_score")
                if isinstance(other, int | float) and isinstance(score, int | float) and math.isfinite(score):
                    diffs.append(abs(float(score) - float(other)))
        n = len(mine)
        stats.append(VersionStats(
            version, role, n, _quantile(latencies, 0.5), _quantile(latencies, 0.95),
            round(sum(scores) / len(scores), 6) if scores else None, _quantile(scores, 0.1), _quantile(scores, 0.5),
            _quantile(scores, 0.9), non_finite, {k: round(v / n, 4) for k, v in sorted(decisions.items())},
            len(auc_labels), _auc(auc_scores, auc_labels)))
    agreement = None
    if compared and spec.decision_key:
        agreement = round(agreed / compared, 4)
    elif overlaps:
        agreement = round(sum(overlaps) / len(overlaps), 4)
    elif compared and diffs:
        agreement = round(sum(d <= 0.05 for d in diffs) / len(diffs), 4)
    return CanaryReport(domain, spec.model_name, champion, challenger, since, tuple(stats), compared, agreement,
                        round(sum(diffs) / len(diffs), 6) if diffs else None, spec.min_agreement)


def _labels_for(sess: Any, domain: str, spec: ServedModel, rows: list[Prediction]) -> dict[str, float]:
    """Label value by request id (and by ``subject:<id>``) for the logged rows."""
    if not spec.label_name or not rows:
        return {}
    out: dict[str, float] = {}
    query = sa.select(Label).where(Label.domain == domain, Label.name == spec.label_name)
    for label in sess.scalars(query):
        if label.request_id:
            out[label.request_id] = label.value
        if label.subject_id:
            out[f"subject:{label.subject_id}"] = label.value
    return out


@rubric("infra-6", how="automated", what="promotion gates on the canary: traffic, latency, agreement, live quality, finite scores")
def canary_gates(report: CanaryReport) -> list[GateResult]:
    """Whether the canary's figures hold, against the settings' limits."""
    s = get_settings()
    if report.challenger is None:
        return [GateResult("has_challenger", False, f"{report.model_name} has no {CHALLENGER}: train one first")]
    mine, theirs = report.of("challenger"), report.of("champion")
    assert mine is not None
    gates = [GateResult("canary_traffic", mine.requests >= s.canary_min_requests,
                        f"challenger v{mine.version} served {mine.requests} requests "
                        f"(needs {s.canary_min_requests}, canary share {s.canary_share:.0%})")]
    if theirs is not None and theirs.latency_p95_ms and mine.latency_p95_ms is not None:
        ratio = mine.latency_p95_ms / theirs.latency_p95_ms
        gates.append(GateResult("canary_latency", ratio <= s.canary_max_latency_ratio,
                                f"p95 {mine.latency_p95_ms:.2f} ms vs champion {theirs.latency_p95_ms:.2f} ms "
                                f"(ratio {ratio:.2f}, at most {s.canary_max_latency_ratio})"))
    else:
        gates.append(GateResult("canary_latency", mine.latency_p95_ms is not None,
                                "no champion latency to compare" if mine.latency_p95_ms is not None
                                else "the challenger logged no latencies"))
    bar = s.canary_min_agreement if report.min_agreement is None else report.min_agreement
    gates.append(GateResult("canary_agreement", report.agreement is not None and report.agreement >= bar,
                            f"the champion would have answered alike on {report.agreement:.1%} of "
                            f"{report.compared} canary requests (needs {bar:.0%})"
                            if report.agreement is not None else "no canary request carries the champion's answer"))
    gates.append(GateResult("canary_finite_scores", mine.non_finite_scores == 0,
                            f"{mine.non_finite_scores} canary answers had no finite score"))
    if mine.live_auc is not None and theirs is not None and theirs.live_auc is not None:
        gates.append(GateResult("canary_live_quality", mine.live_auc >= theirs.live_auc - s.canary_max_quality_drop,
                                f"live AUC {mine.live_auc:.3f} on {mine.labelled} outcomes vs champion "
                                f"{theirs.live_auc:.3f} (may drop {s.canary_max_quality_drop})"))
    else:
        gates.append(GateResult("canary_live_quality", True,
                                f"not judged: too few labelled outcomes yet ({mine.labelled} for the challenger)"))
    return gates


#: Model-version tags of a promotion's review (model-1): who reviewed it, or "unreviewed".
REVIEWED_BY = "inloop.reviewed_by"
REVIEW = "inloop.review"


@rubric("infra-6", how="manual", what="`inloop models promote`: challenger -> champion only if its canary metrics hold")
def promote_challenger(domain: str, spec: ServedModel | None = None, *,
                       reviewer: str | None = None) -> tuple[PromotionDecision, CanaryReport]:
    """Promote the challenger when every canary gate holds; otherwise record the refusal on its version.

    ``reviewer`` is the person who reviewed the promotion (``inloop models promote --reviewer``, which
    refuses without one); it is stored on the promoted version (``inloop.reviewed_by``) and in the audit
    event, and shown on the model card. A promotion made without one is recorded as unreviewed.
    """
    reviewer = (reviewer or "").strip() or None
    spec = spec or served_model(domain)
    report = canary_report(domain, spec)
    gates = canary_gates(report)
    if report.challenger is None:
        return PromotionDecision(spec.model_name, "", False, tuple(gates), report.champion), report
    mlc = tracking.client()
    tags = mlc.get_model_version(spec.model_name, report.challenger).tags
    if "inloop.promotion_gates" in tags and "inloop.training_gates" not in tags:
        # promote() records the canary's gates; keep the training gates the version passed first.
        mlc.set_model_version_tag(spec.model_name, report.challenger, "inloop.training_gates",
                                  tags["inloop.promotion_gates"])
    decision = tracking.promote(spec.model_name, report.challenger, gates)
    if decision.promoted:
        clear_challenger(spec.model_name)
        # before the card is logged, so the card names the reviewer
        mlc.set_model_version_tag(spec.model_name, report.challenger, REVIEWED_BY, reviewer or "")
        mlc.set_model_version_tag(spec.model_name, report.challenger, REVIEW, "reviewed" if reviewer else "unreviewed")
        _log_card_quietly(domain, spec.model_name, report.challenger)
        review = f"reviewed by {reviewer}" if reviewer else "unreviewed"
        _event(domain, spec.model_name, "promoted",
               f"{spec.model_name} v{report.challenger} promoted to champion ({review})",
               f"the canary held ({', '.join(g.name for g in gates)}); previous champion v{report.champion}",
               {"version": report.challenger, "previous_champion": report.champion, "reviewer": reviewer,
                "report": report.to_dict()})
    else:
        # promote() tagged the refusal; the version stays the challenger and keeps serving its share.
        mlc.set_model_version_tag(spec.model_name, report.challenger, "inloop.promotion", CHALLENGER)
    return decision, report


# Rollback ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelEvent:
    domain: str
    model_name: str
    from_version: str | None
    to_version: str
    alert_id: int


@rubric("infra-7", how="manual", what="`inloop models rollback`: champion back to the previous (or a named) version, audited")
def rollback(domain: str, to_version: str | int | None = None, *, actor: str = "cli",
             spec: ServedModel | None = None) -> ModelEvent:
    """Point ``champion`` back (:func:`inloop.tracking.rollback_champion`), tag both versions, raise an audit alert."""
    spec = spec or served_model(domain)
    from_version, target = tracking.rollback_champion(spec.model_name, to_version)
    mlc = tracking.client()
    now = utcnow().isoformat()
    mlc.set_model_version_tag(spec.model_name, target, "inloop.rolled_back_at", now)
    mlc.set_model_version_tag(spec.model_name, target, "inloop.rolled_back_by", actor)
    if from_version:
        mlc.set_model_version_tag(spec.model_name, from_version, "inloop.promotion", "rolled_back")
        mlc.set_model_version_tag(spec.model_name, from_version, "inloop.rolled_back_to", target)
    alert = _event(domain, spec.model_name, "rollback",
                   f"{spec.model_name} rolled back: v{from_version} -> v{target}",
                   f"{actor} pointed {CHAMPION} of {spec.model_name} back from v{from_version} to v{target} at {now}; "
                   "the API serves it after POST /models/reload (the CLI asks a running API to reload).",
                   {"from_version": from_version, "to_version": target, "actor": actor})
    return ModelEvent(domain, spec.model_name, from_version, target, alert)


def reload_running_api(timeout_s: float = 10.0) -> str:
    """Ask the API at the settings' host and port to reload its models; says what happened, never raises."""
    import httpx

    s = get_settings()
    url = f"http://{s.api_host}:{s.api_port}/models/reload"
    try:
        resp = httpx.post(url, headers={"Authorization": f"Bearer {s.resolved_api_token()}"}, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return f"no API answered at {url} ({type(exc).__name__}); it loads the new champion when it starts"
    if resp.status_code != 200:
        return f"the API at {url} answered {resp.status_code}: {resp.text[:300]}"
    domains = resp.json().get("domains", {})
    return "API reloaded: " + "; ".join(f"{k}: {v['detail']}" for k, v in domains.items())


def _event(domain: str, model_name: str, kind: str, title: str, message: str, evidence: dict[str, Any]) -> int:
    """An audit row in the alert inbox (INFO, one per event)."""
    from inloop.alerts import raise_alert

    record = raise_alert(domain=domain, source="model", cause_key=f"model:{model_name}:{kind}:{uuid.uuid4().hex}",
                         title=title, message=message, severity="INFO", routes=("console", "log"),
                         evidence={"model_name": model_name, "event": kind, **evidence})
    log.info("%s: %s", domain, title)
    return record.id


def _log_card_quietly(domain: str, model_name: str, version: str) -> None:
    """Log the model card on the promoted version's run; a card failure never undoes a promotion."""
    try:
        from inloop.model_card import log_model_card

        log_model_card(domain, version=version)
    except Exception as exc:  # the card is documentation: say so loudly, keep the champion
        log.warning("%s: model card for %s v%s not logged: %s: %s", domain, model_name, version,
                    type(exc).__name__, exc)
