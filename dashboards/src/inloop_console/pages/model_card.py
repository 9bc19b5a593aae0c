"""Model card: the champion's card (Mitchell et al. 2019) and, when a challenger is canaried, its figures."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from inloop import domains as registry
from inloop.canary import canary_gates, canary_report
from inloop.model_card import build_model_card, render_model_card
from inloop.serving import served_model
from inloop_console.access import guard

guard()  # a page opened around app.py still requires login

st.title("Model card")
st.caption("What the serving model is for, how it was trained and evaluated, how it does per group, and what "
           "to watch out for — generated from the project card, the MLflow run and its slice table; logged with "
           "the model at every promotion.")


def _served(name: str) -> bool:
    try:
        return registry.discover_domains()[name].served_model is not None
    except Exception:
        return False


names = sorted(n for n in registry.discover_domains() if _served(n))
if not names:
    st.info("No installed domain declares a served model (the `served_model` hook).")
    st.stop()
domain = st.selectbox("Domain", names, key="model_card_domain")

try:
    card = build_model_card(domain)
except LookupError as exc:
    st.info(f"No model card yet: {exc}")
    st.stop()
except Exception as exc:
    st.error(f"The model registry cannot be read: {type(exc).__name__}: {exc}")
    st.stop()
text = render_model_card(card)
st.download_button("Download as Markdown", text, file_name=f"model-card-{domain}-v{card.version}.md",
                   mime="text/markdown", key="model_card_download")

report = canary_report(domain, served_model(domain))
if report.challenger is not None:
    st.subheader(f"Canary: challenger v{report.challenger} beside champion v{report.champion}")
    st.caption("The challenger serves a small, stable share of traffic; it is promoted with "
               f"`inloop models promote {domain}` only if every gate below holds.")
    st.dataframe(pd.DataFrame([{"role": s.role, "version": f"v{s.version}", "requests": s.requests,
                                "p95 latency (ms)": s.latency_p95_ms, "mean score": s.score_mean,
                                "live AUC": s.live_auc, "labelled": s.labelled} for s in report.stats]),
                 hide_index=True, key="canary_stats")
    for gate in canary_gates(report):
        (st.success if gate.passed else st.warning)(f"{gate.name}: {gate.detail}")

st.markdown(text)
