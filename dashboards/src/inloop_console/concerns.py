"""What every page says about a concern: its state (an open alert colours it), its metric in the card's
words, a link to its page, its alerts' evidence read out, and what is related to it.

No Streamlit here except in the small drawing helpers at the end (``alert_actions``, ``show_stored_run``),
so the rules are plain functions the tests call directly.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inloop import db
from inloop.alerts import AlertRecord
from inloop.cards import Concern, ProjectCard, Threshold
from inloop.db.models import CheckResult
from inloop.domains import DomainPlugin
from inloop.incidents.postmortems import Postmortem
from inloop.wording import describe, metric_label, quantity, requirement
from inloop_console.queries import ConcernStatus

__all__ = ["STATE_COLOUR", "ConcernState", "alert_in_words", "concern_state", "concern_url", "related_postmortems",
           "scoreboard_html", "trend_chart", "trend_word"]

#: A concern's state as people read it, and its pill colour (background, text).
STATE_COLOUR = {
    "holds": ("#e3f4e6", "#1b5e20"),
    "needs attention": ("#fde4e4", "#b71c1c"),
    "alert open": ("#fde4e4", "#b71c1c"),
    "warning open": ("#fff1d6", "#8a5300"),
    "not yet checked": ("#eeeeee", "#555555"),
}


@dataclass(frozen=True)
class ConcernState:
    """The state shown for a concern: the check's verdict, overridden by an open alert."""

    word: str
    why: str
    alerts: tuple[AlertRecord, ...] = ()

    @property
    def bad(self) -> bool:
        return self.word in ("needs attention", "alert open")


def concern_state(status: ConcernStatus, open_alerts: Iterable[AlertRecord]) -> ConcernState:
    """The check's verdict, unless an open alert says more: an open ERROR alert is never green."""
    mine = tuple(a for a in open_alerts if a.domain == status.domain and a.concern_id == status.concern.id
                 and a.status == "open")
    if status.status == "needs attention":
        return ConcernState("needs attention", "the latest check failed", mine)
    if any(a.severity == "ERROR" for a in mine):
        return ConcernState("alert open", f"alert #{mine[0].id} is open although the latest check passed", mine)
    if mine:
        return ConcernState("warning open", f"warning #{mine[0].id} is open", mine)
    if status.status == "holds":
        return ConcernState("holds", "the latest check passed", mine)
    return ConcernState("not yet checked", status.why_unchecked, mine)


def concern_url(domain: str, concern_id: str) -> str:
    """The concern page's address, relative to the console (works under any base path)."""
    return "concern?" + urllib.parse.urlencode({"domain": domain, "concern": concern_id})


def trend_word(status: ConcernStatus) -> str:
    """"better", "worse" or "steady": the last value against the one five checks before, read with the threshold."""
    values = [p.value for p in status.history if p.value is not None]
    threshold = status.concern.threshold
    if len(values) < 2 or threshold is None:
        return "too few checks" if len(values) < 2 else ""
    then, now = values[max(0, len(values) - 6)], values[-1]
    if abs(now - then) <= 1e-9 * max(1.0, abs(then)):
        return "steady"
    if threshold.op in ("<=", "<"):
        return "better" if now < then else "worse"
    if threshold.op in (">=", ">"):
        return "better" if now > then else "worse"
    return "better" if abs(now - threshold.value) < abs(then - threshold.value) else "worse"


def _sparkline(status: ConcernStatus, width: int = 110, height: int = 26) -> str:
    values = [p.value for p in status.history if p.value is not None]
    if len(values) < 2:
        return ""
    threshold = status.concern.threshold
    low, high = min(values), max(values)
    if threshold is not None:
        low, high = min(low, threshold.value), max(high, threshold.value)
    span = (high - low) or 1.0

    def y(v: float) -> float:
        return round(height - 3 - (v - low) / span * (height - 6), 1)

    step = (width - 4) / (len(values) - 1)
    points = " ".join(f"{2 + i * step:.1f},{y(v)}" for i, v in enumerate(values))
    rule = (f'<line x1="0" x2="{width}" y1="{y(threshold.value)}" y2="{y(threshold.value)}" stroke="#c62828" '
            f'stroke-dasharray="3,2" stroke-width="1"/>') if threshold is not None else ""
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="trend">{rule}'
            f'<polyline fill="none" stroke="#555" stroke-width="1.5" points="{points}"/></svg>')


