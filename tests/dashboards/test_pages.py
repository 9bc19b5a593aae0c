"""The console's pages, opened with Streamlit's AppTest against a registered test domain."""

from __future__ import annotations

import json
import sys

import pytest
import sqlalchemy as sa

from inloop import db
from inloop.checks import Measurement, evaluate_concern
from inloop.db.models import BugReport, BugReportEvent
from inloop.incidents import file_report, load_postmortem
from inloop.predictions import log_prediction

from .conftest import png

pytestmark = pytest.mark.usefixtures("shop_domain")

FEATURES = {"page": "home/men", "page_gender": "men",
            "history": [{"sku": "bag-9", "gender": "women"}, {"sku": "sneaker-1", "gender": "men"}]}


def texts(at, kind: str) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def measure(shop_domain, concern_id: str, value: float, summary: str = "") -> None:
    card = shop_domain.card()
    evaluate_concern("shop_test", card.concern(concern_id), Measurement(value, summary), asset_key="home_pages",
                     run_id="run-1")


# Overview ----------------------------------------------------------------------------------------


def board(at) -> str:
    """The scoreboard tables (HTML in markdown elements)."""
    return " ".join(t for t in texts(at, "markdown") if "inloop-board" in t)


def test_overview_before_any_check_says_nothing_is_checked_yet(open_page):
    at = open_page("overview")
    assert texts(at, "info")[0] == "No concern has been checked yet — 3 of 3 not yet checked"
    table = board(at)
    assert table.count(">not yet checked</span>") == 3
    assert "Off context rate: not measured yet" in table  # no label on this test card: the code name, readable
    captions = " ".join(texts(at, "caption"))  # the engineers' detail, folded away
    assert "the check off\\_context\\_rate has not run yet" in captions
    assert "agreed with the stakeholder, the check is not built yet" in captions  # the planned concern


def test_overview_is_a_scoreboard_with_the_metric_in_words_against_its_threshold(open_page, shop_domain):
    measure(shop_domain, "no-off-context-items", 0.0)
    measure(shop_domain, "no-off-context-items", 0.002)
    measure(shop_domain, "no-off-context-items", 0.04, "4 of 100 men's pages showed a women's item")
    measure(shop_domain, "new-users-get-recommendations", 0.97)
    at = open_page("overview")
    assert texts(at, "error")[0] == ("1 concern needs attention: No women's items on the men's page — "
                                     "1 of 3 not yet checked")
    table = board(at)
    assert "Test shop home page" in [h.value for h in at.subheader]  # the card's title, not the domain id
    assert "Off context rate: 0.04" in table and "must be at most 0.01" in table
    assert "New user coverage: 0.97" in table and "must be at least 0.95" in table
    assert ">needs attention</span>" in table and ">holds</span>" in table
    assert "worse" in table  # 0 -> 0.04 against an at-most threshold
    assert '<a href="concern?domain=shop_test&amp;concern=no-off-context-items" target="_self">' in table
    assert "<svg" in table  # the trend, with the threshold drawn as a dashed line
    assert any("open alert" in w for w in texts(at, "warning"))


def test_an_open_error_alert_is_never_green(open_page, shop_domain):
    from inloop.alerts import raise_alert

    measure(shop_domain, "new-users-get-recommendations", 0.99)
    raise_alert(domain="shop_test", cause_key="shop_test:manual", title="New users saw empty boxes",
                message="reported by the shop team", concern_id="new-users-get-recommendations")
    at = open_page("overview")
    table = board(at)
    assert ">alert open</span>" in table and ">holds</span>" not in table
    assert texts(at, "error")[0].startswith("1 concern needs attention: New users see recommendations too")


def test_overview_says_all_hold_when_every_checked_concern_holds(open_page, shop_domain):
    measure(shop_domain, "no-off-context-items", 0.0)
    measure(shop_domain, "new-users-get-recommendations", 0.99)
    at = open_page("overview")
    assert texts(at, "info")[0] == "All 2 checked concerns hold — 1 of 3 not yet checked"


