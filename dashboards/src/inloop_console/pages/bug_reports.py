"""Bug reports: report a "WTF moment", the inbox with groups and escalations, replay, start a post-mortem."""

from __future__ import annotations

import streamlit as st

from inloop import domains as registry
from inloop.incidents import (
    BugReportError,
    DraftError,
    ReplayNotSupportedError,
    UnknownRequestError,
    close_report,
    draft_from_bug,
    draft_path,
    file_report,
    get_report,
    link_to_postmortem,
    list_groups,
    replay,
    report_history,
    triage_report,
    write_draft,
)
from inloop.incidents.bug_reports import SEVERITIES, STATUSES, BugReportRecord
from inloop.settings import get_settings
from inloop_console import queries
from inloop_console.access import guard, identity_input, inline_code, plain

guard()  # a page opened around app.py still requires login

PAGE_SIZE = 20


@st.cache_data(ttl=300, show_spinner=False)
def groups_of(version: tuple, db_url: str) -> list:
    """The groups (each needs its domain's card): recomputed only when a report or an alert changed."""
    return list_groups()


def problems_of(exc: BugReportError) -> None:
    st.error("Nothing was saved. Please fix:\n" + "\n".join(f"- **{plain(f)}**: {plain(p)}" for f, p in exc.problems))


def start_postmortem(report: BugReportRecord, who: str) -> None:
    """Draft a post-mortem from the report (facts pre-filled), and link the report to it."""
    try:
        pm = draft_from_bug(report.id, authors=[who])
        path = write_draft(pm, draft_path(pm))
        if report.status == "new":
            triage_report(report.id, actor=who, note="triaged to start a post-mortem")
        if report.status in ("new", "triaged"):
            link_to_postmortem(report.id, path.stem, actor=who)
    except (DraftError, BugReportError, LookupError) as exc:
        st.error(f"Could not start the post-mortem: {exc}")
        return
    st.session_state["postmortem_open"] = (pm.domain, path.stem)
    st.success(f"Draft post-mortem written to `{path}` with the report, its screenshot, the replay and the "
               "similar reports as facts. The report is linked to it.")
    st.page_link("pages/postmortems.py", label="Open the draft", icon=":material/history_edu:")


def show_replay(request_id: str, key: str) -> None:
    try:
        logged = replay(request_id)
    except UnknownRequestError:
        st.warning(f"Request {request_id} is not in the prediction log.")
        return
    rec = logged.record
    st.markdown(f"**What the system saw and answered** — {plain(rec.domain)}/{plain(rec.component)}, model "
                f"{plain(rec.model_name or '-')} {plain(rec.model_version or '-')}, at {rec.created_at:%Y-%m-%d %H:%M} UTC"
                + (" · live test set (the model did not change the outcome)" if rec.live_test_set else ""))
    left, right = st.columns(2)
    with left:
        st.caption("features (exactly as logged)")
        st.json(rec.features, expanded=False)
    with right:
        st.caption("output")
        st.json(rec.output, expanded=False)
    if st.button("Re-run it on today's champion", key=f"rerun_{key}", icon=":material/replay:"):
        try:
            again = replay(request_id, against="champion")
        except (ReplayNotSupportedError, LookupError, ValueError) as exc:
            st.warning(f"Cannot re-run: {exc}")
        else:
            rr = again.rerun
            if rr is None or rr.same_output:
                st.info("The champion answers exactly the same.")
            else:
                st.warning("The champion answers differently:\n" + "\n".join(f"- {inline_code(str(c))}"
                                                                             for c in rr.changes))
            if rr is not None and rr.notes:
                st.caption(plain(rr.notes))


def show_report(report: BugReportRecord) -> None:
    where = " / ".join(x for x in (report.page, report.component) if x) or "page not given"
    title = (f"#{report.id} · {report.status} · {report.severity} · {TITLES.get(report.domain, report.domain)} · "
             f"{where}")
    with st.container(border=True):
        st.markdown(f"**{plain(title)}**")
        st.caption(f"reported by {report.reporter} on {report.created_at:%Y-%m-%d %H:%M} UTC · group "
                   f"`{report.group_key}`" + (f" · post-mortem `{report.postmortem_slug}`" if report.postmortem_slug
                                              else ""))
        st.text(report.text)  # the reporter's words, shown as text (never Markdown or HTML)
        if report.screenshot_file is not None and report.screenshot_file.is_file():
            st.image(str(report.screenshot_file), caption="screenshot", width=480)
        if report.request_id:
            show_replay(report.request_id, f"r{report.id}")
        else:
            st.caption("No request id: the prediction behind it cannot be replayed.")
        if report.resolution:
            st.markdown(f"**Resolution:** {plain(report.resolution)}")
        with st.popover("History"):
            for change in report_history(report.id):
                st.text(f"{change.at:%Y-%m-%d %H:%M} {change.actor}: {change.from_status or '-'} -> "
                        f"{change.to_status} {change.note or ''}")
        who = identity_input(f"bug_actor_{report.id}", "Your name (recorded with the change)")
        a, b, c = st.columns(3)
        if report.status in ("new", "triaged", "closed") and a.button(
                "Triage" if report.status != "closed" else "Reopen", key=f"triage_{report.id}"):
            if not who:
                st.error("Say who makes this change.")
            else:
                try:
                    triage_report(report.id, actor=who, note="triaged in the console")
                    st.rerun()
                except BugReportError as exc:
                    problems_of(exc)
        if report.status != "closed":
            resolution = c.text_input("Resolution", key=f"resolution_{report.id}",
                                      placeholder="fixed how, or why it is not a bug")
            if c.button("Close", key=f"close_{report.id}"):
                try:
                    close_report(report.id, resolution, actor=who)
                    st.rerun()
                except BugReportError as exc:
                    problems_of(exc)
        if report.status in ("new", "triaged") and b.button("Start a post-mortem", key=f"pm_{report.id}",
                                                           icon=":material/history_edu:"):
            if not who:
                st.error("Say who starts it: the post-mortem records its authors.")
            else:
                start_postmortem(report, who)


