"""Bug reports: checked input with nothing half-written, grouping, one escalation alert, validated statuses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from inloop import db
from inloop.alerts import list_alerts
from inloop.db.models import Alert, BugReport, BugReportEvent, utcnow
from inloop.incidents.bug_reports import (
    MAX_SCREENSHOT_BYTES,
    BugReportError,
    close_report,
    file_report,
    get_report,
    link_to_postmortem,
    list_groups,
    list_reports,
    reopen_report,
    report_history,
    triage_report,
)
from inloop.predictions import log_prediction
from inloop.settings import get_settings


def _report(**overrides) -> dict:
    fields = {"reporter": "Mo (category management)", "text": "A woman's bag on the men's home page?!",
              "domain": "shop_test", "page": "home/men", "component": "last_seen",
              "failure_kind": "off_context_item", "segment": "shared_account", "severity": "high"}
    return {**fields, **overrides}


def _nothing_written() -> None:
    with db.read_session() as sess:
        assert sess.scalar(sa.select(sa.func.count()).select_from(BugReport)) == 0
        assert sess.scalar(sa.select(sa.func.count()).select_from(BugReportEvent)) == 0
    shots = get_settings().files_dir / "screenshots"
    assert not shots.exists() or not [p for p in shots.rglob("*") if p.is_file()]


def test_a_report_with_screenshot_and_request_id(logged_request: str, png_bytes) -> None:
    image = png_bytes()
    filed = file_report(_report(component=None, request_id=logged_request), screenshot=image)
    report = filed.report
    assert report.status == "new" and report.id == get_report(report.id).id
    assert report.component == "last_seen"  # taken from the logged prediction
    assert report.request_id == logged_request
    assert report.screenshot_media_type == "image/png"
    assert report.screenshot_file is not None and report.screenshot_file.read_bytes() == image
    assert report.screenshot_file.is_relative_to(get_settings().files_dir)
    assert report.group_key == "shop_test/last_seen/off_context_item/shared_account"
    assert [(c.from_status, c.to_status) for c in report_history(report.id)] == [(None, "new")]
    assert filed.alert is None and filed.group.open_in_window == 1


def test_jpeg_and_webp_are_accepted(shop_domain, png_bytes) -> None:
    for fmt, media in (("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        filed = file_report(_report(), screenshot=png_bytes(fmt=fmt))
        assert filed.report.screenshot_media_type == media


@pytest.mark.parametrize(
    ("make_bytes", "problem"),
    [
        (lambda png: b"\x89PNG\r\n\x1a\n" + b"\0" * MAX_SCREENSHOT_BYTES, "over the 10,485,760-byte limit"),
        (lambda png: b"just some text pretending to be a screenshot", "not a PNG, JPEG or WebP"),
        (lambda png: png()[:-30], "damaged or incomplete"),
        (lambda png: png()[:60], "damaged or incomplete"),
        (lambda png: png(fmt="GIF"), "not a PNG, JPEG or WebP"),
        (lambda png: b"", "empty"),
    ],
    ids=["oversized", "not-an-image", "truncated-png", "png-header-only", "gif", "empty"],
)
def test_bad_screenshot_is_refused_and_nothing_is_written(shop_domain, png_bytes, make_bytes, problem) -> None:
    with pytest.raises(BugReportError, match=problem) as caught:
        file_report(_report(), screenshot=make_bytes(png_bytes))
    assert [field for field, _ in caught.value.problems] == ["screenshot"]
    _nothing_written()


def test_the_screenshot_name_does_not_matter_only_its_bytes(shop_domain, tmp_path: Path) -> None:
    fake = tmp_path / "screen.png"
    fake.write_text("<html>not an image</html>")
    with pytest.raises(BugReportError, match="checked on the file's content"):
        file_report(_report(), screenshot=fake.read_bytes())
    _nothing_written()


def test_unknown_request_id_is_refused(shop_domain, png_bytes) -> None:
    with pytest.raises(BugReportError, match="request_id: no logged prediction with request id 'r-404'"):
        file_report(_report(request_id="r-404"), screenshot=png_bytes())
    _nothing_written()


def test_request_id_of_another_domain_is_refused(shop_domain) -> None:
    other = log_prediction(domain="plain_test", component="decision", features={}, output={})
    with pytest.raises(BugReportError, match="served by domain 'plain_test', not 'shop_test'"):
        file_report(_report(request_id=other))
    _nothing_written()


def test_unknown_domain_is_refused_naming_the_known_ones(shop_domain, png_bytes) -> None:
    with pytest.raises(BugReportError, match="domain: unknown domain 'shopp'; known domains: plain_test, shop_test"):
        file_report(_report(domain="shopp"), screenshot=png_bytes())
    _nothing_written()


def test_blank_optional_fields_mean_not_given(shop_domain) -> None:
    filed = file_report(_report(request_id="  ", page="", segment=" "))
    assert (filed.report.request_id, filed.report.page, filed.report.segment) == (None, None, None)
    assert filed.report.group_key == "shop_test/last_seen/off_context_item/unspecified"


def test_every_problem_is_named_at_once(shop_domain) -> None:
    with pytest.raises(BugReportError) as caught:
        file_report({"reporter": "", "text": "x", "domain": "shop_test", "severity": "apocalyptic", "colour": "red"})
    fields = sorted(field for field, _ in caught.value.problems)
    assert fields == ["colour", "reporter", "severity", "text"]
    _nothing_written()


def test_failed_database_write_leaves_no_orphan_screenshot(shop_domain, png_bytes) -> None:
    db.ensure_schema()
    with db.engine().begin() as conn:  # a real database failure at insert time
        conn.exec_driver_sql("CREATE TRIGGER refuse_reports BEFORE INSERT ON bug_reports "
                             "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(sa.exc.DatabaseError, match="disk full"):
        file_report(_report(), screenshot=png_bytes())
    _nothing_written()


def test_same_screenshot_twice_is_stored_once_and_kept_for_both(shop_domain, png_bytes) -> None:
    image = png_bytes()
    first = file_report(_report(), screenshot=image).report
    second = file_report(_report(reporter="Ana"), screenshot=image).report
    assert first.screenshot_path == second.screenshot_path
    assert first.screenshot_file.read_bytes() == image


def test_similar_reports_form_one_group_and_raise_one_alert_at_the_threshold(each_database, shop_domain) -> None:
    threshold = shop_domain.card().bug_reports.escalation_threshold
    assert threshold == 4
    filed = [file_report(_report(reporter=f"colleague {i}")) for i in range(threshold - 1)]
    assert all(f.alert is None for f in filed)
    assert list_alerts("shop_test") == []
    at_threshold = file_report(_report(reporter="colleague 4"))
    assert at_threshold.escalated_now and at_threshold.alert.source == "bug_reports"
    assert at_threshold.alert.severity == "ERROR"  # the reports say "high"
    later = [file_report(_report(reporter=f"colleague {i}")) for i in range(5, 8)]
    assert all(f.alert.id == at_threshold.alert.id and not f.escalated_now for f in later)

    with db.read_session() as sess:
        alert_rows = sess.scalars(sa.select(Alert)).all()
    assert len(alert_rows) == 1  # 7 similar reports, one alert
    assert alert_rows[0].occurrences == 4  # the crossing report and the 3 after it
    assert alert_rows[0].evidence["bug_report_ids"] == [r.report.id for r in filed + [at_threshold] + later]
    (group,) = list_groups("shop_test")
    assert group.open_in_window == 7 and group.escalated and group.alert_id == alert_rows[0].id


def test_a_failed_escalation_keeps_the_report_and_the_next_report_escalates(shop_domain) -> None:
    for i in range(3):
        file_report(_report(reporter=f"r{i}"))
    with db.engine().begin() as conn:  # the alert table refuses writes for a moment
        conn.exec_driver_sql("CREATE TRIGGER refuse_alerts BEFORE INSERT ON alerts "
                             "BEGIN SELECT RAISE(ABORT, 'database is locked'); END")
    crossing = file_report(_report(reporter="r3"))
    assert crossing.alert is None and get_report(crossing.report.id).status == "new"
    (group,) = list_groups("shop_test")
    assert group.open_in_window == 4 and group.escalation_due
    with db.engine().begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER refuse_alerts")
    next_one = file_report(_report(reporter="r4"))
    assert next_one.escalated_now and not list_groups("shop_test")[0].escalation_due


def test_different_segment_is_another_group(shop_domain) -> None:
    for i in range(3):
        file_report(_report(reporter=f"a{i}"))
    other = file_report(_report(segment="new_user"))
    assert other.group.group_key.endswith("/new_user") and other.group.open_in_window == 1
    assert [g.open_in_window for g in list_groups("shop_test")] == [3, 1]
    assert list_alerts("shop_test") == []


def test_reports_outside_the_card_window_do_not_count(each_database, shop_domain) -> None:
    old = utcnow() - dt.timedelta(days=8)  # the card's window is 7 days
    for i in range(3):
        file_report(_report(reporter=f"old {i}"), reported_at=old)
    fresh = file_report(_report(reporter="today"))
    assert fresh.group.open_in_window == 1 and fresh.group.total == 4
    assert fresh.alert is None


def test_closed_reports_do_not_count_towards_escalation(shop_domain) -> None:
    ids = [file_report(_report(reporter=f"r{i}")).report.id for i in range(3)]
    close_report(ids[0], "duplicate of a report that was fixed", actor="triage")
    assert file_report(_report(reporter="r4")).alert is None


def test_status_moves_new_triaged_linked_closed_and_every_step_is_recorded(each_database, shop_domain) -> None:
    report_id = file_report(_report(failure_kind=None)).report.id
    with pytest.raises(BugReportError, match="is new; it can move to triaged, closed, not linked"):
        link_to_postmortem(report_id, "2026-03-04-bag", actor="eng")
    triaged = triage_report(report_id, actor="eng", failure_kind="off_context_item", note="last-seen box")
    assert triaged.report.status == "triaged"
    assert triaged.report.group_key == "shop_test/last_seen/off_context_item/shared_account"
    linked = link_to_postmortem(report_id, "2026-03-04-bag", actor="eng")
    assert linked.postmortem_slug == "2026-03-04-bag"
    with pytest.raises(BugReportError, match="resolution: say how it was resolved"):
        close_report(report_id, "", actor="eng")
    closed = close_report(report_id, "context filter on the last-seen box", actor="eng")
    assert closed.status == "closed" and closed.resolution == "context filter on the last-seen box"
    reopened = reopen_report(report_id, actor="eng", note="seen again on the app")
    assert reopened.status == "triaged" and reopened.resolution is None
    history = report_history(report_id)
    assert [(c.from_status, c.to_status) for c in history] == [
        (None, "new"), ("new", "triaged"), ("triaged", "linked"), ("linked", "closed"), ("closed", "triaged")]
    assert history[3].note == "context filter on the last-seen box"
    assert [r.id for r in list_reports("shop_test", status="triaged")] == [report_id]


def test_unknown_report_and_bad_status_filter(shop_domain) -> None:
    with pytest.raises(BugReportError, match="no bug report #99"):
        triage_report(99, actor="eng")
    with pytest.raises(BugReportError, match="'open' is not one of new, triaged, linked, closed"):
        list_reports(status="open")


def test_every_installed_domain_takes_reports_under_its_own_card() -> None:
    """The real registry (entry points), not the test one: each domain's card policy is read."""
    from inloop.domains import discover_domains

    installed = discover_domains()
    assert installed, "no domain installed"
    for name, domain in installed.items():
        policy = domain.card().bug_reports
        filed = file_report({"reporter": "smoke", "text": "something looks odd", "domain": name})
        assert filed.report.domain == name
        assert (filed.group.threshold, filed.group.window_days) == (policy.escalation_threshold, policy.window_days)
