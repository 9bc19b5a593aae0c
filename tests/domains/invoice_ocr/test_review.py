"""The review service: the queue, correct-and-approve (-> one booking), reject with a notice."""

from __future__ import annotations

from pathlib import Path

import pytest

from invoice_ocr.lib.dataset import write_supplier_master
from invoice_ocr.lib.erp import SqliteErp
from invoice_ocr.lib.intake import receive
from invoice_ocr.lib.ledger import Ledger
from invoice_ocr.lib.monitoring import field_accuracy, reconcile
from invoice_ocr.lib.review import ReviewError, ReviewService
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "ws").prepare()
    write_supplier_master(generate_suppliers(5), ws.supplier_master_path)
    return ws


def _in_review(workspace: Workspace, data: bytes, **read: str | None) -> int:
    supplier = generate_suppliers(5)[1]
    values = {"supplier_id": supplier.supplier_id, "invoice_number": "RE-2026-00017", "invoice_date": "2026-10-01",
              "iban": supplier.iban, "net": "100.00", "vat": "19.00", "total": "119.00", "currency": supplier.currency}
    values.update(read)
    fields = {"extracted": {k: {"value": v, "confidence": 0.95 if v else 0.0, "source": ""} for k, v in values.items()}}
    invoice_id = receive(workspace, data, f"scan-{len(data)}.png", "inbox").invoice_id
    with Ledger(workspace.ledger_path) as ledger:
        ledger.claim_next()
        ledger.transition(invoice_id, "needs_review", reason="total != net + VAT", reason_kind="validation_failed",
                          fields=fields)
    return invoice_id


def test_the_queue_shows_the_reason_and_the_file(workspace: Workspace) -> None:
    invoice_id = _in_review(workspace, b"scan bytes", total="191.00")
    service = ReviewService(workspace)
    [item] = service.queue()
    assert (item.invoice_id, item.reason_kind) == (invoice_id, "validation_failed")
    shown = service.show(invoice_id)
    assert Path(shown["file"]).read_bytes() == b"scan bytes"
    assert shown["fields"]["total"]["value"] == "191.00"
    assert [e["to_state"] for e in shown["history"]] == ["received", "processing", "needs_review"]


def test_correct_and_approve_books_once_and_feeds_accuracy(workspace: Workspace) -> None:
    invoice_id = _in_review(workspace, b"scan bytes", total="191.00")
    service = ReviewService(workspace)
    with pytest.raises(ReviewError, match="total must equal net"):
        service.approve(invoice_id, "clerk anna")  # the misread total cannot be booked as read
    entry = service.approve(invoice_id, "clerk anna", {"total": "119.00"})
    assert entry.state == "booked" and entry.booked_by == "clerk anna"
    [booking] = SqliteErp(workspace.erp_path).bookings()
    assert booking["total"] == "119.00" and booking["ledger_invoice_id"] == invoice_id
    with Ledger(workspace.ledger_path) as ledger:
        [correction] = ledger.corrections(invoice_id)
    assert (correction["field"], correction["extracted"], correction["corrected"]) == ("total", "191.00", "119.00")
    accuracy = field_accuracy(workspace, truth={})
    assert accuracy["per_field"]["total"] == 0.0 and accuracy["per_field"]["net"] == 1.0
    assert accuracy["invoices"]["reviewed"] == 1
    with pytest.raises(ReviewError, match="not waiting for review"):
        service.approve(invoice_id, "clerk anna")


def test_a_second_copy_cannot_be_approved_into_a_double_booking(workspace: Workspace) -> None:
    service = ReviewService(workspace)
    first = _in_review(workspace, b"original scan")
    second = _in_review(workspace, b"paper copy scanned again")
    service.approve(first, "clerk anna")
    with pytest.raises(ReviewError, match="already booked"):
        service.approve(second, "clerk ben")
    service.reject(second, "clerk ben", "This invoice was already booked on 2026-10-03; no second payment.")
    assert len(SqliteErp(workspace.erp_path).bookings()) == 1
    recon = reconcile(workspace)
    assert (recon.booked, recon.rejected_with_notice, recon.gap) == (1, 1, 0)


def test_a_rejection_needs_a_notice_and_a_clerk(workspace: Workspace) -> None:
    invoice_id = _in_review(workspace, b"unreadable")
    service = ReviewService(workspace)
    with pytest.raises(ReviewError, match="notice"):
        service.reject(invoice_id, "clerk anna", "")
    with pytest.raises(ReviewError, match="clerk"):
        service.reject(invoice_id, " ", "Please send the invoice again as a PDF.")
    entry = service.reject(invoice_id, "clerk anna", "Please send the invoice again as a PDF.")
    assert entry.state == "rejected_with_notice" and entry.notice == "Please send the invoice again as a PDF."


def test_an_unknown_field_or_bad_amount_is_refused(workspace: Workspace) -> None:
    invoice_id = _in_review(workspace, b"x")
    service = ReviewService(workspace)
    with pytest.raises(ReviewError, match="unknown field"):
        service.approve(invoice_id, "clerk", {"colour": "red"})
    with pytest.raises(ReviewError, match="not an amount"):
        service.approve(invoice_id, "clerk", {"net": "a lot"})
    with pytest.raises(ReviewError, match="IBAN fails"):
        service.approve(invoice_id, "clerk", {"iban": "DE00123456781234567890"})