def test_the_concern_pages_demo_link_opens_that_demo_and_not_the_first_in_the_list(open_page, shop_domain,
                                                                                  monkeypatch):
    from urllib.parse import parse_qs

    from streamlit.testing.v1 import AppTest

    from inloop.demos import Demo

    from .conftest import APP

    module = sys.modules["console_shop_test"]
    listed_first = Demo("a-listed-first", "Another story, first in the list", "Listed before the linked one.",
                        module._bag_story, ())
    monkeypatch.setattr(module, "DEMOS", {"a-listed-first": listed_first, **module.DEMOS})
    measure(shop_domain, "no-off-context-items", 0.05)
    at = open_page("concern", concern_ref="shop_test:no-off-context-items")
    [link] = [e.proto for e in at.get("page_link") if e.proto.label == "Open it on the demos page"]
    assert link.page == "demos"
    query = parse_qs(link.query_string)
    assert query == {"demo": ["shop_test:bag-on-mens-page"]}
    # Follow the link: the demos page opens with the link's query parameters.
    demos = AppTest.from_file(str(APP), default_timeout=60)
    demos.query_params["demo"] = query["demo"][0]
    demos.switch_page("pages/demos.py")
    demos.run()
    assert not demos.exception
    assert demos.selectbox(key="demo_pick").options[0].startswith("Another story, first in the list")
    assert demos.selectbox(key="demo_pick").value == "shop_test:bag-on-mens-page"
    # The link chose once: the person's own pick afterwards stays.
    demos.selectbox(key="demo_pick").select("shop_test:a-listed-first").run()
    demos.run()
    assert demos.selectbox(key="demo_pick").value == "shop_test:a-listed-first"


# Alerts ------------------------------------------------------------------------------------------


def test_alerts_inbox_drafts_a_postmortem_from_an_alert(open_page, shop_domain):
    at = open_page("alerts")
    assert "No alerts here" in texts(at, "success")[0]
    measure(shop_domain, "no-off-context-items", 0.05, "5 % off-context")
    at = open_page("alerts")
    alert_id = int(at.expander[0].label.split()[0].lstrip("#"))
    assert at.expander[0].label.startswith(f"#{alert_id} · Test shop home page · ")  # the card title, not the id
    at.text_input(key=f"alert_author_{alert_id}").input("Sam Engineer")
    at.button(key=f"draft_alert_{alert_id}").click().run()
    assert not at.exception
    assert "The draft is written" in " ".join(texts(at, "success"))
    [path] = list(shop_domain.postmortems_dir.glob("*.md"))
    pm = load_postmortem(path)
    assert pm.status == "draft" and pm.authors == ["Sam Engineer"]
    assert pm.detection.reference == f"alert:{alert_id}"


def test_an_alert_reads_in_the_cards_words_and_links_its_concern_page(open_page, shop_domain):
    measure(shop_domain, "no-off-context-items", 0.05, "5 % off-context")
    at = open_page("alerts")
    markdown = texts(at, "markdown")
    assert "**Off context rate: 0\\.05 \\(must be at most 0\\.01\\)**" in markdown
    assert "off\\_context\\_rate = 0\\.05, expected \\<= 0\\.01\\. 5 % off\\-context" in texts(at, "caption")
    [link] = [e.proto for e in at.get("page_link") if e.proto.label.startswith("Concern:")]
    assert link.label == "Concern: No women's items on the men's page" and link.page == "concern"
    assert link.query_string == "domain=shop_test&concern=no-off-context-items"
    assert "*Check:* off\\_context\\_rate" in markdown  # evidence read out, not raw JSON
    assert not at.json


