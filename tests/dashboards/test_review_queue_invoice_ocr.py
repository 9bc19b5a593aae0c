"""The review-queue page on the invoice domain's real review service (ledger, storage, ERP).

The console reaches a review queue only through a domain's ``review_service`` hook. Until the
invoice domain registers that hook itself, this test registers it on a test domain pointing at
``invoice_ocr.lib.review.ReviewService`` over a fresh workspace, so the page is exercised against
the real service and not a stand-in.
"""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

from inloop import domains as domain_registry
from inloop.domains import DomainPlugin

pytestmark = pytest.mark.slow

HOOK = '''\
from invoice_ocr.lib.review import ReviewService
from invoice_ocr.lib.workspace import Workspace

ROOT = None


def service():
    return ReviewService(Workspace(ROOT))
'''


@pytest.fixture
def invoice_queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace whose review queue holds a truncated scan and an empty attachment (no OCR needed)."""
    pytest.importorskip("invoice_ocr")
    from invoice_ocr.lib.dataset import write_supplier_master
    from invoice_ocr.lib.intake import take_inbox
    from invoice_ocr.lib.pipeline import InvoiceProcessor
    from invoice_ocr.lib.suppliers import generate_suppliers
    from invoice_ocr.lib.workspace import Workspace

    from .conftest import png

    workspace = Workspace(tmp_path / "ws").prepare()
    write_supplier_master(generate_suppliers(5, seed=1), workspace.supplier_master_path)
    (workspace.inbox / "scan-0815.png").write_bytes(png(300, 400)[:200])  # cut off mid-transfer
    (workspace.inbox / "empty-attachment.pdf").write_bytes(b"")
    old = time.time() - 10  # settled files: the intake waits for files still being written
    for path in workspace.inbox.iterdir():
        os.utime(path, (old, old))
    take_inbox(workspace)
    InvoiceProcessor(workspace).run()
    code = tmp_path / "code"
    code.mkdir()
    (code / "console_invoice_hook.py").write_text(textwrap.dedent(HOOK))
    monkeypatch.syspath_prepend(str(code))
    import importlib

    hook = importlib.reload(importlib.import_module("console_invoice_hook"))
    monkeypatch.setattr(hook, "ROOT", workspace.root)
    root = tmp_path / "invoice_test"
    root.mkdir()
    domain = DomainPlugin(name="invoice_test", root=root,
                          definitions=lambda: importlib.import_module("invoice_test.definitions").defs,
                          review_service=hook.service)
    monkeypatch.setattr(domain_registry, "discover_domains", lambda: {"invoice_test": domain})
    return workspace.root


def test_review_queue_on_the_real_invoice_service(invoice_queue, open_page):
    at = open_page("review_queue")
    assert at.metric[0].value == "2"
    picker = at.selectbox(key="review_pick")
    names = list(picker.options)
    assert any("scan-0815.png" in o for o in names) and any("empty-attachment.pdf" in o for o in names)
    invoice_id = picker.value  # the selection is keyed by invoice id
    at.text_input(key=f"review_clerk_{invoice_id}").input("Anna Berger")
    # nothing could be read from a broken file: booking it is refused, with the reason, and it stays in review
    at.button(key=f"approve_{invoice_id}").click().run()
    assert at.error[0].value.startswith("Not approved: cannot book:")
    at.text_area(key=f"notice_{invoice_id}").input("Your invoice arrived damaged; please send it again.")
    at.button(key=f"reject_{invoice_id}").click().run()
    assert at.success[0].value.startswith(f"Invoice #{invoice_id} rejected by Anna Berger")
    at = open_page("review_queue")
    assert at.metric[0].value == "1"
    from invoice_ocr.lib.ledger import Ledger
    from invoice_ocr.lib.workspace import Workspace

    with Ledger(Workspace(invoice_queue).ledger_path) as ledger:
        entry = ledger.get(invoice_id)
    assert entry.state == "rejected_with_notice"


def test_the_review_queue_lists_inbox_entries_refused_at_the_door(invoice_queue, open_page, tmp_path):
    """Issue #15 item 9: a link in the inbox is shown as refused at the door, with why and what to do."""
    from invoice_ocr.lib.intake import take_inbox
    from invoice_ocr.lib.workspace import Workspace

    workspace = Workspace(invoice_queue)
    (tmp_path / "elsewhere.pdf").write_bytes(b"%PDF-1.4 not here")
    (workspace.inbox / "link-to-invoice.pdf").symlink_to(tmp_path / "elsewhere.pdf")
    take_inbox(workspace)
    at = open_page("review_queue")
    [table] = at.dataframe
    shown = table.value
    assert list(shown["Entry"]) == ["link-to-invoice.pdf"]
    assert "symbolic link" in shown["Why"][0] and "copy the file itself" in shown["To do"][0]
    assert "Refused at the door: 1 inbox entry" in at.expander[0].label
    overview = open_page("overview")
    shown = [w.value.replace("\\", "") for w in overview.warning]  # names are markdown-escaped on the page
    assert any("refused at the door" in text and "link-to-invoice.pdf" in text for text in shown), shown


