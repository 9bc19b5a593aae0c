"""The inloop stakeholder console: ``streamlit run dashboards/src/inloop_console/app.py``.

One entry script; the pages are files in ``pages/`` beside it, so tests open each one
(``AppTest.switch_page("pages/overview.py")``). ``inloop up`` starts it on loopback.
"""

from __future__ import annotations

import streamlit as st

from inloop.settings import disable_telemetry
from inloop_console import access

disable_telemetry()
st.set_page_config(page_title="inloop — stakeholder console", page_icon="✅", layout="wide")

PAGES = {
    "What you care about": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/concern.py", title="Concern", icon=":material/target:"),
        st.Page("pages/alerts.py", title="Alerts", icon=":material/notifications:"),
        st.Page("pages/project_card.py", title="Project card", icon=":material/assignment:"),
        st.Page("pages/demos.py", title="Worst-case demos", icon=":material/play_circle:"),
    ],
    "When something goes wrong": [
        st.Page("pages/bug_reports.py", title="Bug reports", icon=":material/bug_report:"),
        st.Page("pages/postmortems.py", title="Post-mortems", icon=":material/history_edu:"),
        st.Page("pages/review_queue.py", title="Invoice review queue", icon=":material/receipt_long:"),
    ],
    "Under the hood": [
        st.Page("pages/monitoring.py", title="Monitoring", icon=":material/monitoring:"),
        st.Page("pages/models.py", title="Models", icon=":material/model_training:"),
        st.Page("pages/model_card.py", title="Model card", icon=":material/description:"),
        st.Page("pages/readiness.py", title="ML Test Score", icon=":material/fact_check:"),
        st.Page("pages/data_quality.py", title="Data quality", icon=":material/rule:"),
    ],
}

# Always navigate (never fall back to Streamlit's automatic pages/ folder): before login the
# only page that exists is the login page, so no page can be opened around it by URL.
if access.needs_login():
    st.navigation([st.Page(access.login_page, title="Log in", default=True)], position="hidden").run()
else:
    access.show_identity()
    st.navigation(PAGES).run()