def test_an_alert_is_acknowledged_assigned_and_resolved_with_a_name_and_note(open_page, shop_domain):
    from inloop.alerts import alert_events, get_alert

    measure(shop_domain, "no-off-context-items", 0.05, "5 % off-context")
    at = open_page("alerts")
    alert_id = int(at.expander[0].label.split()[0].lstrip("#"))
    key = f"alert_{alert_id}"
    at.button(key=f"{key}_ack").click().run()  # no name: refused, nothing recorded
    assert "say who acknowledges" in " ".join(texts(at, "error"))
    assert get_alert(alert_id).acknowledged_by is None
    at.text_input(key=f"{key}_who").input("Dana Ops")
    at.button(key=f"{key}_ack").click().run()
    assert f"Alert #{alert_id} acknowledged by Dana Ops." in texts(at, "success")
    assert at.button(key=f"{key}_ack").disabled
    at.text_input(key=f"{key}_assignee").input("Kim Engineer")
    at.button(key=f"{key}_assign").click().run()
    at.button(key=f"{key}_resolve").click().run()  # no note: refused
    assert "a resolution needs a note" in " ".join(texts(at, "error"))
    at.text_input(key=f"{key}_note").input("Filter fixed and redeployed")
    at.button(key=f"{key}_resolve").click().run()
    assert not at.exception
    alert = get_alert(alert_id)
    assert (alert.status, alert.resolved_by, alert.resolution, alert.assignee) == (
        "resolved", "Dana Ops", "Filter fixed and redeployed", "Kim Engineer")
    assert [(e.action, e.actor) for e in alert_events(alert_id)] == [
        ("acknowledged", "Dana Ops"), ("assigned", "Dana Ops"), ("resolved", "Dana Ops")]
    assert "No alerts here" in texts(at, "success")[-1]  # the open inbox is empty again


# Project card ------------------------------------------------------------------------------------


def test_project_card_shows_what_is_unanswered_and_the_outage_matrix(open_page):
    at = open_page("project_card")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Checklist answered"] == "27 of 32"
    warnings = texts(at, "warning")
    assert "5 checklist items still unanswered:" in warnings
    unanswered = at.dataframe[0].value["item"].tolist()
    assert unanswered == ["business_case.kpi.target", "business_case.current_approach",
                          "outage_impact.one_hour.impact", "concerns[2] (planned-one).worst_case",
                          "concerns[2] (planned-one).user_story"]
    markdown = " ".join(texts(at, "markdown"))
    assert "caches warm up in 2 minutes" in markdown and "nobody is paged" in markdown
    assert "No ML at all \\(bestsellers\\)" in markdown
    readiness = at.dataframe[1].value
    assert "unanswered checklist item" in set(readiness["what"])
    # the cross-check loads the domain's pipelines; this one's do not exist, and the page says so
    at.button(key="card_crosscheck").click().run()
    assert not at.exception
    assert "definitions or demos do not load: ModuleNotFoundError" in texts(at, "error")[0]


# Worst-case demos --------------------------------------------------------------------------------


def test_demos_show_the_last_stored_result_without_running_and_a_live_run_is_labelled(open_page, shop_domain):
    import datetime as dt

    from inloop.db.models import DemoRun

    at = open_page("demos")
    assert at.selectbox(key="demo_pick").value == "shop_test:bag-on-mens-page"
    assert "This demo has not run yet on this installation" in texts(at, "info")[0]
    with db.read_session() as sess:
        assert sess.scalar(sa.select(sa.func.count()).select_from(DemoRun)) == 0  # opening the page ran nothing
    [live] = [e for e in at.expander if e.label == "Run it live — writes to the real system"]
    assert "writes records, alerts and check results" in texts(at, "warning")[0]
    assert at.button(key="demo_run").disabled  # only after saying it may write
    at.checkbox(key="demo_live_ok").check().run()
    at.button(key="demo_run").click().run()
    assert not at.exception
    assert texts(at, "success")[0].startswith("The story held: 1 claim true")
    markdown = " ".join(texts(at, "markdown"))
    assert "What came in:** A shopper with a shared family account opens the men" in markdown
    assert "Fallback took over:** The item is dropped from the last\\-seen box" in markdown
    # The live run was stored; a fresh session shows it without running anything.
    with db.read_session() as sess:
        [row] = sess.scalars(sa.select(DemoRun)).all()
    assert (row.domain, row.demo_id, row.passed, row.source) == ("shop_test", "bag-on-mens-page", True, "console")
    assert row.started_at > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    fresh = open_page("demos")
    verdict = texts(fresh, "success")[0]
    assert verdict.startswith("Passed on ") and "run by console; 1 of 1 claim held" in verdict
    assert "No women" in " ".join(texts(fresh, "markdown"))


