"""The whole incident loop: logged prediction -> bug report -> replay -> drafted post-mortem -> tickets."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from inloop.cards import Concern, Metric, Threshold
from inloop.checks import Measurement, evaluate_concern
from inloop.incidents.bug_reports import BugReportError, file_report, get_report, report_history
from inloop.incidents.cli import bug_app, postmortem_app
from inloop.incidents.drafts import DraftError, draft_from_alert, draft_from_bug, draft_path, write_draft
from inloop.incidents.postmortems import (
    ActionPoint,
    Review,
    WhyStep,
    lint_postmortem,
    load_postmortem,
    parse_postmortem,
    render_postmortem,
)
from inloop.incidents.replay import replay
from inloop.incidents.tickets import tickets_csv, tickets_markdown
from inloop.predictions import log_prediction

from .conftest import SHOP_FEATURES, SHOP_OUTPUT


def test_report_to_replay_to_postmortem_to_tickets(each_database, logged_request: str, png_bytes, tmp_path: Path) -> None:
    # A colleague reports the page, with the request id shown on it and a screenshot.
    filed = file_report({"reporter": "Mo", "text": "Why is there a woman's bag on the men's home page?",
                         "domain": "shop_test", "page": "home/men", "request_id": logged_request,
                         "failure_kind": "off_context_item", "severity": "high"}, screenshot=png_bytes())
    report = filed.report

    # Replay shows exactly what the system saw: the merged history with the women's items.
    seen = replay(report.request_id)
    assert seen.record.features == SHOP_FEATURES and seen.record.output == SHOP_OUTPUT

    # The drafted post-mortem starts from those facts: the report, the screenshot, the logged features.
    draft = draft_from_bug(report.id, authors=["Recommender on-duty engineer"])
    assert draft.status == "draft" and draft.domain == "shop_test"
    kinds = [f.kind for f in draft.facts]
    assert kinds[:3] == ["bug_report", "screenshot", "logged_input"]
    logged = draft.facts[2]
    assert logged.ref == f"request:{logged_request}"
    assert logged.data == {"features": SHOP_FEATURES, "output": SHOP_OUTPUT}
    assert "model last_seen_box version v1, policy page-rules-1" in logged.description
    assert draft.facts[1].ref == f"file:{report.screenshot_path}"
    assert any("Bug report #" in e.event for e in draft.timeline)
    assert any(f"Prediction {logged_request} served" in e.event for e in draft.timeline)
    assert f"inloop replay {logged_request}" in draft.five_whys[0].how_checked
    assert draft.detection.reference == f"bug:{report.id}"

    # It is a real file in the format: written, read back identical.
    path = write_draft(draft, draft_path(draft, tmp_path))
    text = path.read_text(encoding="utf-8")
    assert parse_postmortem(text, path) == draft and render_postmortem(load_postmortem(path)) == text
    assert "bag-9" in text and "page_gender: men" in text

    # The team completes the chain, writes action points, and the review accepts two of them.
    done = draft.model_copy(update={
        "status": "reviewed",
        "five_whys": [draft.five_whys[0].model_copy(update={
            "hypothesis": "The recommendations box showed the bag.",
            "evidence": "The logged output came from the last_seen component [F3].",
            "verdict": "rejected"}),
            WhyStep(question="Why was the bag in the last-seen box?", hypothesis="Shared account merged across devices.",
                    how_checked="Replayed the account's history [F3].", evidence="Bag viewed in the app [F3].",
                    verdict="confirmed")],
        "action_points": [
            ActionPoint(id="A1", type="mitigate", description="Section filter on the last-seen box.",
                        owner="Recommender team", priority="high"),
            ActionPoint(id="A2", type="prevent", description="Detect shared accounts.", owner="Recommender team",
                        priority="medium"),
            ActionPoint(id="A3", type="process", description="Announce the bug channel.", owner="Product",
                        priority="low"),
        ],
        "review": Review(reviewer="Head of Men's category", reviewed_on=dt.date(2026, 3, 5),
                         accepted_action_points=["A1", "A2"]),
    })
    path.write_text(render_postmortem(done), encoding="utf-8")

    # The accepted action points become tickets.
    reviewed = load_postmortem(path)
    markdown = tickets_markdown(reviewed, path)
    assert "## [shop_test] Section filter on the last-seen box." in markdown
    assert "Announce the bug channel" not in markdown
    rows = list(csv.DictReader(io.StringIO(tickets_csv(reviewed, path))))
    assert [(r["action_point"], r["owner"]) for r in rows] == [("A1", "Recommender team"), ("A2", "Recommender team")]


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(postmortem_app, name="postmortem")
    app.add_typer(bug_app, name="bugs")
    return app


def test_the_same_loop_through_the_cli(logged_request: str, png_bytes, tmp_path: Path) -> None:
    runner = CliRunner()
    shot = tmp_path / "screen.png"
    shot.write_bytes(png_bytes())
    filed = runner.invoke(_cli(), ["bugs", "report", "--domain", "shop_test", "--reporter", "Mo",
                                   "--text", "A woman's bag on the men's page", "--request-id", logged_request,
                                   "--screenshot", str(shot), "--failure-kind", "off_context_item"])
    assert filed.exit_code == 0, filed.output
    assert "bug report #1 filed in group shop_test/last_seen/off_context_item/unspecified (1/4 in 7 days)" \
        in filed.output
    out = tmp_path / "drafted.md"
    drafted = runner.invoke(_cli(), ["postmortem", "new", "--from-bug", "1", "--author", "eng", "--out", str(out)])
    assert drafted.exit_code == 0, drafted.output
    assert "bug report #1 linked to drafted" in drafted.output
    assert get_report(1).status == "linked" and get_report(1).postmortem_slug == "drafted"
    assert [c.to_status for c in report_history(1)] == ["new", "triaged", "linked"]
    shown = runner.invoke(_cli(), ["postmortem", "show", str(out)])
    assert shown.exit_code == 0 and "sneaker-1" in shown.output and "## Five whys" in shown.output
    summary = runner.invoke(_cli(), ["postmortem", "show", str(out), "--summary"])
    assert summary.exit_code == 0 and "**Is it resolved?** Not yet" in summary.output
    no_tickets = runner.invoke(_cli(), ["postmortem", "tickets", str(out)])
    assert no_tickets.exit_code == 1 and "no accepted action points" in no_tickets.output
    again = runner.invoke(_cli(), ["postmortem", "new", "--from-bug", "1", "--out", str(out)])
    assert again.exit_code == 2 and "already exists" in again.output
    neither = runner.invoke(_cli(), ["postmortem", "new"])
    assert neither.exit_code == 2 and "exactly one of --from-alert ID or --from-bug ID" in neither.output
    bad = runner.invoke(_cli(), ["bugs", "report", "--domain", "nowhere", "--reporter", "Mo", "--text", "odd page"])
    assert bad.exit_code == 2 and "unknown domain 'nowhere'" in bad.output


def test_draft_from_a_failed_check_carries_its_evidence_and_replays(logged_request: str) -> None:
    concern = Concern(id="no-off-context-items", statement="No women's items on the men's page.", raised_by="Head of Men's",
                      worst_case="a screenshot on social media", user_story="As a customer ...",
                      metric=Metric(name="off_context_rate", description="share of off-context items"),
                      threshold=Threshold(op="<=", value=0.0), check="off_context_rate_on_gendered_pages")
    outcome = evaluate_concern("shop_test", concern, Measurement(
        0.02, summary="2 % of items on gendered pages are off context", details={"request_ids": [logged_request]}))
    assert not outcome.passed and outcome.alert_id is not None
    draft = draft_from_alert(outcome.alert_id, authors=["on-call"])
    assert draft.detection.kind == "check" and draft.detection.reference == f"alert:{outcome.alert_id}"
    assert [f.kind for f in draft.facts] == ["alert", "check_result", "logged_input"]
    assert draft.facts[1].description.startswith(
        "Check off_context_rate_on_gendered_pages FAILED: off_context_rate = 0.02 (threshold <= 0)")
    assert draft.facts[2].data == {"features": SHOP_FEATURES, "output": SHOP_OUTPUT}
    assert "[F3]" in draft.five_whys[0].evidence
    assert any("Check off_context_rate_on_gendered_pages FAILED" in e.event for e in draft.timeline)
    assert render_postmortem(parse_postmortem(render_postmortem(draft))) == render_postmortem(draft)


def test_draft_from_an_alert_links_every_fact_to_a_record(shop_domain, tmp_path: Path) -> None:
    """#17 item 6: the alert, the check history, the request ids of the traffic the failing check judged
    (replayed), the drift report of the same batch; no fact is left pending."""
    def concern(cid: str, check: str) -> Concern:
        return Concern(id=cid, statement="Live inputs look like training.", raised_by="Credit Risk", worst_case="wrong scores",
                       user_story="As credit risk ...",
                       metric=Metric(name="m", description="a measure"), threshold=Threshold(op="<=", value=0.0),
                       check=check)

    schema, drift = concern("live-input-schema", "inputs_match_schema"), concern("live-input-drift", "not_drifted")
    assert evaluate_concern("shop_test", schema, Measurement(0.0, "batch b1: ok", {"batch_id": "b1"})).passed
    served = [log_prediction(domain="shop_test", component="last_seen", features={**SHOP_FEATURES, "n": i},
                             output=SHOP_OUTPUT, model_name="last_seen_box", model_version="v1") for i in range(5)]
    report = tmp_path / "drift-b2.html"
    report.write_text("<html>drift</html>")
    failing = evaluate_concern("shop_test", schema, Measurement(4.0, "batch b2: 4 rows break", {"batch_id": "b2"}))
    assert not failing.passed and failing.alert_id is not None
    evaluate_concern("shop_test", drift, Measurement(1.0, "1 column drifted", {"batch_id": "b2",
                                                                               "drifted_columns": ["n"]},
                                                     evidence_url=f"file://{report}"))
    draft = draft_from_alert(failing.alert_id)
    assert [f.status for f in draft.facts] == ["linked"] * len(draft.facts)  # nothing pending
    assert not [f for f in lint_postmortem(draft) if "pending" in f.message]
    kinds = [f.kind for f in draft.facts]
    assert kinds[:3] == ["alert", "check_result", "check_result"]  # the alert, then the check history
    (drift_fact,) = [f for f in draft.facts if f.kind == "drift_report"]
    assert drift_fact.ref == f"file://{report}" and "batch (b2)" in drift_fact.description
    (window,) = [f for f in draft.facts if f.ref and f.ref.startswith("predictions:shop_test:")]
    assert window.data == {"count": 5, "request_ids": served}
    assert [f.ref for f in draft.facts if f.kind == "logged_input" and f.ref.startswith("request:")] == [
        f"request:{r}" for r in served[:3]]
    path = tmp_path / "pm.md"
    result = CliRunner().invoke(_cli(), ["postmortem", "new", "--from-alert", str(failing.alert_id),
                                         "--out", str(path)])
    assert result.exit_code == 0, result.output
    assert "status: pending" not in path.read_text() and load_postmortem(path).facts == draft.facts


@pytest.mark.parametrize("bad", ["999", "0", "-3", "seven"])
def test_postmortem_new_refuses_a_bad_alert_id_with_exit_2(shop_domain, bad: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(_cli(), ["postmortem", "new", "--from-alert", bad, "--out", str(tmp_path / "x.md")])
    assert result.exit_code == 2
    assert ("no alert #999" if bad == "999" else "--from-alert") in result.output
    assert not (tmp_path / "x.md").exists()


def test_draft_from_an_escalated_group_lists_every_report(each_database, shop_domain) -> None:
    request_id = log_prediction(domain="shop_test", component="last_seen", features={"page_gender": "men"},
                                output={"items": ["bag-9"]})
    filed = [file_report({"reporter": f"r{i}", "text": "women's items on the men's page", "domain": "shop_test",
                          "component": "last_seen", "failure_kind": "off_context_item",
                          "request_id": request_id if i == 0 else None}) for i in range(4)]
    alert = filed[-1].alert
    assert alert is not None and alert.new
    draft = draft_from_alert(alert.id)
    assert draft.detection.kind == "bug_report"
    bug_refs = [f.ref for f in draft.facts if f.kind == "bug_report"]
    assert bug_refs == [f"bug:{f.report.id}" for f in filed]
    assert [f.ref for f in draft.facts if f.kind == "logged_input"] == [f"request:{request_id}"]


def test_unknown_alert_or_report_cannot_be_drafted(shop_domain) -> None:

    with pytest.raises(DraftError, match="no alert #41"):
        draft_from_alert(41)
    with pytest.raises(BugReportError, match="no bug report #42"):
        draft_from_bug(42)
