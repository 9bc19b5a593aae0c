"""Worst-case demos: each demo's last stored result (no run needed), and a live run that is labelled as
writing to the real system."""

from __future__ import annotations

from typing import Any

import streamlit as st

from inloop import domains as registry
from inloop.demos import DemoResult, last_demo_runs, run_demo
from inloop.wording import count_of
from inloop_console import queries
from inloop_console.access import guard, plain
from inloop_console.demo_view import show_step, stored_verdict

guard()  # a page opened around app.py still requires login


def show_verdict(result: DemoResult) -> None:
    if result.passed:
        st.success(f"The story held: {count_of(sum(s.kind == 'claim' for s in result.steps), 'claim')} true "
                   f"({result.seconds:.1f} s).", icon=":material/verified:")
    elif result.error:
        st.error("The demo crashed, so its story did not hold. The engineers get the details below.")
        with st.expander("Engineering details"):
            st.code(result.error, language=None)
    else:
        broken = result.failed_claims
        st.error(f"The story did NOT hold: {count_of(len(broken), 'claim')} broken: "
                 + "; ".join(plain(s.title) for s in broken) if broken else
                 "The story did NOT hold: the demo made no claim at all.")


st.title("Worst-case demos")
st.caption("Each demo pushes a bad case through the real system and tells what happened, step by step. "
           "It only counts as passed if every claim of its story held. Every run is stored — from this page, "
           "the command line or the test suite — so the last result is shown here without running anything.")

domains = registry.discover_domains()
cards = queries.load_cards(domains).cards
catalog: dict[str, tuple[str, Any]] = {}
load_errors: dict[str, str] = {}
for name, domain in sorted(domains.items()):
    try:
        for demo_id, demo in domain.demos().items():
            catalog[f"{name}:{demo_id}"] = (name, demo)
    except Exception as exc:
        load_errors[name] = f"{type(exc).__name__}: {exc}"
for name, problem in load_errors.items():
    st.error(f"The demos of {name} do not load: {problem}")

if not catalog:
    st.info("No worst-case demos are registered yet. Each domain adds its demos to `DEMOS` in "
            "`src/<domain>/demos.py`; they appear here (and in `inloop demo list`) as soon as they land.",
            icon=":material/play_disabled:")
    st.stop()

def project_of(ref: str) -> str:
    name = catalog[ref][0]
    return cards[name].title if name in cards else name


# A link from the overview names its demo as ?demo=<domain>:<demo>. It selects that demo once and
# is then dropped from the URL, so a later pick by the person is not pulled back to it.
linked = st.query_params.get("demo")
if linked is not None:
    del st.query_params["demo"]
    if linked in catalog:
        st.session_state["demo_pick"] = linked
    else:
        st.warning(f"The linked demo {plain(linked)} is not installed here; pick one from the list.")
ref = st.selectbox("Demo", list(catalog), key="demo_pick",
                   format_func=lambda r: f"{catalog[r][1].title}  ({project_of(r)})")
domain_name, demo = catalog[ref]

# The table of every demo's last stored result: read from the database, nothing runs.
stored = {f"{r.domain}:{r.demo_id}": r for r in last_demo_runs()}
with st.expander(f"Last result of every demo ({len(catalog)})", expanded=False):
    st.dataframe([{"project": cards[catalog[r][0]].title if catalog[r][0] in cards else catalog[r][0],
                   "demo": catalog[r][1].title,
                   "last result": ("passed" if stored[r].passed else "did NOT pass") if r in stored else "never run",
                   "when (UTC)": f"{stored[r].started_at:%Y-%m-%d %H:%M}" if r in stored else "",
                   "run by": stored[r].source if r in stored else ""} for r in catalog], hide_index=True)

st.subheader(demo.title)
st.write(demo.story)
if demo.concerns and domain_name in cards:
    by_id = {c.id: c for c in cards[domain_name].concerns}
    for concern_id in demo.concerns:
        concern = by_id.get(concern_id)
        st.page_link("pages/concern.py", label=f"Shows the concern: {concern.statement if concern else concern_id}",
                     icon=":material/target:", query_params={"domain": domain_name, "concern": concern_id})

results: dict[str, DemoResult] = st.session_state.setdefault("demo_results", {})
last = stored.get(ref)
if ref in results:
    result = results[ref]
    st.markdown("#### The run you just started")
    show_verdict(result)
    steps = result.steps
elif last is not None:
    st.markdown("#### Last stored result")
    (st.success if last.passed else st.error)(stored_verdict(last),
                                               icon=":material/verified:" if last.passed else ":material/error:")
    if last.error:
        with st.expander("For engineers: why it crashed"):
            st.code(last.error, language=None)
    steps = last.steps
else:
    st.info("This demo has not run yet on this installation: no stored result. The test suite and "
            "`inloop demo run` store one each time they run it.", icon=":material/history:")
    steps = []
if steps:
    st.markdown("#### What happened, step by step")
    for step in steps:
        with st.container(border=True):
            show_step(step)

st.divider()
with st.expander("Run it live — writes to the real system", icon=":material/warning:"):
    st.warning("A live run pushes its bad case through the running system: it writes records, alerts and "
               "check results into this installation's database, exactly as a real incident would. "
               "Only run it where that is wanted (a demo or test installation).", icon=":material/warning:")
    agreed = st.checkbox("I understand that this run writes to the system", key="demo_live_ok")
    if st.button("Run it live", key="demo_run", type="primary", icon=":material/play_arrow:", disabled=not agreed):
        with st.status(f"Running {demo.title}...", expanded=True) as status:
            result = run_demo(demo, on_step=lambda step: st.text(f"{step.at_s:6.2f}s  {step.title}"),
                              domain=domain_name, source="console")
            status.update(label=f"{demo.title}: {'the story held' if result.passed else 'the story did NOT hold'}",
                          state="complete" if result.passed else "error", expanded=False)
        results[ref] = result
        st.rerun()