def test_demos_page_without_demos_says_where_they_come_from(open_page, shop_domain, monkeypatch):
    import dataclasses

    from inloop import domains as registry

    bare = dataclasses.replace(shop_domain, demos=lambda: {})
    monkeypatch.setattr(registry, "discover_domains", lambda: {"shop_test": bare})
    at = open_page("demos")
    assert "No worst-case demos are registered yet" in texts(at, "info")[0]


# Bug reports -------------------------------------------------------------------------------------


def _fill_report(at, text: str, **fields: str) -> None:
    at.text_input(key="bug_reporter").input(fields.get("reporter", "Kim Colleague"))
    at.text_area(key="bug_text").input(text)
    for name in ("request_id", "page", "component", "segment", "failure_kind"):
        if name in fields:
            at.text_input(key=f"bug_{name}").input(fields[name])


def test_submitting_a_bug_report_with_a_screenshot_records_it(open_page):
    request_id = log_prediction(domain="shop_test", component="last_seen", features=FEATURES,
                                output={"items": ["bag-9", "sneaker-1"]}, model_version="v1")
    at = open_page("bug_reports")
    _fill_report(at, "A handbag on the men's page <script>alert(1)</script>", request_id=request_id,
                 page="home/men", failure_kind="off_context_item")
    at.file_uploader(key="bug_screenshot").upload("screen.png", png(), "image/png")
    at.get("form_submit_button")[0].click().run()
    assert not at.exception
    assert texts(at, "success")[0].startswith("Thank you — report #1 is recorded.")
    with db.read_session() as sess:
        row = sess.scalars(sa.select(BugReport)).one()
    assert row.reporter == "Kim Colleague" and row.request_id == request_id
    assert row.component == "last_seen"  # taken from the logged prediction
    assert row.screenshot_media_type == "image/png"
    # the reporter's words are shown as text in the inbox, never as HTML or Markdown
    assert "A handbag on the men's page <script>alert(1)</script>" in texts(at, "text")


def test_a_bad_bug_report_says_what_is_wrong_and_saves_nothing(open_page):
    at = open_page("bug_reports")
    _fill_report(at, "x")
    at.get("form_submit_button")[0].click().run()
    error = texts(at, "error")[0]
    assert error.startswith("Nothing was saved.") and "**text**: String should have at least 3 characters" in error
    at.text_area(key="bug_text").input("The box is empty")
    at.text_input(key="bug_request_id").input("no-such-request")
    at.get("form_submit_button")[0].click().run()
    error = texts(at, "error")[0]
    assert "**request\\_id**: no logged prediction with request id 'no\\-such\\-request'" in error
    with db.read_session() as sess:
        assert sess.scalar(sa.select(sa.func.count()).select_from(BugReport)) == 0


def test_inbox_groups_escalates_replays_and_starts_a_postmortem(open_page, shop_domain):
    request_id = log_prediction(domain="shop_test", component="last_seen", features=FEATURES,
                                output={"items": ["bag-9", "sneaker-1"]}, model_version="v1")
    for who in ("Kim", "Lou"):
        file_report({"reporter": who, "text": "bag on the men's page", "domain": "shop_test",
                     "request_id": request_id, "failure_kind": "off_context_item"})
    at = open_page("bug_reports")
    groups = at.dataframe[0].value
    assert groups["group"].tolist() == ["shop_test/last_seen/off_context_item/unspecified"]
    assert groups["escalated"].tolist()[0].startswith("yes (alert #")
    assert any(w.startswith("Escalated: 2 similar reports in 7 days") for w in texts(at, "warning"))
    assert at.button(key="pm_group_0").label == "Start a post-mortem for this group"
    # replay of the linked prediction, then a re-run on the champion through the domain's runner
    at.button(key="rerun_r2").click().run()
    assert "The champion answers differently:" in texts(at, "warning")[-1]
    at.text_input(key="bug_actor_2").input("Sam Engineer")
    at.button(key="pm_2").click().run()
    assert not at.exception
    assert "Draft post-mortem written to" in texts(at, "success")[0]
    [path] = list(shop_domain.postmortems_dir.glob("*.md"))
    pm = load_postmortem(path)
    assert any(f.ref == f"request:{request_id}" for f in pm.facts)
    with db.read_session() as sess:
        report = sess.get(BugReport, 2)
        actors = sess.scalars(sa.select(BugReportEvent.actor).where(BugReportEvent.bug_report_id == 2)).all()
    assert report.status == "linked" and report.postmortem_slug == path.stem
    assert actors == ["Lou", "Sam Engineer", "Sam Engineer"]


