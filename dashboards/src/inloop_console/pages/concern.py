"""One concern on one page: its worst case, where it stands now, its check history with the threshold, its
open alerts (acted on here), its worst-case demo's last stored result, related bug reports and post-mortems.

Opened from everywhere a concern is named: ``concern?domain=<domain>&concern=<concern id>``.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from inloop import domains as registry
from inloop.alerts import list_alerts
from inloop.demos import last_demo_runs
from inloop.incidents import get_report
from inloop.wording import count_of, describe, metric_label, requirement
from inloop_console import queries
from inloop_console.access import guard, plain
from inloop_console.alert_view import show_alert, show_flash
from inloop_console.concerns import concern_state, pill, related_postmortems, trend_chart
from inloop_console.demo_view import show_step, stored_verdict

guard()  # a page opened around app.py still requires login

HISTORY = 200

domains = registry.discover_domains()
loaded = queries.load_cards(domains)
refs = {f"{name}:{c.id}": (name, c) for name, card in loaded.cards.items() for c in card.concerns}
if not refs:
    st.title("Concern")
    st.info("No concerns are written down yet: each project's card lists them.", icon=":material/info:")
    st.stop()

# A link names its concern as ?domain=...&concern=...; the URL follows the person's own pick afterwards.
linked = f"{st.query_params.get('domain', '')}:{st.query_params.get('concern', '')}"
if linked in refs:
    st.session_state["concern_ref"] = linked
elif linked != ":":
    st.warning(f"The linked concern {plain(linked)} is not on any project card here; pick one from the list.")
ref = st.selectbox("Concern", list(refs), key="concern_ref",
                   format_func=lambda r: f"{loaded.cards[refs[r][0]].title} — {refs[r][1].statement}")
name, concern = refs[ref]
st.query_params.update({"domain": name, "concern": concern.id})
card = loaded.cards[name]
domain = domains[name]

[status] = [s for s in queries.concern_statuses({name: card}, history=0) if s.concern.id == concern.id]
history = queries.recent_history(HISTORY, domain=name).get((name, concern.id), [])
status = dataclasses.replace(status, history=history)
alerts = list_alerts(domain=name, concern_id=concern.id, limit=50)
open_alerts = [a for a in alerts if a.status == "open"]
state = concern_state(status, open_alerts)

st.title(concern.statement)
who = f" · raised by {plain(concern.raised_by)}" if concern.raised_by else ""
st.caption(f"{plain(card.title)}{who}")
show_flash()

# Where it stands -------------------------------------------------------------------------------
st.markdown(pill(state.word), unsafe_allow_html=True)
if status.status == "not yet checked":
    st.info(f"Not checked yet: {status.why_unchecked}.", icon=":material/schedule:")
else:
    threshold = concern.threshold
    line = describe(concern, status.value) if threshold else f"{metric_label(concern)}: {status.value}"
    (st.error if state.bad else st.success)(f"{line} — checked {status.last_checked:%Y-%m-%d %H:%M} UTC.",
                                           icon=":material/error:" if state.bad else ":material/check_circle:")
    if state.bad and open_alerts:
        since = min(a.first_seen_at for a in open_alerts)
        st.markdown(f"**Live now:** an incident is open since {since:%Y-%m-%d %H:%M} UTC "
                    f"({count_of(sum(a.occurrences for a in open_alerts), 'failed check')} counted on "
                    f"{count_of(len(open_alerts), 'open alert')}).")
if concern.worst_case:
    st.markdown(f"**The worst case:** {plain(concern.worst_case)}")
if concern.user_story:
    st.caption(plain(concern.user_story))

# Open alerts -----------------------------------------------------------------------------------
st.subheader("Open alerts")
if not open_alerts:
    st.caption("None open. " + (f"{len(alerts)} earlier alert{'' if len(alerts) == 1 else 's'} resolved."
                                if alerts else "This concern has never raised an alert."))
for alert in open_alerts:
    with st.container(border=True):
        st.markdown(f"**Alert #{alert.id}**")
        show_alert(alert, loaded.cards, key=f"concern_alert_{alert.id}", concern_link=False)

# History ---------------------------------------------------------------------------------------
st.subheader("Check history")
if len(history) >= 2:
    st.vega_lite_chart(trend_chart(status, height=240), width="stretch")
    if concern.threshold is not None:
        unit = concern.metric.unit if concern.metric else ""
        st.caption(f"{metric_label(concern)} at each check (red dots failed). The dashed red line is the threshold: "
                   f"it {requirement(concern.threshold, unit)}.")
elif history:
    st.caption("One check so far: the history appears after the next run.")
else:
    st.caption("No check has run yet.")

# The worst-case demo ---------------------------------------------------------------------------
st.subheader("Worst-case demo")
try:
    demos = domain.demos()
except Exception as exc:  # a domain whose demos do not import: say so, show the rest
    demos = {}
    st.error(f"The demos of {plain(card.title)} do not load: {type(exc).__name__}.")
shown = [d for d in demos.values() if d.id == concern.demo or concern.id in d.concerns]
if not shown:
    st.caption("No worst-case demo shows this concern yet.")
for demo in shown:
    st.markdown(f"**{plain(demo.title)}** — {plain(demo.story)}")
    runs = last_demo_runs(name, demo.id)
    if not runs:
        st.caption("Not run yet on this installation: no stored result.")
    else:
        last = runs[0]
        (st.success if last.passed else st.error)(stored_verdict(last))
        with st.expander("Its steps, as stored"):
            for step in last.steps:
                show_step(step)
    st.page_link("pages/demos.py", label="Open it on the demos page", icon=":material/play_circle:",
                 query_params={"demo": f"{name}:{demo.id}"})

# Post-mortems and bug reports --------------------------------------------------------------------
st.subheader("Post-mortems")
postmortems = related_postmortems(domain, concern, [a.id for a in alerts])
if not postmortems:
    st.caption("No post-mortem names this concern, its check or its alerts.")
for _path, pm in postmortems:
    st.markdown(f"**{plain(pm.title)}** · {pm.status} · {pm.date:%Y-%m-%d}")
    st.caption(plain(pm.summary))
if postmortems:
    st.page_link("pages/postmortems.py", label="Read them on the post-mortems page", icon=":material/history_edu:")

st.subheader("Related bug reports")
report_ids: set[int] = set()
for alert in alerts:
    report_ids |= {i for i in alert.evidence.get("bug_report_ids", []) if isinstance(i, int)}
for _path, pm in postmortems:
    for ref_text in [pm.detection.reference or "", *(f.ref or "" for f in pm.facts)]:
        if ref_text.startswith("bug:") and ref_text[4:].isdigit():
            report_ids.add(int(ref_text[4:]))
reports = []
for report_id in sorted(report_ids, reverse=True)[:20]:
    try:
        reports.append(get_report(report_id))
    except (LookupError, ValueError):  # removed since the alert named it
        continue
if not reports:
    st.caption("No bug report is linked to this concern (through its alerts or post-mortems).")
for report in reports:
    st.markdown(f"**#{report.id}** · {report.status} · {report.created_at:%Y-%m-%d} · {plain(report.reporter)}: "
                f"{plain(report.text[:200])}")
if reports:
    st.page_link("pages/bug_reports.py", label="Open the bug reports", icon=":material/bug_report:")

# For engineers -----------------------------------------------------------------------------------
with st.expander("For engineers"):
    lines = [f"Project `{name}`, concern `{concern.id}`, severity {concern.severity}"
             + (", blocking" if concern.blocking else "")]
    if concern.metric:
        lines.append(f"Metric `{concern.metric.name}` ({plain(concern.metric.unit or 'no unit')}): "
                     f"{plain(concern.metric.description)}")
    if concern.threshold:
        lines.append(f"Threshold `{concern.threshold}`; check `{concern.check}`")
    if status.summary:
        lines.append(f"Last measurement: {plain(status.summary)}")
    if status.evidence_url:
        lines.append(f"Evidence: `{status.evidence_url}`")
    if status.run_id:
        lines.append(f"Dagster run `{status.run_id}`")
    lines.append(f"Alerts go to: {', '.join(concern.alert_route)}")
    for item in lines:
        st.markdown(item)