def pill(word: str) -> str:
    bg, fg = STATE_COLOUR[word]
    return (f'<span style="background:{bg};color:{fg};border-radius:999px;padding:2px 10px;white-space:nowrap;'
            f'font-weight:600;font-size:0.85em">{html.escape(word)}</span>')


def metric_cell(status: ConcernStatus) -> tuple[str, str]:
    """(the metric's current value in words, what it must be) for a scoreboard row."""
    concern = status.concern
    unit = concern.metric.unit if concern.metric else ""
    must = requirement(concern.threshold, unit) if concern.threshold else ""
    if status.status == "not yet checked":
        return f"{metric_label(concern)}: not measured yet", must
    return f"{metric_label(concern)}: {quantity(status.value, unit)}", must


def scoreboard_html(statuses: list[ConcernStatus], states: Mapping[tuple[str, str], ConcernState]) -> str:
    """One project's concerns as a compact HTML table: concern (linked to its page), state pill, metric, trend."""
    order = {"needs attention": 0, "alert open": 0, "warning open": 1, "holds": 2, "not yet checked": 3}
    rows = []
    for s in sorted(statuses, key=lambda s: order[states[(s.domain, s.concern.id)].word]):
        state = states[(s.domain, s.concern.id)]
        value, must = metric_cell(s)
        link = (f'<a href="{html.escape(concern_url(s.domain, s.concern.id))}" target="_self">'
                f'{html.escape(s.concern.statement)}</a>')
        checked = f"{s.last_checked:%d %b %H:%M}" if s.last_checked else "—"
        trend = trend_word(s)
        rows.append(
            f"<tr><td>{link}</td><td>{pill(state.word)}</td><td>{html.escape(value)}</td>"
            f"<td>{html.escape(must)}</td><td>{_sparkline(s)}<br><small>{html.escape(trend)}</small></td>"
            f"<td><small>{checked}</small></td></tr>")
    head = ("<tr><th>Concern</th><th>State</th><th>Now</th><th>Must be</th><th>Trend</th>"
            "<th>Checked (UTC)</th></tr>")
    style = ("<style>.inloop-board{width:100%;border-collapse:collapse;font-size:0.92em}"
             ".inloop-board td,.inloop-board th{padding:4px 8px;border-bottom:1px solid #e6e6e6;text-align:left;"
             "vertical-align:middle}.inloop-board th{font-weight:600;color:#555}</style>")
    return f'{style}<table class="inloop-board">{head}{"".join(rows)}</table>'


# Alerts in the card's words -----------------------------------------------------------------------


def _check_result(result_id: Any, db_url: str | None = None) -> CheckResult | None:
    if not isinstance(result_id, int):
        return None
    with db.read_session(db_url) as sess:
        return sess.get(CheckResult, result_id)


def alert_in_words(alert: AlertRecord, cards: Mapping[str, ProjectCard]) -> str | None:
    """A check alert read out in the card's words: "Age of the model in service: 91 days (must be at most
    90 days)". None when the alert is not a check's or the card no longer has its concern."""
    card = cards.get(alert.domain)
    concern = next((c for c in card.concerns if c.id == alert.concern_id), None) if card else None
    if concern is None or concern.metric is None or alert.source != "check":
        return None
    row = _check_result(alert.evidence.get("check_result_id"))
    if row is None:
        return None
    threshold = None
    if row.threshold_op in ("<=", ">=", "==", "<", ">") and row.threshold_value is not None:
        threshold = Threshold(op=row.threshold_op, value=row.threshold_value)
    return describe(concern, row.metric_value, threshold)


