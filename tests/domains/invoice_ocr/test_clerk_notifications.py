"""Issue #15 item 12: an invoice sent to review notifies the clerk, one grouped notification per reason.

Real ledger, real platform alerts (SQLite), real routing; the route is read from the card's
no-stuck-invoice concern, and the test reads the card file itself to compare.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from inloop.alerts import list_alerts, route_pending_alerts
from invoice_ocr.domain import DOMAIN_ROOT
from invoice_ocr.lib.clerk_notifications import NOTIFIED, notify_clerks
from invoice_ocr.lib.dataset import write_supplier_master
from invoice_ocr.lib.intake import receive
from invoice_ocr.lib.ledger import Ledger
from invoice_ocr.lib.review import ReviewService
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.workspace import Workspace


def _card_route() -> list[str]:
    card = yaml.safe_load((DOMAIN_ROOT / "project.yaml").read_text(encoding="utf-8"))
    [concern] = [c for c in card["concerns"] if c["id"] == "no-stuck-invoice"]
    return concern["alert_route"]


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "ws").prepare()
    write_supplier_master(generate_suppliers(5), ws.supplier_master_path)
    return ws


def _to_review(workspace: Workspace, name: str, kind: str, reason: str) -> int:
    invoice_id = receive(workspace, name.encode() * 3, name, "inbox").invoice_id
    with Ledger(workspace.ledger_path) as ledger:
        ledger.claim_next()
        ledger.transition(invoice_id, "needs_review", reason=reason, reason_kind=kind)
    return invoice_id


def _open() -> dict[str, object]:
    return {a.evidence["reason_kind"]: a for a in list_alerts("invoice_ocr", status="open")}


def test_one_notification_per_review_reason_routed_as_the_card_says(workspace: Workspace, caplog) -> None:  # type: ignore[no-untyped-def]
    a = _to_review(workspace, "scan-a.png", "truncated", "the scan was cut off (truncated file)")
    b = _to_review(workspace, "scan-b.png", "truncated", "the scan was cut off (truncated file)")
    c = _to_review(workspace, "scan-c.png", "low_confidence", "low confidence (0.41 < 0.8)")
    notices = {n.reason_kind: n for n in notify_clerks(workspace)}
    assert set(notices) == {"truncated", "low_confidence"}
    assert notices["truncated"].invoice_ids == [a, b] and notices["truncated"].newly_notified == [a, b]

    alerts = _open()
    truncated = alerts["truncated"]
    assert truncated.routes == _card_route() and truncated.concern_id == "no-stuck-invoice"
    assert truncated.severity == "INFO" and truncated.occurrences == 1
    assert "2 invoices wait in review" in truncated.title
    assert "scan-a.png" in truncated.message and "scan-b.png" in truncated.message
    assert "To do: reject it with a notice" in truncated.message
    assert alerts["low_confidence"].evidence["invoice_ids"] == [c]
    with Ledger(workspace.ledger_path) as ledger:
        assert any(e["detail"].startswith(NOTIFIED) for e in ledger.events(a))

    with caplog.at_level(logging.WARNING, logger="inloop.alerts"):
        deliveries = route_pending_alerts("invoice_ocr")
    delivered = {(d.alert_id, d.route) for d in deliveries if d.ok}
    assert {(truncated.id, r) for r in _card_route() if r != "webhook"} <= delivered
    assert "wait in review: truncated" in caplog.text  # the log route said it


def test_a_repeat_scan_does_not_renotify_and_a_new_invoice_joins_its_group(workspace: Workspace) -> None:
    _to_review(workspace, "scan-a.png", "truncated", "cut off")
    notify_clerks(workspace)
    notify_clerks(workspace)  # the next run: nothing new, no new occurrence
    assert _open()["truncated"].occurrences == 1
    d = _to_review(workspace, "scan-d.png", "truncated", "cut off")
    [notice] = notify_clerks(workspace)
    assert notice.newly_notified == [d]
    alert = _open()["truncated"]
    assert alert.occurrences == 2 and "scan-d.png" in alert.message and len(_open()) == 1


def test_a_decided_invoice_leaves_its_notification_which_resolves_when_empty(workspace: Workspace) -> None:
    a = _to_review(workspace, "scan-a.png", "truncated", "cut off")
    b = _to_review(workspace, "scan-b.png", "truncated", "cut off")
    notify_clerks(workspace)
    service = ReviewService(workspace)
    service.reject(a, "Clerk Meier", "Your invoice arrived damaged; please send it again.")
    alert = _open()["truncated"]
    assert (
        alert.evidence["invoice_ids"] == [b] and alert.occurrences == 1 and "scan-a.png" not in alert.message
    )
    service.reject(b, "Clerk Meier", "Your invoice arrived damaged; please send it again.")
    assert _open() == {}
    [resolved] = list_alerts("invoice_ocr", status="resolved")
    assert resolved.id == alert.id


def test_each_installation_has_its_own_notifications(tmp_path: Path) -> None:
    one, two = Workspace(tmp_path / "one").prepare(), Workspace(tmp_path / "two").prepare()
    _to_review(one, "scan-a.png", "truncated", "cut off")
    _to_review(two, "scan-b.png", "truncated", "cut off")
    notify_clerks(one)
    notify_clerks(two)
    alerts = list_alerts("invoice_ocr", status="open")
    assert len(alerts) == 2 and {a.evidence["workspace"] for a in alerts} == {str(one.root), str(two.root)}
