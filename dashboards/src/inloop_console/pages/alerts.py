"""Alerts inbox: what the checks and bug-report groups raised, grouped by cause; draft a post-mortem."""

from __future__ import annotations

import streamlit as st

from inloop import domains as registry
from inloop.alerts import list_alerts
from inloop.incidents import DraftError, draft_from_alert, draft_path, write_draft
from inloop_console.access import guard, identity_input, inline_code

guard()  # a page opened around app.py still requires login

LIMIT = 100

st.title("Alerts")
st.caption("A failed concern check or a group of similar bug reports opens an alert. Repeats of the same cause "
           "count on one alert instead of sending another.")

names = sorted(registry.discover_domains())
left, right = st.columns(2)
domain = left.selectbox("Domain", ["all domains", *names], key="alerts_domain")
status = right.segmented_control("Show", ["open", "resolved", "all"], default="open", key="alerts_status")
rows = list_alerts(domain=None if domain == "all domains" else domain,
                   status=None if status in (None, "all") else status, limit=LIMIT)

if not rows:
    st.success("No alerts here. When a concern check fails, or enough people report the same problem, "
               "an alert appears in this inbox.", icon=":material/notifications_off:")
else:
    st.caption(f"{len(rows)} alert(s), newest first" + (f" (the newest {LIMIT})" if len(rows) == LIMIT else ""))

for alert in rows:
    icon = ":material/error:" if alert.severity == "ERROR" else ":material/warning:"
    seen = f" · seen {alert.occurrences}×" if alert.occurrences > 1 else ""
    label = f"#{alert.id} · {alert.domain} · {alert.title}"
    with st.expander(label if len(label) < 150 else label[:147] + "...", icon=icon):
        st.caption(f"{alert.domain} · {alert.status} · {alert.severity} · from {alert.source}{seen} · first "
                   f"{alert.first_seen_at:%Y-%m-%d %H:%M} · last {alert.last_seen_at:%Y-%m-%d %H:%M} UTC")
        st.text(alert.message)
        if alert.evidence:
            st.markdown("**Evidence**")
            st.json(alert.evidence, expanded=False)
        who = identity_input(f"alert_author_{alert.id}", "Your name (author of the draft)")
        if st.button("Draft a post-mortem from this alert", key=f"draft_alert_{alert.id}",
                     icon=":material/history_edu:"):
            if not who:
                st.error("Say who drafts it: the post-mortem records its authors.")
            else:
                try:
                    pm = draft_from_alert(alert.id, authors=[who])
                    path = write_draft(pm, draft_path(pm))
                except (DraftError, LookupError) as exc:
                    st.error(f"Could not draft it: {exc}")
                else:
                    st.session_state["postmortem_open"] = (pm.domain, path.stem)
                    st.success(f"Draft written to `{path}` with the alert's facts filled in. "
                               f"Open it on the Post-mortems page to write the five whys.")
                    st.page_link("pages/postmortems.py", label="Open the draft", icon=":material/history_edu:")
        if alert.concern_id:
            st.caption(f"Concern: {inline_code(alert.concern_id)} (see the Overview for its trend)")