def test_inbox_without_reports_says_how_they_arrive(open_page):
    at = open_page("bug_reports")
    assert "No bug reports yet." in texts(at, "info")[0]


# Post-mortems ------------------------------------------------------------------------------------


def test_postmortems_page_without_any_says_how_to_start_one(open_page):
    at = open_page("postmortems")
    assert "No post-mortems yet." in texts(at, "info")[0]
    assert "inloop postmortem new" in texts(at, "info")[0]


def test_create_a_postmortem_with_five_whys_and_read_it_back(open_page, shop_domain):
    at = open_page("postmortems")
    p = "pm_new_"
    at.text_input(key=p + "editor").input("Pat Owner")
    at.text_input(key=p + "title").input("A woman's bag on the men's home page")
    at.text_area(key=p + "summary").input("The last-seen box showed a women's bag to a man on the men's page.")
    at.text_area(key=p + "impact_business").input("Trust in the home page; one complaint.")
    at.text_area(key=p + "impact_affected").input("Shared family accounts, about 3 % of shoppers.")
    at.text_input(key=p + "impact_duration").input("2 weeks, degraded")
    at.text_input(key=p + "det_desc").input("A colleague's bug report")
    at.text_input(key=p + "fact_0_description").input("The logged last-seen box held bag-9 (women)")
    at.text_input(key=p + "fact_0_ref").input("request:abc")
    whys = [("Why was a women's bag shown?", "The last-seen box ignores the page context",
             "Replayed the request", "bag-9 came from the last-seen box [F1]", "confirmed"),
            ("Why was a women's item in his history?", "A shared family account",
             "Looked at the account's devices", "Two people use one account", "confirmed")]
    for i, (q, h, how, ev, verdict) in enumerate(whys):
        at.text_input(key=f"{p}why_{i}_question").input(q)
        at.text_input(key=f"{p}why_{i}_hypothesis").input(h)
        at.text_input(key=f"{p}why_{i}_how_checked").input(how)
        at.text_input(key=f"{p}why_{i}_evidence").input(ev)
        at.selectbox(key=f"{p}why_{i}_verdict").select(verdict)
    at.text_area(key=p + "root_cause").input("The last-seen box had no page-context filter.")
    at.text_area(key=p + "trigger").input("A shared account browsed women's bags on the app.")
    at.text_area(key=p + "resolution").input("Filter last-seen items by page gender.")
    at.text_input(key=p + "act_0_description").input("Filter the last-seen box by page context")
    at.text_input(key=p + "act_0_owner").input("Recommender team")
    at.run()
    at.multiselect(key=p + "accepted").select("A1")
    at.button(key=p + "save").click().run()
    assert not at.exception
    assert texts(at, "success")[0].startswith("Saved to")
    [path] = list(shop_domain.postmortems_dir.glob("*.md"))
    pm = load_postmortem(path)
    assert [w.question for w in pm.five_whys] == [w[0] for w in whys]
    assert pm.facts[0].id == "F1" and pm.facts[0].ref == "request:abc"
    assert pm.action_points[0].description == "Filter the last-seen box by page context"
    assert pm.authors == ["Pat Owner"] and pm.review.reviewer == "Pat Owner"
    assert pm.review.accepted_action_points == ["A1"]

    # Read it: the stakeholder summary comes first, tickets can be exported
    at = open_page("postmortems")
    summary = texts(at, "markdown")
    assert any(m.startswith("### A woman's bag on the men's home page") and "**What happened.**" in m for m in summary)
    assert len(at.get("download_button")) == 2


