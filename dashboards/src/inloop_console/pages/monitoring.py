"""Monitoring: drift reports, data-check results, traffic and the live test set, model age, the log."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from inloop import domains as registry
from inloop.settings import get_settings
from inloop_console import model_registry, queries
from inloop_console.access import guard

guard()  # a page opened around app.py still requires login

PAGE_SIZE = 50


@st.cache_data(ttl=60, show_spinner=False)
def window(domain: str, db_url: str) -> queries.TrafficWindow:
    return queries.traffic_window(domain, 30, component_days=7)


st.title("Monitoring")
names = sorted(registry.discover_domains())
if not names:
    st.warning("No domains are installed.")
    st.stop()
domain = st.selectbox("Domain", names, key="monitoring_domain")
db_url = get_settings().platform_db_url
tab_traffic, tab_checks, tab_drift, tab_log = st.tabs(
    ["Traffic and live test set", "Data and model checks", "Drift reports", "Prediction log"])

with tab_traffic:
    traffic = window(domain, db_url)
    days = traffic.per_day
    if not days:
        st.info(f"No predictions logged for {domain} in the last 30 days. Every answer its API serves is "
                "logged here (with the live-test-set flag) once it runs.", icon=":material/query_stats:")
    else:
        frame = pd.DataFrame(days)
        served, live = int(frame["served"].sum()), int(frame["live_test_set"].sum())
        a, b = st.columns(2)
        a.metric("Predictions served, last 30 days", f"{served:,}")
        b.metric("In the live test set", f"{live:,}", f"{live / served:.1%} of traffic", delta_color="off",
                 help="A small, fixed share of traffic on which the model does not change the outcome, so "
                      "its true performance can be measured without feedback bias.")
        long = frame.melt("day", ["served", "live_test_set"], var_name="kind", value_name="predictions")
        st.altair_chart(alt.Chart(long).mark_bar().encode(
            x=alt.X("day:T", title=None), y=alt.Y("predictions:Q"), color=alt.Color("kind:N", title=None),
            xOffset="kind:N").properties(height=220), width="stretch")
        st.markdown("**Per component, last 7 days (whole days)**")
        st.dataframe(pd.DataFrame(traffic.per_component), hide_index=True, width="stretch",
                     column_config={"live test share": st.column_config.NumberColumn(format="percent")})
        st.markdown("**Model versions in service (model age)**")
        st.dataframe(pd.DataFrame(traffic.per_version), hide_index=True, width="stretch")
    st.markdown("**Live test set against offline**")
    statuses = [s for s in queries.concern_statuses(queries.load_cards({domain: registry.get_domain(domain)}).cards,
                                                    history=0)
                if s.concern.metric and any(w in s.concern.metric.name for w in ("live", "offline", "auc",
                                                                                 "recall", "accuracy"))]
    if statuses:
        st.dataframe(pd.DataFrame([{"concern": s.concern.statement, "metric": s.concern.metric.name,
                                    "latest": s.value, "must be": s.threshold, "status": s.status,
                                    "checked": s.last_checked} for s in statuses]),
                     hide_index=True, width="stretch")
    else:
        st.caption("This domain's card has no live-versus-offline performance concern yet.")
    if model_registry.tracking_store_exists():
        st.page_link("pages/models.py", label="Offline evaluation, slices and promotion gates: Models",
                     icon=":material/model_training:")

with tab_checks:
    offset_page = st.number_input("Page", min_value=1, value=1, key="checks_page")
    rows, total = queries.check_history_page(domain, offset=(int(offset_page) - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    if not total:
        st.info(f"No check has run for {domain} yet. Great Expectations data checks and the concern checks run "
                "with the domain's Dagster assets and are recorded here.", icon=":material/rule:")
    else:
        st.caption(f"{total} evaluation(s), newest first · page {int(offset_page)} of {-(-total // PAGE_SIZE)}")
        st.dataframe(pd.DataFrame([{"checked": r.evaluated_at, "check": r.check_name, "holds": r.passed,
                                    "metric": r.metric_name, "value": r.metric_value,
                                    "must be": f"{r.threshold_op} {r.threshold_value:g}",
                                    "summary": (r.details or {}).get("summary", "")} for r in rows]),
                     hide_index=True, width="stretch")
        pick = st.selectbox("Details of", rows, format_func=lambda r: f"{r.evaluated_at:%Y-%m-%d %H:%M} "
                            f"{r.check_name} ({'holds' if r.passed else 'fails'})", key="checks_pick")
        with st.expander("Everything the check recorded (e.g. each expectation's result)"):
            st.json(pick.details or {}, expanded=True)
            if pick.evidence_url:
                st.caption(f"evidence: {pick.evidence_url}")

with tab_drift:
    reports = queries.drift_reports(domain)
    if not reports:
        st.info(f"No drift reports for {domain} yet. Evidently reports written to "
                f"`{get_settings().reports_dir / domain}` appear here.", icon=":material/compare_arrows:")
    else:
        report = st.selectbox("Report", reports, key="drift_pick",
                              format_func=lambda p: f"{p.stem} ({pd.Timestamp(p.stat().st_mtime, unit='s'):%Y-%m-%d %H:%M})")
        # The report is HTML the platform generated (Evidently), not user input; it runs in a sandboxed iframe.
        components.html(report.read_text(encoding="utf-8", errors="replace"), height=800, scrolling=True)

with tab_log:
    cursor_key = f"log_cursor_{domain}"
    cursors: list[int | None] = st.session_state.setdefault(cursor_key, [None])
    page = queries.prediction_page(domain, before_id=cursors[-1], limit=PAGE_SIZE)
    if not page.rows and len(cursors) == 1:
        st.info(f"The prediction log of {domain} is empty.", icon=":material/list:")
    else:
        st.caption(f"Newest first, {PAGE_SIZE} per page · page {len(cursors)}. Open a request on the Bug reports "
                   "page to replay it.")
        st.dataframe(pd.DataFrame(page.rows), hide_index=True, width="stretch")
        a, b = st.columns(2)
        if len(cursors) > 1 and a.button("Newer", key="log_newer"):
            cursors.pop()
            st.rerun()
        if page.next_before_id is not None and b.button("Older", key="log_older"):
            cursors.append(page.next_before_id)
            st.rerun()
