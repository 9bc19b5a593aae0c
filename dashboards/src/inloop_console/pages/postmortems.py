"""Post-mortems: read them (stakeholder summary first), write and edit them with a five-whys editor."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, get_args

import streamlit as st

from inloop import domains as registry
from inloop.incidents import (
    NoAcceptedActionPointsError,
    Postmortem,
    PostmortemError,
    lint_postmortem,
    reindex,
    render_engineering_view,
    render_stakeholder_summary,
    tickets_csv,
    tickets_markdown,
)
from inloop.incidents.index import load_folder
from inloop.incidents.postmortems import (
    ActionStatus,
    ActionType,
    DetectionKind,
    FactKind,
    OutageBucket,
    Priority,
)
from inloop_console.access import current_identity, guard, identity_input, plain
from inloop_console.postmortem_form import EditorProblem, build_postmortem, save_postmortem

guard()  # a page opened around app.py still requires login

STATUSES = ["draft", "in_review", "reviewed", "closed"]
VERDICTS = ["open", "confirmed", "rejected"]
WHY_ROWS, ACTION_ROWS, FACT_ROWS = 5, 3, 2

st.title("Post-mortems")
st.caption("Blameless write-ups of what went wrong: what happened, what it meant, the five whys that found the "
           "cause, and what changed. The files live in each domain's `postmortems/` folder and are reviewed "
           "like code.")

domains = registry.discover_domains()
loaded: dict[tuple[str, str], tuple[Path, Postmortem]] = {}
broken = []
for name, domain in sorted(domains.items()):
    items, errors = load_folder(name, domain.postmortems_dir)
    broken += errors
    for path, pm in items:
        loaded[(name, path.stem)] = (path, pm)
for err in broken:
    st.error(f"A post-mortem file cannot be read: {err.path.name}")
    with st.expander("What is wrong"):
        st.code(str(err), language=None)



def smaller_headings(markdown: str) -> str:
    """Post-mortem headings two levels down, so a document sits inside the page instead of shouting."""
    return re.sub(r"(?m)^(#{1,4}) ", lambda m: "#" * min(len(m.group(1)) + 2, 6) + " ", markdown)


tab_read, tab_write = st.tabs(["Read", "Write or edit"])

with tab_read:
    if not loaded:
        st.info("No post-mortems yet. Start one from a bug report or an alert in this console, on the "
                "“Write or edit” tab, or with `inloop postmortem new`.", icon=":material/history_edu:")
        selected = None
    else:
        keys = sorted(loaded, key=lambda k: (loaded[k][1].date, k[1]), reverse=True)
        wanted = st.session_state.get("postmortem_open")
        index = keys.index(tuple(wanted)) if wanted and tuple(wanted) in keys else 0
        st.dataframe([{"date": loaded[k][1].date, "domain": k[0], "title": loaded[k][1].title,
                       "status": loaded[k][1].status.replace("_", " "),
                       "resolved": "yes" if loaded[k][1].is_resolved() else "not yet",
                       "open follow-ups": sum(a.status in ("open", "in_progress")
                                              for a in loaded[k][1].accepted_action_points())} for k in keys],
                     hide_index=True, width="stretch")
        selected = st.selectbox("Read", keys, index=index, key="pm_pick",
                                format_func=lambda k: f"{loaded[k][1].date} · {loaded[k][1].title}")
        path, pm = loaded[selected]
        with st.container(border=True):
            st.markdown(smaller_headings(render_stakeholder_summary(pm)))
        with st.expander("Engineering view: facts, timeline, five whys, action points", icon=":material/engineering:"):
            st.markdown(smaller_headings(render_engineering_view(pm)))
            findings = lint_postmortem(pm)
            if findings:
                st.markdown("**What a reviewer would still flag**")
                for f in findings:
                    st.text(str(f))
        st.markdown("#### Action points as tickets")
        try:
            md, csv = tickets_markdown(pm, path), tickets_csv(pm, path)
        except NoAcceptedActionPointsError as exc:
            st.caption(str(exc))
        else:
            a, b = st.columns(2)
            a.download_button("Tickets (Markdown)", md, file_name=f"{path.stem}-tickets.md", mime="text/markdown",
                              key="tickets_md", icon=":material/download:")
            b.download_button("Tickets (CSV for a tracker)", csv, file_name=f"{path.stem}-tickets.csv",
                              mime="text/csv", key="tickets_csv", icon=":material/download:")


def text_in(label: str, key: str, value: str, *, area: bool = False, **kw: Any) -> str:
    widget = st.text_area if area else st.text_input
    return widget(label, value=value, key=key, **kw)


with tab_write:
    if not domains:
        st.warning("No domains are installed, so there is nowhere to write a post-mortem.")
        st.stop()
    options = ["new"] + sorted(loaded)
    wanted = st.session_state.get("postmortem_open")
    target = st.selectbox("Post-mortem", options, key="pm_edit_pick",
                          index=options.index(tuple(wanted)) if wanted and tuple(wanted) in options else 0,
                          format_func=lambda k: "A new post-mortem" if k == "new" else
                          f"Edit: {loaded[k][1].date} · {loaded[k][1].title}")
    base_path, base = (None, None) if target == "new" else loaded[target]
    p = "pm_new_" if target == "new" else f"pm_{target[0]}_{target[1]}_"
    editor = identity_input(p + "editor", "Your name (added to the authors)")

    st.markdown("##### What happened")
    names = sorted(domains)
    domain = st.selectbox("Domain", names, key=p + "domain", disabled=base is not None,
                          index=names.index(base.domain) if base and base.domain in names else 0)
    title = text_in("Title", p + "title", base.title if base else "")
    c1, c2 = st.columns(2)
    date = c1.date_input("Incident date (first impact)", value=base.date if base else dt.date.today(), key=p + "date")
    status = c2.selectbox("Status", STATUSES, index=STATUSES.index(base.status) if base else 0, key=p + "status")
    summary = text_in("Summary, in plain words a stakeholder understands", p + "summary",
                      base.summary if base else "", area=True)
    c1, c2 = st.columns(2)
    impact_business = c1.text_area("Impact on the business", value=base.impact.business if base else "",
                                   key=p + "impact_business")
    impact_affected = c2.text_area("Who and how many were affected", value=base.impact.affected if base else "",
                                   key=p + "impact_affected")
    buckets = list(get_args(OutageBucket))
    impact_duration = c1.text_input("Duration", value=base.impact.duration if base else "", key=p + "impact_duration")
    outage_bucket = c2.selectbox("Outage-matrix bucket it compares to", buckets, key=p + "bucket",
                                 index=buckets.index(base.impact.outage_bucket) if base else 0)
    kinds = list(get_args(DetectionKind))
    detection_kind = c1.selectbox("How it was found", kinds, key=p + "det_kind",
                                  index=kinds.index(base.detection.kind) if base else kinds.index("other"))
    detection_description = c2.text_input("Found how, in a sentence", key=p + "det_desc",
                                          value=base.detection.description if base else "")

    if base and base.facts:
        with st.expander(f"Facts so far ({len(base.facts)}) — cite them in the evidence as [F1], [F2], ..."):
            for fact in base.facts:
                st.text(f"{fact.id} ({fact.kind}) {fact.description}" + (f"  [{fact.ref}]" if fact.ref else
                                                                          "  (evidence pending)"))
    st.markdown("##### Facts to add")
    fact_kinds = list(get_args(FactKind))
    new_facts = []
    for i in range(FACT_ROWS):
        c1, c2, c3 = st.columns([2, 5, 3])
        new_facts.append({"kind": c1.selectbox("kind", fact_kinds, key=f"{p}fact_{i}_kind",
                                               index=fact_kinds.index("statement"), label_visibility="collapsed"),
                          "description": c2.text_input("fact", key=f"{p}fact_{i}_description",
                                                       placeholder="What was observed", label_visibility="collapsed"),
                          "ref": c3.text_input("ref", key=f"{p}fact_{i}_ref", label_visibility="collapsed",
                                               placeholder="request:<id>, bug:<id>, a URL ...")})

    st.markdown("##### Five whys")
    st.caption("Each step asks why, states a hypothesis, says how it was checked and what the evidence showed. "
               "Nothing is concluded without being checked. Leave a step's question empty to drop it.")
    existing_whys = list(base.five_whys) if base else []
    whys = []
    for i in range(max(WHY_ROWS, len(existing_whys) + 1)):
        old = existing_whys[i] if i < len(existing_whys) else None
        with st.container(border=True):
            q = st.text_input(f"Why #{i + 1}?", value=old.question if old else "", key=f"{p}why_{i}_question")
            c1, c2 = st.columns(2)
            hyp = c1.text_input("Hypothesis", value=old.hypothesis if old else "", key=f"{p}why_{i}_hypothesis")
            how = c2.text_input("How it was checked", value=old.how_checked if old else "",
                                key=f"{p}why_{i}_how_checked")
            ev = c1.text_input("Evidence (cite facts as [F1])", value=old.evidence if old else "",
                               key=f"{p}why_{i}_evidence")
            verdict = c2.selectbox("Verdict", VERDICTS, index=VERDICTS.index(old.verdict) if old else 0,
                                   key=f"{p}why_{i}_verdict")
        whys.append({"question": q, "hypothesis": hyp, "how_checked": how, "evidence": ev, "verdict": verdict})

    st.markdown("##### Cause and resolution")
    root_cause = text_in("Root cause (the confirmed end of the chain)", p + "root_cause",
                         base.root_cause if base else "", area=True)
    c1, c2 = st.columns(2)
    trigger = c1.text_area("Trigger (what set it off this time)", value=base.trigger if base else "",
                           key=p + "trigger")
    resolution = c2.text_area("Resolution (what was done to mitigate it)", value=base.resolution if base else "",
                              key=p + "resolution")

    st.markdown("##### Action points")
    existing_actions = list(base.action_points) if base else []
    types, priorities, astatuses = list(get_args(ActionType)), list(get_args(Priority)), list(get_args(ActionStatus))
    actions = []
    for i in range(max(ACTION_ROWS, len(existing_actions) + 1)):
        old = existing_actions[i] if i < len(existing_actions) else None
        c0, c1, c2, c3, c4, c5 = st.columns([1, 2, 5, 3, 2, 2])
        aid = old.id if old else f"A{i + 1}"
        c0.markdown(f"**{aid}**")
        actions.append({
            "id": aid,
            "type": c1.selectbox("type", types, index=types.index(old.type) if old else 1,
                                 key=f"{p}act_{i}_type", label_visibility="collapsed"),
            "description": c2.text_input("action", value=old.description if old else "", key=f"{p}act_{i}_description",
                                         placeholder="What will be done", label_visibility="collapsed"),
            "owner": c3.text_input("owner", value=old.owner if old else "", key=f"{p}act_{i}_owner",
                                   placeholder="team or role", label_visibility="collapsed"),
            "priority": c4.selectbox("priority", priorities, index=priorities.index(old.priority) if old else 1,
                                     key=f"{p}act_{i}_priority", label_visibility="collapsed"),
            "status": c5.selectbox("status", astatuses, index=astatuses.index(old.status) if old else 0,
                                   key=f"{p}act_{i}_status", label_visibility="collapsed"),
            "ticket": old.ticket if old else None,
        })
    action_ids = [a["id"] for a in actions if a["description"].strip()]
    accepted = st.multiselect("Accepted in review (these become tickets)", action_ids, key=p + "accepted",
                              default=[a for a in (base.review.accepted_action_points if base else [])
                                       if a in action_ids])

    if st.button("Save the post-mortem", key=p + "save", type="primary", icon=":material/save:"):
        fields = {"title": title, "domain": base.domain if base else domain, "status": status, "date": date,
                  "summary": summary, "impact_business": impact_business, "impact_affected": impact_affected,
                  "impact_duration": impact_duration, "outage_bucket": outage_bucket,
                  "detection_kind": detection_kind, "detection_description": detection_description,
                  "root_cause": root_cause, "trigger": trigger, "resolution": resolution,
                  "accepted_action_points": accepted, "authors": list(base.authors) if base else []}
        try:
            pm = build_postmortem(fields, whys=whys, actions=actions, new_facts=new_facts, base=base,
                                  editor=editor or current_identity() or "")
            folder = domains[pm.domain].postmortems_dir
            written = save_postmortem(pm, folder, path=base_path)
        except EditorProblem as exc:
            st.error("Not saved. Please fix:\n" + "\n".join(f"- **{plain(f)}**: {plain(m)}" for f, m in exc.problems))
        except PostmortemError as exc:
            st.error(f"Not saved: {exc}")
        else:
            reindex({pm.domain: domains[pm.domain].postmortems_dir})
            st.session_state["postmortem_open"] = (pm.domain, written.stem)
            st.success(f"Saved to `{written}`. Commit it so the team can review it like code.")
            for finding in lint_postmortem(pm):
                st.caption(f"Still to do: {finding}")