def test_an_incomplete_postmortem_is_not_saved_and_says_what_is_missing(open_page, shop_domain):
    at = open_page("postmortems")
    at.text_input(key="pm_new_editor").input("Pat Owner")
    at.text_input(key="pm_new_title").input("Something broke")
    at.button(key="pm_new_save").click().run()
    error = texts(at, "error")[0]
    assert error.startswith("Not saved.") and "**summary**: must be filled in" in error
    assert not list(shop_domain.postmortems_dir.glob("*.md"))


# Invoice review queue ----------------------------------------------------------------------------


def test_review_queue_approves_with_a_correction_and_rejects_with_a_notice(open_page, tmp_path):
    at = open_page("review_queue")
    assert at.metric[0].value == "2"
    assert "total read with 41 % confidence" in texts(at, "warning")[0]
    assert len(at.get("image")) == 1
    at.text_input(key="review_clerk_1").input("Anna Berger")
    at.text_input(key="review_1_total").input("21.00")
    at.button(key="approve_1").click().run()
    assert texts(at, "success")[0] == "Invoice #1 approved by Anna Berger and booked (corrected: total)."
    at = open_page("review_queue")
    at.text_input(key="review_clerk_2").input("Anna Berger")
    at.button(key="reject_2").click().run()
    assert texts(at, "error")[0].startswith("Not rejected: a rejection needs a notice")
    at.text_area(key="notice_2").input("Please send the invoice again as a readable PDF.")
    at.button(key="reject_2").click().run()
    assert texts(at, "success")[0].startswith("Invoice #2 rejected by Anna Berger")
    state = json.loads((tmp_path / "review" / "state.json").read_text())
    assert state["1"]["decision"] == {"by": "Anna Berger", "corrections": {"total": "21.00"}}
    assert state["2"]["status"] == "rejected_with_notice"
    at = open_page("review_queue")
    assert "The review queue is empty" in texts(at, "success")[0]


def _invoice_shown(at) -> int:
    [invoice_id] = [int(b.key.removeprefix("approve_")) for b in at.button if (b.key or "").startswith("approve_")]
    return invoice_id


def test_review_queue_keeps_the_chosen_invoice_and_what_was_typed_while_the_wait_grows(open_page, tmp_path):
    """Seen live: a clerk on #25 was moved to #22 when "waiting 0.3 h" became 0.4 h, the typed name lost."""
    at = open_page("review_queue")
    at.selectbox(key="review_pick").select_index(1).run()
    assert _invoice_shown(at) == 2
    at.text_input(key="review_clerk_2").input("Anna Berger")
    at.text_input(key="review_2_total").input("21.00").run()
    state_file = tmp_path / "review" / "state.json"
    state = json.loads(state_file.read_text())
    state["1"]["waiting_hours"], state["2"]["waiting_hours"] = 3.3, 6.4  # the clock moves on
    state_file.write_text(json.dumps(state))
    at.run()
    assert not at.exception
    assert _invoice_shown(at) == 2
    assert "Invoice #2 has waited 6.4 h for a person." in texts(at, "caption")
    assert at.text_input(key="review_clerk_2").value == "Anna Berger"
    assert at.text_input(key="review_2_total").value == "21.00"
    at.button(key="approve_2").click().run()
    state = json.loads(state_file.read_text())
    assert state["2"]["decision"] == {"by": "Anna Berger", "corrections": {"total": "21.00"}}
    assert state["1"]["status"] == "needs_review"


def test_review_queue_without_a_connected_service_says_so(open_page, shop_domain, monkeypatch):
    import dataclasses

    from inloop import domains as registry

    bare = dataclasses.replace(shop_domain, replay_runner=None, review_service=None)
    monkeypatch.setattr(registry, "discover_domains", lambda: {"shop_test": bare})
    at = open_page("review_queue")
    assert "No review queue is connected yet." in texts(at, "info")[0]


