"""Models: per domain, the champion, the challenger, every version's promotion-gate result and runs."""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from inloop import domains as registry
from inloop.settings import get_settings
from inloop_console import model_registry
from inloop_console.access import guard, plain

guard()  # a page opened around app.py still requires login


@st.cache_data(ttl=30, show_spinner="Reading the model registry...")
def models_of(domain: str, store: str) -> list[model_registry.ModelView]:
    return model_registry.domain_models(domain)


@st.cache_data(ttl=30, show_spinner=False)
def runs_of(domain: str, store: str) -> list[dict]:
    return model_registry.domain_runs(domain)


def show_version(title: str, version: model_registry.VersionView | None) -> None:
    if version is None:
        st.metric(title, "none")
        return
    st.metric(title, f"v{version.version}", version.decision, delta_color="off")
    st.caption(f"registered {version.created:%Y-%m-%d %H:%M} UTC")


st.title("Models")
st.caption("Which model version serves (the champion), which one waits (the challenger), and why a promotion "
           "was refused. A version becomes champion only when every promotion gate passed.")
names = sorted(registry.discover_domains())
if not names:
    st.warning("No domains are installed.")
    st.stop()
domain = st.selectbox("Domain", names, key="models_domain")
if not model_registry.tracking_store_exists():
    st.info("No models yet: nothing has been logged to MLflow. Training runs in each domain's Dagster pipeline "
            "(`inloop up` runs it on first start) register models here.", icon=":material/model_training:")
    st.stop()

store = get_settings().mlflow_uri
try:
    models = models_of(domain, store)
except Exception as exc:
    st.error(f"The model registry cannot be read: {type(exc).__name__}: {exc}")
    st.stop()
if not models:
    st.info(f"No registered models for {domain} yet: its training pipeline registers them.")
for model in models:
    st.subheader(model.name)
    a, b = st.columns(2)
    with a:
        show_version("Champion (serving)", model.champion)
    with b:
        show_version("Challenger", model.challenger)
    refused = [v for v in model.versions if v.promotion == "refused"]
    if refused:
        latest = refused[0]
        failing = [g for g in latest.gates if not g.get("passed")]
        st.warning(f"v{latest.version} was not promoted: " + "; ".join(
            f"{plain(str(g.get('name')))} — {plain(str(g.get('detail', '')))}" for g in failing))
    st.dataframe(pd.DataFrame([{"version": f"v{v.version}", "aliases": ", ".join(v.aliases), "decision": v.decision,
                                "registered": v.created, "gates passed": f"{sum(bool(g.get('passed')) for g in v.gates)}"
                                f" of {len(v.gates)}" if v.gates else "-"} for v in model.versions]),
                 hide_index=True, width="stretch")
    with st.expander("Promotion gates of every version"):
        for v in model.versions:
            if not v.gates:
                continue
            st.markdown(f"**v{v.version}** — {v.decision}")
            st.dataframe(pd.DataFrame([{"gate": g.get("name"), "passed": bool(g.get("passed")),
                                        "figures": g.get("detail")} for g in v.gates]), hide_index=True,
                         width="stretch")
    champion = model.champion
    if champion is not None and champion.run_id:
        slices = model_registry.run_artifact_text(champion.run_id, "slices.csv")
        if slices:
            with st.expander("The champion per slice (next to the overall figure)"):
                st.dataframe(pd.read_csv(io.StringIO(slices)), hide_index=True, width="stretch")

st.subheader("Recent runs")
runs = runs_of(domain, store)
if runs:
    st.dataframe(pd.DataFrame(runs), hide_index=True, width="stretch")
else:
    st.caption(f"No MLflow runs in the {domain} experiments yet.")
