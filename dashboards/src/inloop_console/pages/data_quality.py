"""Data quality: per upstream source, the rows that break expectations — what each data owner is sent."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from inloop import domains as registry
from inloop.settings import get_settings
from inloop_console.access import guard

guard()  # a page opened around app.py still requires login

st.title("Data quality")
st.caption("Each source a domain reads, checked against its expectations: the broken rules in plain words, how "
           "many rows break them, examples with their keys, and the owner to send it to. Same report as "
           "`inloop data-quality DOMAIN`.")


def _has_sources(name: str) -> bool:
    try:
        return registry.discover_domains()[name].data_quality_sources is not None
    except Exception:
        return False


names = sorted(n for n in registry.discover_domains() if _has_sources(n))
if not names:
    st.info("No installed domain declares its upstream sources (`data_quality_sources` in its DomainPlugin).")
    st.stop()
domain = st.selectbox("Domain", names, key="data_quality_domain")
folder = get_settings().reports_dir / domain / "data-quality"

if st.button("Check the sources now", key="data_quality_run"):
    from inloop.data_quality import build_report, write_report

    with st.spinner("Running the expectations on every source…"):
        try:
            write_report(build_report(domain))
        except Exception as exc:
            st.error(f"The sources could not be checked: {type(exc).__name__}: {exc}")

report = folder / "data-quality.md"
if not report.is_file():
    st.info(f"No report yet: press the button, or run `inloop data-quality {domain}`.")
    st.stop()
text = report.read_text(encoding="utf-8")
cols = st.columns(4)
cols[0].download_button("Report (Markdown)", text, file_name=f"data-quality-{domain}.md", mime="text/markdown",
                        key="data_quality_md")
for i, path in enumerate(sorted(Path(folder).glob("failing-rows-*.csv")), start=1):
    source = path.stem.removeprefix("failing-rows-")
    cols[i % 4].download_button(f"Failing rows: {source} (CSV)", path.read_bytes(), file_name=path.name,
                                mime="text/csv", key=f"data_quality_csv_{source}")
st.markdown(text)
