"""Issue #18 item 3: an unknown supplier is proposed from the invoice and added by a clerk, recorded.

Fast tests read an EN 16931 (UBL) e-invoice through the real reading path (no OCR needed); the
slow test runs the scanned-invoice pipeline with real OCR end to end: unknown supplier -> review ->
proposal -> added by a clerk -> the next invoice from that supplier books without a person.
A changed IBAN for a known supplier is never offered as a new supplier.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from invoice_ocr.lib.dataset import write_supplier_master
from invoice_ocr.lib.intake import receive
from invoice_ocr.lib.ledger import Ledger
from invoice_ocr.lib.pipeline import load_suppliers
from invoice_ocr.lib.reading import read_invoice
from invoice_ocr.lib.review import ReviewError, ReviewService
from invoice_ocr.lib.supplier_onboarding import additions_path, propose_supplier
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.workspace import Workspace

UBL = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
  <cbc:ID>{number}</cbc:ID>
  <cbc:IssueDate>2026-10-02</cbc:IssueDate>
  <cbc:DueDate>2026-11-01</cbc:DueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PostalAddress>
      <cbc:StreetName>Hauptplatz 4</cbc:StreetName><cbc:CityName>Wien</cbc:CityName>
      <cbc:PostalZone>1010</cbc:PostalZone><cac:Country><cbc:IdentificationCode>AT</cbc:IdentificationCode></cac:Country>
    </cac:PostalAddress>
    <cac:PartyTaxScheme><cbc:CompanyID>ATU49914400</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
    <cac:PartyLegalEntity><cbc:RegistrationName>Rheinwerk Gebäudereinigung OG</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyLegalEntity><cbc:RegistrationName>inloop Demo GmbH</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:PaymentMeans><cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>
    <cac:PayeeFinancialAccount><cbc:ID>{iban}</cbc:ID></cac:PayeeFinancialAccount></cac:PaymentMeans>
  <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">{vat}</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="EUR">{net}</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="EUR">{net}</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">{total}</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">{total}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine>
    <cbc:ID>1</cbc:ID>
    <cbc:InvoicedQuantity unitCode="C62">1</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="EUR">{net}</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Office cleaning, monthly</cbc:Name></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">{net}</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
</Invoice>
"""
IBAN = "AT904008314415493447"


def _ubl(number: str = "RG-2026-001", iban: str = IBAN, net: str = "1000.00", vat: str = "200.00") -> bytes:
    total = f"{float(net) + float(vat):.2f}"
    return UBL.format(number=number, iban=iban, net=net, vat=vat, total=total).encode()


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "ws").prepare()
    write_supplier_master(generate_suppliers(5), ws.supplier_master_path)
    return ws


def _in_review(workspace: Workspace, data: bytes, name: str) -> int:
    """Received and read as the pipeline records it, then parked in review for its reasons."""
    reading = read_invoice(data, name, suppliers=load_suppliers(workspace))
    assert reading.extracted is not None, reading.error
    invoice_id = receive(workspace, data, name, "inbox").invoice_id
    with Ledger(workspace.ledger_path) as ledger:
        ledger.claim_next()
        ledger.transition(
            invoice_id,
            "needs_review",
            reason="; ".join(reading.review_reasons) or "check",
            reason_kind="validation_failed",
            fields={"extracted": reading.extracted.to_dict()},
        )
    return invoice_id


