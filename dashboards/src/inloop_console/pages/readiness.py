"""ML Test Score: per domain, the 28 tests, the evidence that each is met, section and final scores."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from inloop import domains as registry
from inloop.readiness.report import DomainReport, ReadinessError, domain_reports
from inloop.readiness.rubric import SECTION_TITLES, SECTIONS
from inloop_console.access import guard

guard()  # a page opened around app.py still requires login


@st.cache_resource(ttl=120, show_spinner="Reading the evidence (loads the domain's pipelines once)...")
def report_for(name: str) -> DomainReport:
    (report,) = domain_reports(name)
    return report


st.title("ML Test Score")
st.caption("How production-ready each domain is, by the 28 tests of the ML Test Score (Breck et al., 2017). "
           "A test scores 1 when it runs automatically and repeatedly, 0.5 when done by hand with documented "
           "results; a section is the sum of its 7 tests, the final score the weakest section. Evidence is "
           "declared next to the code and counts only if it ran: a test must have passed at the commit checked out "
           "now, for its file as it is; `@rubric` code must have been reached by the recorded test session "
           "(otherwise it counts at most as by hand); a check must exist and have passed at least once; a "
           "document counts for its domain's folder or the domains it names. The same table: "
           "`inloop readiness DOMAIN`; CI fails below 5.")
domains = registry.discover_domains()
if not domains:
    st.warning("No domains are installed, so there is nothing to score.")
    st.stop()
name = st.selectbox("Domain", sorted(domains), key="readiness_domain")
try:
    report = report_for(name)
except ReadinessError as exc:
    st.error(str(exc))
    st.stop()

sections = report.section_scores()
weakest = min(sections, key=sections.get)  # type: ignore[arg-type]
cols = st.columns(5)
cols[0].metric("Final score", f"{report.final:.1f}", f"weakest: {weakest}", delta_color="off")
for col, section in zip(cols[1:], SECTIONS, strict=True):
    col.metric(SECTION_TITLES[section], f"{sections[section]:.1f} of 7")

rows = [{"test": t.test.id, "title": t.test.title, "score": t.score, "how": t.how, "last result": t.last_result,
         "evidence": "; ".join(f"{e.kind} {e.ref}" for e in t.evidence if e.verified) or "—"}
        for t in report.tests]
st.subheader("The 28 tests")
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
             column_config={"score": st.column_config.NumberColumn(format="%.1f")})

missing = report.missing()
st.subheader(f"Missing ({len(missing)} of 28)")
if not missing:
    st.success("Every test has verified evidence.")
for t in missing:
    st.markdown(f"**{t.test.id} — {t.test.title}**  \nWhat would close it: {t.test.closes_it}")
    for e in t.evidence:
        st.markdown(f"- declared but not counted: {e.kind} `{e.ref}` — {e.problem}")
partial = report.partial()
if partial:
    st.info("Done by hand only (automate to score 1): "
            + ", ".join(f"{t.test.id} {t.test.title}" for t in partial))

with st.expander("Every piece of evidence"):
    detail = [{"test": e.rubric_id, "kind": e.kind, "ref": e.ref, "declared at": e.location,
               "counts": e.score, "how": e.how, "runs it": e.automation, "last result": e.last_result,
               "problem": e.problem} for t in report.tests for e in t.evidence]
    if detail:
        st.dataframe(pd.DataFrame(detail), hide_index=True, width="stretch")
    else:
        st.write("No evidence is declared for this domain yet. See docs/readiness.md for how to declare it.")
if report.problems:
    st.warning("Problems in the declarations:\n\n" + "\n".join(f"- {p}" for p in report.problems))
