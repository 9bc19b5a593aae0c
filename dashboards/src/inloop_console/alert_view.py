"""One alert drawn for people: its text in the card's words, readable evidence, who has it, and the
acknowledge / assign / resolve actions (recorded with the person's name, as over the API)."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from inloop.alerts import (
    AlertConflict,
    AlertNotFound,
    AlertRecord,
    acknowledge_alert,
    alert_events,
    assign_alert,
    resolve_alert,
)
from inloop.cards import ProjectCard
from inloop_console.access import identity_input, plain
from inloop_console.concerns import alert_in_words, evidence_lines

__all__ = ["alert_label", "show_alert", "show_flash"]

_FLASH = "alert_flash"


def alert_label(alert: AlertRecord, cards: Mapping[str, ProjectCard]) -> str:
    card = cards.get(alert.domain)
    project = card.title if card else alert.domain
    return f"#{alert.id} · {project} · {alert.title}"


def show_flash() -> None:
    """The result of the last action, shown once after the page reran."""
    message = st.session_state.pop(_FLASH, None)
    if message:
        kind, text = message
        (st.success if kind == "ok" else st.error)(text)


def _who_has_it(alert: AlertRecord) -> str:
    parts = []
    if alert.status == "resolved":
        by = f" by {alert.resolved_by}" if alert.resolved_by else " (the check passed again)"
        when = f" on {alert.resolved_at:%Y-%m-%d %H:%M} UTC" if alert.resolved_at else ""
        parts.append(f"Resolved{by}{when}" + (f": {alert.resolution}" if alert.resolution else ""))
    if alert.acknowledged_by:
        parts.append(f"acknowledged by {alert.acknowledged_by} on {alert.acknowledged_at:%Y-%m-%d %H:%M} UTC")
    if alert.assignee:
        parts.append(f"assigned to {alert.assignee}")
    if alert.status == "open" and not parts:
        parts.append("Nobody has acknowledged it yet")
    return "; ".join(parts)


def _act(action: str, alert: AlertRecord, who: str, note: str, assignee: str = "") -> None:
    try:
        if action == "acknowledge":
            acknowledge_alert(alert.id, by=who, note=note or None)
            done = f"Alert #{alert.id} acknowledged by {who}."
        elif action == "assign":
            assign_alert(alert.id, to=assignee, by=who, note=note or None)
            done = f"Alert #{alert.id} assigned to {assignee}."
        else:
            resolve_alert(alert.id, by=who, note=note)
            done = f"Alert #{alert.id} resolved by {who}."
    except (AlertNotFound, AlertConflict, ValueError) as exc:
        st.session_state[_FLASH] = ("error", f"Could not {action} alert #{alert.id}: {exc}")
    else:
        st.session_state["console_identity"] = who  # remembered for the next action in this session
        st.session_state[_FLASH] = ("ok", done)
    st.rerun()


def show_alert(alert: AlertRecord, cards: Mapping[str, ProjectCard], *, key: str, concern_link: bool = True) -> None:
    """The alert's body (inside an expander or container the caller opened)."""
    words = alert_in_words(alert, cards)
    if words:
        st.markdown(f"**{plain(words)}**")
        st.caption(plain(alert.message))
    else:
        st.markdown(plain(alert.message))
    seen = f" · seen {alert.occurrences} times" if alert.occurrences > 1 else ""
    st.caption(f"{alert.severity.lower()} · first {alert.first_seen_at:%Y-%m-%d %H:%M} · last "
               f"{alert.last_seen_at:%Y-%m-%d %H:%M} UTC{seen}")
    st.markdown(f"*{plain(_who_has_it(alert))}.*")
    if concern_link and alert.concern_id:
        card = cards.get(alert.domain)
        concern = next((c for c in card.concerns if c.id == alert.concern_id), None) if card else None
        label = concern.statement.rstrip(".") if concern else alert.concern_id
        st.page_link("pages/concern.py", label=f"Concern: {label}", icon=":material/target:",
                     query_params={"domain": alert.domain, "concern": alert.concern_id})
    lines = evidence_lines(alert.evidence)
    events = alert_events(alert.id)
    with st.expander("For engineers: evidence and history"):
        for label, text in lines:
            st.markdown(f"*{plain(label)}:* {plain(text)}")
        st.caption(f"source: {alert.source} · cause: {alert.cause_key}")
        for e in events:
            to = f" to {e.assignee}" if e.assignee else ""
            note = f" — {e.note}" if e.note else ""
            st.caption(plain(f"{e.at:%Y-%m-%d %H:%M} UTC · {e.action}{to} by {e.actor}{note}"))
    if alert.status != "open":
        return
    who = identity_input(f"{key}_who", "Your name")
    note = st.text_input("Note (needed to resolve: what was done, or why nothing is needed)", key=f"{key}_note")
    assignee = st.text_input("Assign to (name or e-mail)", key=f"{key}_assignee")
    ack, give, close = st.columns(3)
    if ack.button("Acknowledge", key=f"{key}_ack", icon=":material/visibility:",
                  disabled=alert.acknowledged_at is not None):
        _act("acknowledge", alert, who, note)
    if give.button("Assign", key=f"{key}_assign", icon=":material/person_add:"):
        _act("assign", alert, who, note, assignee)
    if close.button("Resolve", key=f"{key}_resolve", icon=":material/task_alt:"):
        _act("resolve", alert, who, note)
