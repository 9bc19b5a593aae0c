"""Project card: the business case, what is still unanswered, alternatives, outage matrix, readiness."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from inloop import domains as registry
from inloop.cards import is_unanswered, lint_card
from inloop.wording import count_of
from inloop_console import queries
from inloop_console.access import guard, plain

guard()  # a page opened around app.py still requires login

SEVERITY_BADGE = {"none": ":gray-badge[none]", "low": ":blue-badge[low]", "medium": ":orange-badge[medium]",
                  "high": ":red-badge[high]", "critical": ":violet-badge[critical]"}


def answer(value: str | None) -> str:
    return ":orange[not answered yet]" if is_unanswered(value) else plain(value or "")


@st.cache_resource(show_spinner="Loading the domain's pipelines to cross-check the card...")
def implemented_checks(name: str) -> set[str]:
    """Asset check names the domain's Dagster definitions implement (slow: loads the code location)."""
    return registry.get_domain(name).check_names()


st.title("Project card")
domains = registry.discover_domains()
if not domains:
    st.warning("No domains are installed, so there is no project card to show.")
    st.stop()
titles = queries.load_cards(domains).cards
name = st.selectbox("Project", sorted(domains), key="card_domain",
                    format_func=lambda n: titles[n].title if n in titles else n)
domain = domains[name]
loaded = queries.load_cards({name: domain})
if name in loaded.errors:
    st.error("This project card cannot be read. Fix the file and reload the page.")
    st.code(loaded.errors[name], language=None)
    st.stop()
card = loaded.cards[name]

st.subheader(card.title)
st.write(card.summary)
case = card.business_case
answered, total = queries.checklist_progress(card)

# Demo and check names are cross-checked on request: importing a domain's demos and Dagster
# definitions loads its whole ML stack, which would make this page slow for everyone.
findings = lint_card(card, checks=None, demos=None)
errors = [f for f in findings if f.level == "error"]
warnings = [f for f in findings if f.level == "warning"]

c1, c2, c3 = st.columns(3)
c1.metric("Checklist answered", f"{answered} of {total}")
c2.metric("Readiness findings", f"{len(errors)} to fix", f"{len(warnings)} warnings", delta_color="off")
c3.metric("Concerns", len(card.concerns), f"{sum(c.status == 'planned' for c in card.concerns)} planned",
          delta_color="off")
with st.expander(f"The {count_of(len(card.concerns), 'concern')} on this card"):
    for concern in card.concerns:
        st.page_link("pages/concern.py", label=concern.statement.rstrip("."), icon=":material/target:",
                     query_params={"domain": name, "concern": concern.id})

tab_case, tab_alts, tab_outage, tab_ready = st.tabs(["Business case", "Alternatives", "Outage impact", "Readiness"])
with tab_case:
    st.markdown(f"**User story.** {answer(case.user_story)}")
    st.markdown(f"**KPI.** {answer(case.kpi.name)} — measured as: {answer(case.kpi.how_measured)}")
    st.markdown(f"**Today.** {answer(case.kpi.current_value)} · **Target.** {answer(case.kpi.target)}")
    st.markdown(f"**What is optimized.** {answer(case.optimized)}")
    st.markdown(f"**How it is done today (baseline).** {answer(case.current_approach)}")
    st.markdown(f"**The improvement that makes it worth doing.** {answer(case.worth_doing_improvement)}")
    st.markdown(f"**Why it is core business.** {answer(case.why_core_business)}")
    s = case.stakeholder
    st.markdown(f"**Stakeholder.** {answer(s.name)} ({answer(s.role)}), {answer(s.contact)}")
    st.markdown(f"**Skin in the game (committed capacity).** {answer(s.committed_capacity)}")
    unanswered = [f for f in errors if f.message == "unanswered checklist item"]
    if unanswered:
        st.warning(f"{count_of(len(unanswered), 'checklist item')} still unanswered:")
        st.dataframe(pd.DataFrame([{"item": f.where} for f in unanswered]), hide_index=True)
    else:
        st.success("Every checklist item is answered.")
with tab_alts:
    if not case.alternatives:
        st.warning("No alternatives are written down yet — the card should list at least \"no ML at all\".")
    for alt in case.alternatives:
        with st.container(border=True):
            st.markdown(f"**{plain(alt.name)}** · `{alt.kind}`")
            st.markdown(f"{answer(alt.description)}")
            st.markdown(f"*Expected outcome:* {answer(alt.expected_outcome)}")
            st.markdown(f"*Cost:* {answer(alt.cost)}")
            st.markdown(f"*Decision:* {answer(alt.decision)}")
with tab_outage:
    matrix = card.outage_impact
    st.markdown("If the system is down for ...")
    for label, bucket in matrix.buckets().items():
        st.markdown(f"- **{label}** {SEVERITY_BADGE[bucket.severity]} {answer(bucket.impact)}")
    st.markdown(f"**At restart.** {answer(matrix.restart_behaviour)}")
    st.markdown(f"**On call.** {answer(matrix.on_call)} · weekends: "
                f"{'someone is paged' if matrix.weekend_on_call else 'nobody is paged'}")
with tab_ready:
    st.caption("What `inloop check-project` asks of this card. Check and demo names are cross-checked against "
               "the domain's Dagster pipelines and worst-case demos on request (loading them takes a while).")
    cross = st.button("Cross-check against the pipelines and demos", key="card_crosscheck",
                      icon=":material/fact_check:")
    if cross:
        try:
            findings = lint_card(card, checks=implemented_checks(name), demos=set(domain.demos()))
        except Exception as exc:  # broken definitions or demos are a finding, not a crash of this page
            st.error(f"The domain's Dagster definitions or demos do not load: {type(exc).__name__}: {exc}")
        errors = [f for f in findings if f.level == "error"]
        warnings = [f for f in findings if f.level == "warning"]
    if not findings:
        st.success("Ready: nothing for check-project to flag.")
    else:
        (st.error if errors else st.warning)(
            f"{'Not ready' if errors else 'Ready, with warnings'}: {count_of(len(errors), 'error')}, {count_of(len(warnings), 'warning')}"
            + (" (checks cross-checked)" if cross else ""))
        st.dataframe(pd.DataFrame([{"level": f.level, "where": f.where, "what": f.message} for f in findings]),
                     hide_index=True, width="stretch")
