"""The concern page: one concern with its state, history, alerts (acted on), demo result, post-mortems, bug reports."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from inloop.alerts import get_alert, raise_alert
from inloop.checks import Measurement, evaluate_concern
from inloop.demos import run_demo
from inloop.incidents import file_report

from .conftest import APP

pytestmark = pytest.mark.usefixtures("shop_domain")

REF = "shop_test:no-off-context-items"


def texts(at, kind: str) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def measure(shop_domain, concern_id: str, value: float, summary: str = "") -> None:
    evaluate_concern("shop_test", shop_domain.card().concern(concern_id), Measurement(value, summary),
                     asset_key="home_pages", run_id="run-1")


def open_concern(domain: str = "shop_test", concern: str = "no-off-context-items") -> AppTest:
    """Open the page as a link does: with ?domain=...&concern=... in the URL."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["domain"] = domain
    at.query_params["concern"] = concern
    at.switch_page("pages/concern.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_linked_concern_page_shows_worst_case_state_history_and_engineering_detail_folded(shop_domain):
    for value in (0.0, 0.002, 0.04):
        measure(shop_domain, "no-off-context-items", value, "4 of 100 men's pages showed a women's item")
    at = open_concern()
    assert at.selectbox(key="concern_ref").value == REF
    assert at.title[0].value == "No women's items on the men's page."
    assert "Test shop home page" in texts(at, "caption")[0]
    markdown = " ".join(texts(at, "markdown"))
    assert ">needs attention</span>" in markdown
    assert "**The worst case:** A woman's bag on the men's home page" in markdown
    assert texts(at, "error")[0].startswith("Off context rate: 0.04 (must be at most 0.01) — checked ")
    assert "**Live now:** an incident is open since" in markdown
    [chart] = at.get("vega_lite_chart")
    assert '"datum": 0.01' in chart.proto.spec  # the threshold is drawn
    assert any("dashed red line is the threshold: it must be at most 0.01" in c for c in texts(at, "caption"))
    [engineers] = [e for e in at.expander if e.label == "For engineers"]
    assert "Metric `off_context_rate`" in " ".join(str(m.value) for m in engineers.markdown)


def test_an_unknown_link_says_so_and_the_page_still_works():
    at = open_concern("shop_test", "no-such-concern")
    assert "is not on any project card here" in texts(at, "warning")[0]
    assert at.selectbox(key="concern_ref").value == REF  # the first concern, to pick from


def test_the_demo_shows_its_last_stored_result_and_steps_without_running(shop_domain):
    at = open_concern()
    assert "Not run yet on this installation: no stored result." in texts(at, "caption")
    run_demo(shop_domain.demos()["bag-on-mens-page"], domain="shop_test")  # as the test suite runs it
    at = open_concern()
    verdict = texts(at, "success")[0]
    assert verdict.startswith("Passed on ") and "run by the test suite; 1 of 1 claim held" in verdict
    [steps] = [e for e in at.expander if e.label == "Its steps, as stored"]
    assert "No women" in " ".join(str(m.value) for m in steps.markdown)


def test_an_alert_is_acknowledged_on_the_concern_page(shop_domain):
    measure(shop_domain, "no-off-context-items", 0.05)
    at = open_concern()
    [heading] = [m for m in texts(at, "markdown") if m.startswith("**Alert #")]
    alert_id = int(heading.removeprefix("**Alert #").rstrip("*"))
    key = f"concern_alert_{alert_id}"
    at.text_input(key=f"{key}_who").input("Pat Owner")
    at.button(key=f"{key}_ack").click().run()
    assert not at.exception
    assert f"Alert #{alert_id} acknowledged by Pat Owner." in texts(at, "success")
    assert get_alert(alert_id).acknowledged_by == "Pat Owner"
    assert "acknowledged by Pat Owner" in " ".join(texts(at, "markdown"))


def test_related_bug_reports_and_postmortems_are_listed(shop_domain):
    report = file_report({"reporter": "Kim Colleague", "text": "A handbag on the men's page", "domain": "shop_test",
                          "severity": "high"})
    alert = raise_alert(domain="shop_test", cause_key="bugs:shop", title="3 similar reports", message="grouped",
                        source="bug_reports", concern_id="no-off-context-items",
                        evidence={"bug_report_ids": [report.report.id]})
    (shop_domain.postmortems_dir / "2026-12-01-handbag.md").write_text(POSTMORTEM.format(alert=alert.id))
    at = open_concern()
    markdown = " ".join(texts(at, "markdown"))
    assert f"**#{report.report.id}** · new" in markdown and "A handbag on the men's page" in markdown
    assert "**Handbags on the men's page**" in markdown


def test_every_page_that_names_a_concern_links_to_its_page(open_page, shop_domain):
    measure(shop_domain, "no-off-context-items", 0.05)
    overview = open_page("overview")
    assert "concern?domain=shop_test&amp;concern=no-off-context-items" in " ".join(texts(overview, "markdown"))
    for page in ("alerts", "demos"):
        at = open_page(page)
        links = [e.proto for e in at.get("page_link") if e.proto.page == "concern"]
        assert any(link.query_string == "domain=shop_test&concern=no-off-context-items" for link in links), page


POSTMORTEM = """\
---
title: Handbags on the men's page
domain: shop_test
status: draft
date: 2026-12-01
authors: [Sam Engineer]
summary: Women's bags showed on the men's home page for an afternoon.
impact:
  business: some shoppers left
  affected: about 400 page views
  duration: 3 hours, degraded
  outage_bucket: 1h
detection:
  kind: alert
  description: the off-context check failed
  reference: "alert:{alert}"
root_cause: TODO
trigger: TODO
resolution: TODO
---
"""
