"""Invoice routes: upload into the durable intake (checked on the bytes), status, review actions."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from inloop.api.app import create_app
from invoice_ocr.lib.dataset import write_supplier_master
from invoice_ocr.lib.erp import SqliteErp
from invoice_ocr.lib.ledger import Ledger
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.workspace import Workspace


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (60, 80), 255).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def api() -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {client.app.state.api_token}"
        yield client


def test_an_upload_is_registered_durably_and_the_same_bytes_twice_are_one_invoice(api: TestClient) -> None:
    first = api.post("/invoices", files={"file": ("scan 0042.png", _png(), "application/octet-stream")})
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["state"] == "received" and body["duplicate"] is False
    again = api.post("/invoices", files={"file": ("same-scan-renamed.png", _png(), "image/png")})
    assert again.status_code == 201 and again.json()["duplicate"] is True
    assert again.json()["invoice_id"] == body["invoice_id"]
    status = api.get(f"/invoices/{body['invoice_id']}").json()
    assert status["state"] == "received" and status["original_name"] == "scan 0042.png"
    workspace = Workspace.default()
    with Ledger(workspace.ledger_path) as ledger:
        assert [s["original_name"] for s in ledger.submissions()] == ["scan 0042.png", "same-scan-renamed.png"]


@pytest.mark.parametrize(("files", "status"), [
    ({"file": ("invoice.pdf", b"this is not a pdf at all", "application/pdf")}, 415),
    ({"file": ("invoice.png", b"GIF89a\x01\x00", "image/png")}, 415),
    ({"file": ("empty.pdf", b"", "application/pdf")}, 415),
    (None, 422),
])
def test_bad_uploads_are_refused_and_nothing_is_registered(api: TestClient, files, status: int) -> None:
    resp = api.post("/invoices", files=files)
    assert resp.status_code == status, resp.text
    workspace = Workspace.default()
    if workspace.ledger_path.exists():
        with Ledger(workspace.ledger_path) as ledger:
            assert ledger.entries() == []


def test_a_pdf_header_is_recognised_on_the_bytes(api: TestClient) -> None:
    resp = api.post("/invoices", files={"file": ("noname", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "text/plain")})
    assert resp.status_code == 201


def test_unknown_invoices_and_bad_ids(api: TestClient) -> None:
    assert api.get("/invoices/999").status_code == 404
    assert api.get("/invoices/0").status_code == 422
    assert api.get("/invoices/abc").status_code == 422


def _to_review(invoice_id: int, **read: str) -> None:
    """What the pipeline does to an invoice whose total does not add up (tested in test_processing)."""
    supplier = generate_suppliers(5)[1]
    values = {"supplier_id": supplier.supplier_id, "invoice_number": "RE-2026-00017", "invoice_date": "2026-10-01",
              "iban": supplier.iban, "net": "100.00", "vat": "19.00", "total": "191.00", "currency": supplier.currency}
    values.update(read)
    fields = {"extracted": {k: {"value": v, "confidence": 0.95, "source": ""} for k, v in values.items()}}
    with Ledger(Workspace.default().ledger_path) as ledger:
        ledger.claim_next()
        ledger.transition(invoice_id, "needs_review", reason="total != net + VAT", reason_kind="validation_failed",
                          fields=fields)


def test_review_queue_correct_and_approve_books_once(api: TestClient) -> None:
    write_supplier_master(generate_suppliers(5), Workspace.default().prepare().supplier_master_path)
    invoice_id = api.post("/invoices", files={"file": ("a.png", _png(), "image/png")}).json()["invoice_id"]
    _to_review(invoice_id)
    queue = api.get("/invoices/review").json()
    assert [(q["invoice_id"], q["reason_kind"]) for q in queue] == [(invoice_id, "validation_failed")]
    refused = api.post(f"/invoices/{invoice_id}/approve", json={"clerk": "anna"})
    assert refused.status_code == 409 and "total" in refused.json()["detail"]
    booked = api.post(f"/invoices/{invoice_id}/approve", json={"clerk": "anna", "corrections": {"total": "119.00"}})
    assert booked.status_code == 200 and booked.json()["state"] == "booked"
    assert len(SqliteErp(Workspace.default().erp_path).bookings()) == 1
    assert api.post(f"/invoices/{invoice_id}/approve", json={"clerk": "anna"}).status_code == 409
    assert api.get("/invoices/review").json() == []


def test_reject_with_notice_and_bad_review_bodies(api: TestClient) -> None:
    write_supplier_master(generate_suppliers(5), Workspace.default().prepare().supplier_master_path)
    invoice_id = api.post("/invoices", files={"file": ("b.png", _png(), "image/png")}).json()["invoice_id"]
    _to_review(invoice_id)
    assert api.post(f"/invoices/{invoice_id}/reject", json={"clerk": "anna", "notice": "no"}).status_code == 422
    assert api.post(f"/invoices/{invoice_id}/approve", json={"clerk": "anna", "corrections": {"colour": "red"}}
                    ).status_code == 409
    assert api.post(f"/invoices/{invoice_id}/approve", json={"clerk": "", "x": 1}).status_code == 422
    rejected = api.post(f"/invoices/{invoice_id}/reject",
                        json={"clerk": "anna", "notice": "Please resend the invoice as an unprotected PDF."})
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected_with_notice"
    assert rejected.json()["notice"].startswith("Please resend")
    assert api.post("/invoices/424242/reject", json={"clerk": "anna", "notice": "a long enough notice"}
                    ).status_code == 404