def test_the_review_queue_proposes_the_record_and_a_clerk_adds_it(workspace: Workspace) -> None:
    invoice_id = _in_review(workspace, _ubl(), "rg-2026-001.xml")
    proposal = propose_supplier(workspace, invoice_id)
    assert proposal.known_supplier is None and proposal.problems == []
    assert proposal.record == {
        "name": "Rheinwerk Gebäudereinigung OG",
        "street": "Hauptplatz 4",
        "postcode": "1010",
        "city": "Wien",
        "country": "AT",
        "vat_id": "ATU49914400",
        "iban": IBAN,
        "bic": "",
        "currency": "EUR",
        "vat_rate": "0.2",
    }

    service = ReviewService(workspace)
    added = service.add_supplier(invoice_id, "Clerk Meier", proposal.record)
    assert added["supplier_id"] == "A0001" and added["added_by"] == "Clerk Meier"
    assert added["added_from_invoice"] == invoice_id and added["added_at"]
    assert json.loads(additions_path(workspace).read_text())[0]["vat_id"] == "ATU49914400"
    assert any(s["supplier_id"] == "A0001" for s in load_suppliers(workspace))
    with Ledger(workspace.ledger_path) as ledger:
        assert "added to the master data by Clerk Meier" in ledger.events(invoice_id)[-1]["detail"]

    booked = service.approve(invoice_id, "Clerk Meier", {"supplier_id": "A0001"})
    assert booked.state == "booked" and booked.invoice_key == "A0001:RG2026001"

    # The next invoice from that supplier is recognised and nothing sends it to a person.
    later = read_invoice(
        _ubl("RG-2026-002", net="500.00", vat="100.00"),
        "rg-2026-002.xml",
        suppliers=load_suppliers(workspace),
    )
    assert later.fields["supplier_id"].value == "A0001"
    assert later.review_reasons == []


def test_a_known_supplier_with_another_iban_stays_a_fraud_risk_review(workspace: Workspace) -> None:
    known = generate_suppliers(5)[2]
    invoice_id = _in_review(workspace, _ubl(iban=IBAN), "changed-bank.xml")
    with Ledger(
        workspace.ledger_path
    ) as ledger:  # the reading recognised a known supplier, asking for another IBAN
        entry = ledger.get(invoice_id)
        fields = dict(entry.fields)
        fields["extracted"] = {
            **fields["extracted"],
            "supplier_id": {"value": known.supplier_id, "confidence": 0.99, "source": "name"},
        }
        ledger._conn.execute("UPDATE invoices SET fields = ? WHERE id = ?", (json.dumps(fields), invoice_id))
    proposal = propose_supplier(workspace, invoice_id)
    assert proposal.known_supplier == known.supplier_id and proposal.record == {}
    assert "fraud-risk review" in (proposal.refusal or "") and "by phone" in (proposal.refusal or "")

    service = ReviewService(workspace)
    record = {
        "name": "Another Name GmbH",
        "street": "Weg 1",
        "postcode": "1010",
        "city": "Wien",
        "country": "AT",
        "vat_id": known.vat_id,
        "iban": IBAN,
        "bic": "",
        "currency": "EUR",
        "vat_rate": "0.2",
    }
    with pytest.raises(ReviewError, match=f"belongs to supplier {known.supplier_id}.*fraud-risk"):
        service.add_supplier(invoice_id, "Clerk Meier", record)
    with pytest.raises(ReviewError, match="IBAN belongs to supplier"):
        service.add_supplier(
            invoice_id, "Clerk Meier", {**record, "vat_id": "ATU12345678", "iban": known.iban}
        )
    assert not additions_path(workspace).exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"iban": "AT904008314415493448"}, "IBAN .* fails its check digits"),
        ({"vat_id": "XX1"}, "VAT id .* is malformed"),
        ({"street": ""}, "street is missing"),
        ({"vat_rate": "19"}, "out of range"),
        ({"vat_rate": "nineteen"}, "not a rate"),
        ({"owner": "me"}, "unknown field"),
    ],
)
def test_a_record_with_a_problem_is_refused_with_what_to_fix(
    workspace: Workspace, change: dict, message: str
) -> None:
    invoice_id = _in_review(workspace, _ubl(), "rg.xml")
    record = {**propose_supplier(workspace, invoice_id).record, **change}
    with pytest.raises(ReviewError, match=message):
        ReviewService(workspace).add_supplier(invoice_id, "Clerk Meier", record)
    assert not additions_path(workspace).exists()


def test_who_adds_and_from_which_invoice_are_required(workspace: Workspace) -> None:
    invoice_id = _in_review(workspace, _ubl(), "rg.xml")
    record = propose_supplier(workspace, invoice_id).record
    service = ReviewService(workspace)
    with pytest.raises(ReviewError, match="clerk name"):
        service.add_supplier(invoice_id, "  ", record)
    service.reject(invoice_id, "Clerk Meier", "Please send the invoice again with your full address.")
    with pytest.raises(ReviewError, match="not waiting for review"):
        service.add_supplier(invoice_id, "Clerk Meier", record)
    with pytest.raises(KeyError):
        service.add_supplier(999, "Clerk Meier", record)


