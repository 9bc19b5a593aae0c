"""Worst-case demos: pick one, run it live, and watch each step with its evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from inloop import domains as registry
from inloop.demos import DemoResult, Step, run_demo
from inloop_console.access import guard, plain

guard()  # a page opened around app.py still requires login

KIND_ICON = {"input": ":material/input:", "action": ":material/bolt:", "check": ":material/rule:",
             "fallback": ":material/alt_route:", "notify": ":material/campaign:", "result": ":material/flag:",
             "claim": ":material/gavel:", "info": ":material/info:"}
KIND_WORD = {"input": "What came in", "action": "What the system did", "check": "Check",
             "fallback": "Fallback took over", "notify": "Who was notified", "result": "Where it ended",
             "claim": "Claim", "info": "Note"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif"}


def show_evidence(evidence: dict[str, Any]) -> None:
    """Evidence as people read it: images as images, tables as tables, the rest as data."""
    for key, value in evidence.items():
        label = key.replace("_", " ")
        if isinstance(value, bytes):
            st.image(value, caption=label, width=420)
        elif isinstance(value, str | Path) and Path(str(value)).suffix.lower() in IMAGE_SUFFIXES \
                and Path(str(value)).is_file():
            st.image(str(value), caption=label, width=420)
        elif hasattr(value, "to_dict") and hasattr(value, "columns"):  # a pandas DataFrame
            st.caption(label)
            st.dataframe(value, hide_index=True)
        elif isinstance(value, dict | list):
            st.caption(label)
            st.json(value, expanded=False)
        else:
            st.markdown(f"*{plain(label)}:* {plain(str(value))}")


def show_step(step: Step) -> None:
    if step.kind == "claim":
        mark = ":green[:material/check_circle: held]" if step.ok else ":red[:material/cancel: did NOT hold]"
        st.markdown(f"{mark} — **{plain(step.title)}**  `{step.at_s:.2f}s`")
    else:
        st.markdown(f"{KIND_ICON.get(step.kind, '')} **{KIND_WORD.get(step.kind, step.kind)}:** "
                    f"{plain(step.title)}  `{step.at_s:.2f}s`")
    if step.detail:
        st.caption(plain(step.detail))
    if step.evidence:
        with st.expander("Evidence"):
            show_evidence(step.evidence)


def show_verdict(result: DemoResult) -> None:
    if result.passed:
        st.success(f"The story held: all {sum(s.kind == 'claim' for s in result.steps)} claim(s) true "
                   f"({result.seconds:.1f} s).", icon=":material/verified:")
    elif result.error:
        st.error("The demo crashed, so its story did not hold. The engineers get the details below.")
        with st.expander("Engineering details"):
            st.code(result.error, language=None)
    else:
        broken = result.failed_claims
        st.error(f"The story did NOT hold: {len(broken)} claim(s) broken: "
                 + "; ".join(plain(s.title) for s in broken) if broken else
                 "The story did NOT hold: the demo made no claim at all.")


st.title("Worst-case demos")
st.caption("Each demo pushes a bad case through the real system and tells what happened, step by step. "
           "It only counts as passed if every claim of its story held — the test suite runs the same demos.")

domains = registry.discover_domains()
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
                   format_func=lambda r: f"{catalog[r][1].title}  ({r})")
domain_name, demo = catalog[ref]
st.subheader(demo.title)
st.write(demo.story)
if demo.concerns:
    st.caption("Shows the concern(s): " + ", ".join(f"`{c}`" for c in demo.concerns))

results: dict[str, DemoResult] = st.session_state.setdefault("demo_results", {})
if st.button("Run it live", key="demo_run", type="primary", icon=":material/play_arrow:"):
    with st.status(f"Running {demo.title}...", expanded=True) as status:
        result = run_demo(demo, on_step=lambda step: st.text(f"{step.at_s:6.2f}s  {step.title}"))
        status.update(label=f"{demo.title}: {'the story held' if result.passed else 'the story did NOT hold'}",
                      state="complete" if result.passed else "error", expanded=False)
    results[ref] = result

if ref in results:
    result = results[ref]
    show_verdict(result)
    st.markdown("#### What happened, step by step")
    for step in result.steps:
        with st.container(border=True):
            show_step(step)
else:
    st.caption("Press “Run it live” to play the story on the real system.")