# Monitoring and models ---------------------------------------------------------------------------


def test_monitoring_shows_traffic_checks_drift_reports_and_pages_the_log(open_page, shop_domain):
    from inloop.predictions import PredictionEntry, log_predictions
    from inloop.settings import get_settings

    log_predictions(PredictionEntry(domain="shop_test", component="last_seen" if i % 2 else "recommended",
                                    features={"i": i}, output={}, model_name="als", model_version="3",
                                    live_test_set=i % 10 == 0, latency_ms=5.0) for i in range(120))
    measure(shop_domain, "no-off-context-items", 0.0, "0 of 100 pages")
    reports = get_settings().reports_dir / "shop_test"
    reports.mkdir(parents=True)
    (reports / "drift-2026-11-28.html").write_text("<html><body><h1>Drift</h1></body></html>")
    (reports.parent / "drift").mkdir()
    (reports.parent / "drift" / "shop_test-batch-7-20261128T100000Z.html").write_text("<html>batch 7</html>")
    (reports.parent / "drift" / "credit-batch-1-20261128T100000Z.html").write_text("<html>not ours</html>")
    at = open_page("monitoring")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Predictions served, last 30 days"] == "120"
    assert metrics["In the live test set"] == "12"
    components = at.dataframe[0].value
    assert sorted(components["component"]) == ["last_seen", "recommended"]
    assert at.dataframe[1].value["served"].tolist() == [120]
    picker = at.selectbox(key="drift_pick")
    assert len(picker.options) == 2 and not any(o.startswith("credit") for o in picker.options)
    assert len(at.get("iframe")) == 1  # the report, embedded
    checks = at.dataframe[2].value
    assert checks["check"].tolist() == ["off_context_rate"] and checks["holds"].tolist() == [True]
    log = at.dataframe[3].value
    assert len(log) == 50 and log["id"].iloc[0] == 120
    at.button(key="log_older").click().run()
    assert at.dataframe[3].value["id"].iloc[0] == 70


def test_monitoring_and_models_without_data_say_what_fills_them(open_page):
    at = open_page("monitoring")
    infos = " ".join(texts(at, "info"))
    assert "No predictions logged for shop_test" in infos and "No drift reports for shop_test yet" in infos
    assert "No check has run for shop_test yet" in infos
    at = open_page("models")
    assert "No models yet: nothing has been logged to MLflow." in texts(at, "info")[0]


# Access ------------------------------------------------------------------------------------------

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "console", "client_secret": "s", "server_metadata_url": "https://idp.example/.well-known/x"}


def test_with_login_configured_nobody_sees_a_page_before_logging_in():
    from streamlit.testing.v1 import AppTest

    from .conftest import APP

    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = {}
    at.run()
    assert not at.exception
    assert at.button(key="login").label == "Log in"
    assert not at.title or at.title[0].value == "inloop stakeholder console"
    assert not any("concerns" in t.value for t in at.title)
    # every page file, opened directly around the entry script, still shows only the login page
    for page in ("bug_reports", "postmortems", "review_queue", "overview"):
        direct = AppTest.from_file(str(APP), default_timeout=60)
        direct.secrets["auth"] = AUTH
        direct.user = {}
        direct.switch_page(f"pages/{page}.py")
        direct.run()
        assert [t.value for t in direct.title] == ["inloop stakeholder console"], page


def test_the_logged_in_identity_is_recorded_on_a_bug_report():
    from streamlit.testing.v1 import AppTest

    from .conftest import APP

    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": "kim@example.com", "name": "Kim"}
    at.run()
    at.switch_page("pages/bug_reports.py").run()
    assert at.text_input(key="bug_reporter_locked").value == "kim@example.com"
    at.text_area(key="bug_text").input("The total on the invoice screen is wrong")
    at.get("form_submit_button")[0].click().run()
    assert not at.exception
    with db.read_session() as sess:
        assert sess.scalars(sa.select(BugReport.reporter)).one() == "kim@example.com"

