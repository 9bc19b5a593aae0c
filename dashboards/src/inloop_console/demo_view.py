"""A worst-case demo's steps and verdict drawn for people: live results and stored ones look the same."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import streamlit as st

from inloop.demos import Step, StoredDemoRun
from inloop_console.access import plain

__all__ = ["show_evidence", "show_step", "stored_verdict"]

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
        elif hasattr(value, "to_dict") and hasattr(value, "columns") or isinstance(value, list) and value and all(isinstance(v, dict) for v in value):  # a pandas DataFrame
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


def _ago(at: dt.datetime) -> str:
    delta = dt.datetime.now(dt.UTC) - at
    if delta.days >= 1:
        return f"{delta.days} day{'' if delta.days == 1 else 's'} ago"
    hours = delta.seconds // 3600
    if hours:
        return f"{hours} hour{'' if hours == 1 else 's'} ago"
    minutes = max(1, delta.seconds // 60)
    return f"{minutes} minute{'' if minutes == 1 else 's'} ago"


def stored_verdict(run: StoredDemoRun) -> str:
    """"Passed on 2026-12-05 14:02 UTC (3 hours ago), run by the test suite; 4 of 4 claims held, 2.1 s"."""
    claims = run.claims
    held = sum(bool(s.ok) for s in claims)
    word = "Passed" if run.passed else ("Crashed" if run.error else "Failed")
    return (f"{word} on {run.started_at:%Y-%m-%d %H:%M} UTC ({_ago(run.started_at)}), run by "
            f"{'the ' if run.source == 'test suite' else ''}{run.source}; {held} of {len(claims)} "
            f"claim{'' if len(claims) == 1 else 's'} held, {run.seconds:.1f} s")