def evidence_lines(evidence: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An alert's evidence as (label, text) pairs a person reads, not raw JSON."""
    words = {"check": "Check", "asset": "Measured on", "run_id": "Pipeline run", "check_result_id": "Check result",
             "evidence_url": "Evidence", "group_key": "Bug-report group", "bug_report_ids": "Bug reports",
             "open_in_window": "Open reports in the window"}
    out = []
    for key, value in evidence.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            text = ", ".join(f"#{v}" if key.endswith("_ids") else str(v) for v in value[:20])
            text += f" (+{len(value) - 20})" if len(value) > 20 else ""
        elif isinstance(value, dict):
            text = "; ".join(f"{k}: {v}" for k, v in list(value.items())[:10])
        else:
            text = str(value)
        out.append((words.get(key, key.replace("_", " ").capitalize()), text))
    return out


# What is related to a concern ---------------------------------------------------------------------


def _mentions(pm: Postmortem, needles: set[str]) -> bool:
    refs = [pm.detection.reference or "", pm.detection.description, *(f.ref or "" for f in pm.facts),
            *(f.description for f in pm.facts), pm.summary, pm.root_cause]
    text = "\n".join(refs)
    return any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text) for n in needles)


def related_postmortems(domain: DomainPlugin, concern: Concern,
                        alert_ids: Iterable[int]) -> list[tuple[Path, Postmortem]]:
    """Post-mortems of the domain that name the concern, its check, or one of its alerts."""
    from inloop.incidents.index import load_folder

    needles = {concern.id, *(f"alert:{i}" for i in alert_ids)}
    if concern.check:
        needles |= {concern.check, f"check:{domain.name}/{concern.check}"}
    loaded, _errors = load_folder(domain.name, domain.postmortems_dir)
    return [(path, pm) for path, pm in loaded if _mentions(pm, needles)]


def trend_chart(status: ConcernStatus, height: int = 110) -> dict[str, Any]:
    """Vega-Lite spec of the metric's values, the threshold as a dashed rule, failed checks in red.

    Written as a plain spec (not Altair) because Altair validates every chart against the schema,
    which made an overview with twenty trends take seconds.
    """
    values = [{"checked": p.evaluated_at.isoformat(), "value": p.value, "holds": p.passed} for p in status.history]
    span = status.history[-1].evaluated_at - status.history[0].evaluated_at
    time_format = "%d %b" if span.days >= 2 else "%d %b %H:%M"
    layers: list[dict[str, Any]] = [
        {"mark": {"type": "line", "color": "#888"},
         "encoding": {"x": {"field": "checked", "type": "temporal", "title": None,
                            "axis": {"labelAngle": 0, "tickCount": 4, "format": time_format}},
                      "y": {"field": "value", "type": "quantitative", "title": None,
                            "axis": {"format": ".3~r", "tickCount": 4}}}},
        {"mark": {"type": "circle", "size": 40},
         "encoding": {"x": {"field": "checked", "type": "temporal"}, "y": {"field": "value", "type": "quantitative"},
                      "color": {"field": "holds", "type": "nominal", "legend": None,
                                "scale": {"domain": [True, False], "range": ["#2e7d32", "#c62828"]}},
                      "tooltip": [{"field": "checked", "type": "temporal", "format": "%Y-%m-%d %H:%M"},
                                  {"field": "value", "type": "quantitative"}, {"field": "holds", "type": "nominal"}]}},
    ]
    if status.concern.threshold is not None:
        layers.append({"mark": {"type": "rule", "strokeDash": [4, 3], "color": "#c62828"},
                       "encoding": {"y": {"datum": status.concern.threshold.value, "type": "quantitative"}}})
    return {"data": {"values": values}, "height": height, "layer": layers}