_UBL = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID><cbc:ID>RG-7</cbc:ID>
  <cbc:IssueDate>2026-10-02</cbc:IssueDate><cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party><cac:PostalAddress><cbc:StreetName>Hauptplatz 4</cbc:StreetName>
    <cbc:CityName>Wien</cbc:CityName><cbc:PostalZone>1010</cbc:PostalZone>
    <cac:Country><cbc:IdentificationCode>AT</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
    <cac:PartyTaxScheme><cbc:CompanyID>ATU49914400</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>
    </cac:PartyTaxScheme><cac:PartyLegalEntity><cbc:RegistrationName>Rheinwerk OG</cbc:RegistrationName>
    </cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party><cac:PartyLegalEntity><cbc:RegistrationName>inloop GmbH</cbc:RegistrationName>
    </cac:PartyLegalEntity></cac:Party></cac:AccountingCustomerParty>
  <cac:PaymentMeans><cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>
    <cac:PayeeFinancialAccount><cbc:ID>AT904008314415493447</cbc:ID></cac:PayeeFinancialAccount></cac:PaymentMeans>
  <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">20.00</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal><cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="EUR">100.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">120.00</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">120.00</cbc:PayableAmount></cac:LegalMonetaryTotal>
  <cac:InvoiceLine><cbc:ID>1</cbc:ID><cbc:InvoicedQuantity unitCode="C62">1</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Cleaning</cbc:Name></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">100.00</cbc:PriceAmount></cac:Price></cac:InvoiceLine>
</Invoice>
"""


def test_a_clerk_adds_an_unknown_supplier_from_the_review_queue(invoice_queue, open_page):
    """Issue #18 item 3: the page proposes the record read from the invoice; the clerk adds it, recorded."""
    from invoice_ocr.lib.intake import receive
    from invoice_ocr.lib.ledger import Ledger
    from invoice_ocr.lib.pipeline import load_suppliers
    from invoice_ocr.lib.reading import read_invoice
    from invoice_ocr.lib.workspace import Workspace

    workspace = Workspace(invoice_queue)
    data = _UBL.encode()
    reading = read_invoice(data, "rg-7.xml", suppliers=load_suppliers(workspace))
    invoice_id = receive(workspace, data, "rg-7.xml", "inbox").invoice_id
    with Ledger(workspace.ledger_path) as ledger:
        ledger.claim_next()
        ledger.transition(invoice_id, "needs_review", reason="supplier not in the master data",
                          reason_kind="validation_failed", fields={"extracted": reading.extracted.to_dict()})
    at = open_page("review_queue")
    at.selectbox(key="review_pick").set_value(invoice_id).run()
    at.button(key=f"propose_{invoice_id}").click().run()
    assert at.text_input(key=f"supplier_{invoice_id}_city").value == "Wien"
    assert at.text_input(key=f"supplier_{invoice_id}_iban").value == "AT904008314415493447"
    at.text_input(key=f"review_clerk_{invoice_id}").input("Anna Berger")
    at.button(key=f"add_supplier_{invoice_id}").click().run()
    assert any(s.value.startswith("Supplier A0001 added by Anna Berger") for s in at.success), [e.value for e in at.error]
    added = [s for s in load_suppliers(workspace) if s["supplier_id"] == "A0001"]
    assert added and added[0]["added_by"] == "Anna Berger" and added[0]["name"] == "Rheinwerk OG"