@pytest.mark.slow
def test_scanned_invoices_from_an_added_supplier_then_book_straight_through(tmp_path: Path) -> None:
    """Real OCR end to end: unknown -> review -> proposal -> added by a clerk -> the next one books alone."""
    from invoice_ocr.lib.dataset import write_invoice
    from invoice_ocr.lib.pipeline import InvoiceProcessor

    workspace = Workspace(tmp_path / "ws").prepare()
    suppliers = generate_suppliers(12, seed=4242)
    newcomer = suppliers[3]
    write_supplier_master([s for s in suppliers if s is not newcomer], workspace.supplier_master_path)
    first, second = (write_invoice(i, [newcomer], tmp_path / "scans", seed=11).path for i in (1, 2))

    invoice_id = receive(workspace, first.read_bytes(), first.name, "inbox").invoice_id
    assert InvoiceProcessor(workspace).run().needs_review == 1
    [waiting] = ReviewService(workspace).queue()
    assert "supplier not in the master data" in (waiting.reason or "")

    service = ReviewService(workspace)
    proposal = service.propose_supplier(invoice_id)
    record = proposal["record"]
    assert proposal["known_supplier"] is None
    assert (record["name"], record["iban"], record["postcode"], record["city"], record["country"]) == (
        newcomer.name,
        newcomer.iban,
        newcomer.postcode,
        newcomer.city,
        newcomer.country,
    )
    assert record["vat_rate"] == str(float(newcomer.vat_rate)).rstrip("0").rstrip(".")
    added = service.add_supplier(invoice_id, "Clerk Meier", record)
    service.approve(invoice_id, "Clerk Meier", {"supplier_id": added["supplier_id"]})

    receive(workspace, second.read_bytes(), second.name, "inbox")
    run = InvoiceProcessor(workspace).run()
    assert (run.booked, run.needs_review) == (1, 0), run.review_reasons
    with Ledger(workspace.ledger_path) as ledger:
        [later] = [e for e in ledger.entries("booked") if e.booked_by == "machine"]
    assert later.invoice_key is not None and later.invoice_key.startswith(added["supplier_id"] + ":")


@pytest.mark.slow  # the app's lifespan loads every domain's models
def test_the_api_proposes_and_adds_a_supplier(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from inloop.api.app import create_app

    workspace = Workspace.default().prepare()
    write_supplier_master(generate_suppliers(5), workspace.supplier_master_path)
    invoice_id = _in_review(workspace, _ubl(), "rg-2026-001.xml")
    with TestClient(create_app(), raise_server_exceptions=False) as api:
        assert api.get(f"/invoices/{invoice_id}/supplier-proposal").status_code == 401  # a write-level read
        api.headers["Authorization"] = f"Bearer {api.app.state.api_token}"
        proposal = api.get(f"/invoices/{invoice_id}/supplier-proposal")
        assert proposal.status_code == 200, proposal.text
        record = proposal.json()["record"]
        assert (record["name"], record["city"], record["iban"]) == (
            "Rheinwerk Gebäudereinigung OG",
            "Wien",
            IBAN,
        )
        assert api.get("/invoices/999/supplier-proposal").status_code == 404

        refused = api.post(
            f"/invoices/{invoice_id}/supplier",
            json={"clerk": "Clerk Meier", "record": {**record, "iban": "AT904008314415493448"}},
        )
        assert refused.status_code == 409 and "check digits" in refused.json()["detail"]
        added = api.post(f"/invoices/{invoice_id}/supplier", json={"clerk": "Clerk Meier", "record": record})
        assert added.status_code == 201, added.text
        assert added.json()["supplier_id"] == "A0001" and added.json()["added_by"] == "Clerk Meier"
        again = api.post(f"/invoices/{invoice_id}/supplier", json={"clerk": "Clerk Meier", "record": record})
        assert again.status_code == 409 and "fraud-risk" in again.json()["detail"]
    assert [s["supplier_id"] for s in load_suppliers(workspace)][-1] == "A0001"
