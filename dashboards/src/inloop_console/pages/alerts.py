"""Alerts inbox: what the checks and bug-report groups raised, grouped by cause; acknowledge, assign, resolve;
draft a post-mortem."""

from __future__ import annotations

import streamlit as st

from inloop import domains as registry
from inloop.alerts import list_alerts
from inloop.incidents import DraftError, draft_from_alert, draft_path, write_draft
from inloop_console import queries
from inloop_console.access import guard, identity_input
from inloop_console.alert_view import alert_label, show_alert, show_flash

guard()  # a page opened around app.py still requires login

LIMIT = 100

st.title("Alerts")
st.caption("A failed concern check or a group of similar bug reports opens an alert. Repeats of the same cause "
           "count on one alert instead of sending another. Acknowledge what you have seen, assign it to who "
           "works on it, and resolve it with a note; your name is recorded with each.")
show_flash()

domains = registry.discover_domains()
cards = queries.load_cards(domains).cards
names = sorted(domains)
left, right = st.columns(2)
domain = left.selectbox("Project", ["all projects", *names], key="alerts_domain",
                        format_func=lambda n: cards[n].title if n in cards else n)
status = right.segmented_control("Show", ["open", "resolved", "all"], default="open", key="alerts_status")
rows = list_alerts(domain=None if domain == "all projects" else domain,
                   status=None if status in (None, "all") else status, limit=LIMIT)

if not rows:
    st.success("No alerts here. When a concern check fails, or enough people report the same problem, "
               "an alert appears in this inbox.", icon=":material/notifications_off:")
else:
    n = len(rows)
    st.caption(f"{n} alert{'' if n == 1 else 's'}, newest first" + (f" (the newest {LIMIT})" if n == LIMIT else ""))

for alert in rows:
    icon = ":material/error:" if alert.severity == "ERROR" else ":material/warning:"
    label = alert_label(alert, cards) + ("" if alert.status == "open" else " (resolved)")
    with st.expander(label if len(label) < 150 else label[:147] + "...", icon=icon):
        show_alert(alert, cards, key=f"alert_{alert.id}")
        with st.popover("Draft a post-mortem from this alert", icon=":material/history_edu:"):
            who = identity_input(f"alert_author_{alert.id}", "Your name (author of the draft)")
            if st.button("Write the draft", key=f"draft_alert_{alert.id}", icon=":material/history_edu:"):
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
                        st.success("The draft is written with the alert's facts filled in. Open it on the "
                                   "Post-mortems page to write the five whys.")
                        st.page_link("pages/postmortems.py", label="Open the draft", icon=":material/history_edu:")