st.title("Bug reports")
st.caption("Saw something wrong? Tell us with the request id and a screenshot: we can read back exactly what the "
           "system saw and did. When several people report the same thing, it escalates.")
domains = sorted(registry.discover_domains())
TITLES = {name: card.title for name, card in queries.load_cards(registry.discover_domains()).cards.items()}
tab_form, tab_inbox = st.tabs(["Report a problem", "Inbox"])

with tab_form:
    if not domains:
        st.warning("No domains are installed, so there is nothing to report against yet.")
    else:
        params = st.query_params
        with st.form("bug_form", clear_on_submit=False):
            who = identity_input("bug_reporter")
            default_domain = params.get("domain")
            domain = st.selectbox("Which system", domains,
                                  index=domains.index(default_domain) if default_domain in domains else 0,
                                  format_func=lambda n: TITLES.get(n, n))
            text = st.text_area("What did you see, and what did you expect?", key="bug_text")
            left, right = st.columns(2)
            request_id = left.text_input("Request id (shown on the page or in the API response)",
                                         value=params.get("request_id", ""), key="bug_request_id")
            page = right.text_input("Page or screen", value=params.get("page", ""), key="bug_page")
            component = left.text_input("Part of the page (optional)", key="bug_component",
                                        placeholder="e.g. last_seen, recommended_for_you")
            segment = right.text_input("Who is affected (optional)", key="bug_segment",
                                       placeholder="e.g. shared_account")
            failure_kind = left.text_input("Kind of problem (optional)", key="bug_failure_kind",
                                           placeholder="e.g. off_context_item")
            severity = right.selectbox("How bad is it", SEVERITIES, index=1, key="bug_severity")
            screenshot = st.file_uploader("Screenshot (PNG, JPEG or WebP)", type=["png", "jpg", "jpeg", "webp"],
                                          key="bug_screenshot")
            submitted = st.form_submit_button("Send the report", type="primary")
        if submitted:
            fields = {"reporter": who, "text": text, "domain": domain, "page": page or None,
                      "component": component or None, "segment": segment or None,
                      "failure_kind": failure_kind or None, "severity": severity,
                      "request_id": request_id.strip() or None}
            try:
                filed = file_report(fields, screenshot=screenshot.getvalue() if screenshot is not None else None)
            except BugReportError as exc:
                problems_of(exc)
            else:
                st.session_state["console_identity"] = who
                group = filed.group
                st.success(f"Thank you — report #{filed.report.id} is recorded. {group.open_in_window} open "
                           f"report(s) like it in the last {group.window_days} days (it escalates at "
                           f"{group.threshold}).")
                if filed.escalated_now:
                    st.warning(f"This report made the group escalate: alert #{filed.alert.id} is open.")  # type: ignore[union-attr]

with tab_inbox:
    groups = groups_of(queries.reports_version(), get_settings().platform_db_url)
    if not groups:
        st.info("No bug reports yet. Reports sent with the form (or `POST /bug-reports`, or `inloop bugs report`) "
                "appear here, grouped by what they are about.", icon=":material/inbox:")
    else:
        st.markdown("#### Groups")
        st.caption("Reports about the same part, problem and audience form a group; a group escalates at the "
                   "project card's threshold.")
        st.dataframe([{"group": g.group_key, "open in window": g.open_in_window, "threshold": g.threshold,
                       "escalated": f"yes (alert #{g.alert_id})" if g.alert_id else "no", "total": g.total,
                       "last report": g.last_reported_at} for g in groups], hide_index=True,
                     width="stretch")
        escalated = [g for g in groups if g.escalated]
        for i, g in enumerate(escalated):
            st.warning(f"Escalated: {g.open_in_window} similar reports in {g.window_days} days — `{g.group_key}`.")
            newest = get_report(max(g.report_ids))
            if newest.status in ("new", "triaged"):
                who_g = identity_input(f"group_actor_{i}", "Your name (author of the draft)")
                if st.button("Start a post-mortem for this group", key=f"pm_group_{i}", icon=":material/history_edu:"):
                    if not who_g:
                        st.error("Say who starts it: the post-mortem records its authors.")
                    else:
                        start_postmortem(newest, who_g)  # the draft lists the group's other reports as facts
        st.markdown("#### Reports")
        f1, f2, f3 = st.columns(3)
        status = f1.selectbox("Status", ["any", *STATUSES], key="inbox_status")
        group_pick = f2.selectbox("Group", ["any", *(g.group_key for g in groups)], key="inbox_group")
        page_no = f3.number_input("Page", min_value=1, value=1, step=1, key="inbox_page")
        ids, total = queries.report_page(status=None if status == "any" else status,
                                         group=None if group_pick == "any" else group_pick,
                                         offset=(int(page_no) - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
        st.caption(f"{total} report(s) · page {int(page_no)} of {pages}")
        reports = [get_report(report_id) for report_id in ids]
        st.dataframe([{"#": r.id, "reported": r.created_at, "status": r.status, "severity": r.severity,
                       "domain": r.domain, "where": " / ".join(x for x in (r.page, r.component) if x) or "-",
                       "by": r.reporter, "what they saw": r.text[:120]} for r in reports],
                     hide_index=True, width="stretch")
        if reports:
            opened = st.selectbox("Open report", reports, key="inbox_open",
                                  format_func=lambda r: f"#{r.id} · {r.text[:80]}")
            show_report(opened)
