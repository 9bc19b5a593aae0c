"""Issue #18 item 5: privacy for invoices: erasing a supplier who is a person, and the retention sweep.

Real ledger, content store, ERP stand-in (SQLite), platform database and MLflow artifact folder; no
OCR (the invoices' read fields are recorded the way the pipeline records them). Like credit's and
the recommender's erasure tests, the receipt is checked per store and then the stores themselves,
down to the raw database files.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from inloop.alerts import list_alerts, raise_alert
from inloop.privacy import forget, locate
from inloop.settings import get_settings
from invoice_ocr.domain import DOMAIN_ROOT
from invoice_ocr.lib.dataset import write_supplier_master
from invoice_ocr.lib.erp import SqliteErp
from invoice_ocr.lib.intake import receive
from invoice_ocr.lib.ledger import Ledger, utcnow
from invoice_ocr.lib.monitoring import reconcile
from invoice_ocr.lib.retention import REDACTED, retention_days, sweep_retention
from invoice_ocr.lib.review import ReviewService
from invoice_ocr.lib.storage import ContentStore
from invoice_ocr.lib.suppliers import generate_suppliers, supplier_problems
from invoice_ocr.lib.workspace import Workspace

SUPPLIERS = generate_suppliers(5)
PERSON, OTHER = SUPPLIERS[1], SUPPLIERS[2]


def _invoice(ws: Workspace, name: str, supplier_id: str | None, iban: str, number: str, *, book: bool) -> int:
    supplier = next(s for s in SUPPLIERS if s.iban == iban) if supplier_id else PERSON
    values = {
        "supplier_id": supplier_id,
        "invoice_number": number,
        "invoice_date": "2026-10-01",
        "iban": iban,
        "net": "100.00",
        "vat": "19.00",
        "total": "119.00",
        "currency": supplier.currency,
        "supplier_name": supplier.name,
        "vat_id": supplier.vat_id,
    }
    fields = {"extracted": {k: {"value": v, "confidence": 0.95, "source": "test"} for k, v in values.items()}}
    invoice_id = receive(ws, f"{name}: {supplier.name}, {iban}".encode(), name, "inbox").invoice_id
    with Ledger(ws.ledger_path) as ledger:
        ledger.claim_next()
        ledger.transition(
            invoice_id,
            "needs_review",
            reason=f"check {supplier.name}",
            reason_kind="validation_failed",
            fields=fields,
        )
    if book:
        corrections = {"vat": str(round(100 * float(supplier.vat_rate), 2))}
        corrections["total"] = f"{100 + float(corrections['vat']):.2f}"
        if not supplier_id:
            corrections["supplier_id"] = PERSON.supplier_id
        ReviewService(ws).approve(invoice_id, "Clerk Meier", corrections)
    return invoice_id


@pytest.fixture
def ws() -> Workspace:
    workspace = Workspace.default().prepare()
    write_supplier_master(SUPPLIERS, workspace.supplier_master_path)
    return workspace


def _raw(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())


def test_forgetting_a_supplier_erases_them_from_every_invoice_store(ws: Workspace) -> None:
    booked = _invoice(ws, f"Rechnung {PERSON.name}.pdf", PERSON.supplier_id, PERSON.iban, "R-1", book=True)
    unknown = _invoice(ws, "scan-0815.png", None, PERSON.iban, "R-2", book=False)  # read without the supplier
    other = _invoice(ws, "other.pdf", OTHER.supplier_id, OTHER.iban, "O-1", book=True)
    raise_alert(
        domain="invoice_ocr",
        cause_key="test:mention",
        title=f"Invoice from {PERSON.name} waits",
        message=f"IBAN {PERSON.iban}",
    )
    truth = ws.synthetic_dir / "invoice-00001.json"
    truth.parent.mkdir(parents=True, exist_ok=True)
    truth.write_text(json.dumps({"supplier_id": PERSON.supplier_id, "supplier_name": PERSON.name}))
    artifact = (
        Path(get_settings().mlflow_artifacts or "") / "invoice_ocr" / "1" / "run" / "artifacts" / "eval.csv"
    )
    artifact.parent.mkdir(parents=True)
    artifact.write_text(f"file,iban\nscan-0815.png,{PERSON.iban}\nother.pdf,{OTHER.iban}\n")
    store = ContentStore(ws.store)
    with Ledger(ws.ledger_path) as ledger:
        digests = {i: ledger.get(i).sha256 for i in (booked, unknown, other)}
    before = reconcile(ws)

    receipt = forget(
        "invoice_ocr",
        PERSON.supplier_id.lower(),
        reason="GDPR art. 17, sole trader",
        requested_by="dpo@example.com",
    )
    stores = {s.store: s for s in receipt.stores}
    assert receipt.status == "done" and receipt.remaining == 0, receipt.lines()
    assert stores["invoice_ocr: supplier master"].removed == 1
    assert stores["invoice_ocr: intake ledger"].removed == 2
    assert stores["invoice_ocr: stored invoice files"].removed == 2
    assert stores["invoice_ocr: ERP stand-in bookings"].removed == 1
    assert stores["invoice_ocr: MLflow artifacts"].removed == 1
    assert stores["alerts"].removed == 2  # the test's alert and the review notification naming the invoice
    assert stores["invoice_ocr: text/CSV files"].removed >= 1

    # The stores themselves: the person is gone, the other supplier untouched, nothing lost from the count.
    assert (
        not store.exists(digests[booked])
        and not store.exists(digests[unknown])
        and store.exists(digests[other])
    )
    with Ledger(ws.ledger_path) as ledger:
        for invoice_id in (booked, unknown):
            entry = ledger.get(invoice_id)
            assert "erased" in entry.fields and entry.original_name == REDACTED and entry.invoice_key is None
            assert not ledger.corrections(invoice_id)
            assert all(PERSON.name not in e["detail"] for e in ledger.events(invoice_id))
        assert ledger.get(other).fields["extracted"]["iban"]["value"] == OTHER.iban
        assert ledger.get(booked).state == "booked" and ledger.get(unknown).state == "needs_review"
    bookings = {b["ledger_invoice_id"]: b for b in SqliteErp(ws.erp_path).bookings()}
    assert bookings[booked]["iban"] == REDACTED and bookings[booked]["supplier_id"] == REDACTED
    assert bookings[other]["iban"] == OTHER.iban
    master = json.loads(ws.supplier_master_path.read_text())
    assert PERSON.supplier_id not in {s["supplier_id"] for s in master}
    assert all(not supplier_problems(s) for s in master)  # removed, not blanked into an invalid record
    assert PERSON.name not in truth.read_text() and PERSON.iban not in artifact.read_text()
    assert OTHER.iban in artifact.read_text()
    assert all(PERSON.name not in a.title + a.message for a in list_alerts("invoice_ocr"))
    after = reconcile(ws)
    assert (after.received, after.gap) == (before.received, 0)
    # Not even in the databases' free pages or write-ahead logs.
    for db in (ws.ledger_path, ws.erp_path):
        raw = _raw(db)
        assert PERSON.iban.encode() not in raw and PERSON.name.encode() not in raw, db.name

    assert all(s.remaining == 0 for s in locate("invoice_ocr", PERSON.supplier_id))
    again = forget("invoice_ocr", PERSON.supplier_id, reason="asked again", requested_by="dpo@example.com")
    assert again.already_erased and again.status == "done" and again.removed == 0


def test_an_unknown_supplier_id_is_refused_and_changes_nothing() -> None:
    from inloop.privacy import ErasureError

    with pytest.raises(ErasureError, match="not a valid supplier"):
        forget("invoice_ocr", "not an id!", reason="GDPR art. 17", requested_by="dpo")


def test_the_retention_period_is_the_cards() -> None:
    card = yaml.safe_load((DOMAIN_ROOT / "project.yaml").read_text(encoding="utf-8"))
    assert retention_days() == card["retention"]["period_days"] == 2922


def test_the_retention_sweep_erases_finished_invoices_past_the_period_only(ws: Workspace) -> None:
    booked = _invoice(ws, "booked.pdf", OTHER.supplier_id, OTHER.iban, "O-1", book=True)
    waiting = _invoice(ws, "waiting.pdf", OTHER.supplier_id, OTHER.iban, "O-2", book=False)
    with Ledger(ws.ledger_path) as ledger:
        digest = ledger.get(booked).sha256
    period = retention_days()
    year_end = dt.datetime(utcnow().year + 1, 1, 1, tzinfo=dt.UTC)

    early = sweep_retention(ws, now=year_end + dt.timedelta(days=period - 1))
    assert early.expired == [] and ContentStore(ws.store).exists(digest)

    later = year_end + dt.timedelta(days=period + 1)
    dry = sweep_retention(ws, now=later, dry_run=True)
    assert dry.expired == [booked] and ContentStore(ws.store).exists(digest)  # a dry run changes nothing

    swept = sweep_retention(ws, now=later)
    stores = {s.store: s.removed for s in swept.stores}
    assert swept.expired == [booked] and swept.kept_undecided == 1  # the one in review is kept: undecided
    assert stores == {
        "invoice_ocr: intake ledger": 1,
        "invoice_ocr: stored invoice files": 1,
        "invoice_ocr: ERP stand-in bookings": 1,
    }
    assert not ContentStore(ws.store).exists(digest)
    with Ledger(ws.ledger_path) as ledger:
        assert "erased" in ledger.get(booked).fields and ledger.get(waiting).fields["extracted"]
        assert "retention" in ledger.events(booked)[-1]["detail"]
    [booking] = SqliteErp(ws.erp_path).bookings()
    assert booking["iban"] == REDACTED and booking["supplier_id"] == OTHER.supplier_id  # a company: kept
    assert reconcile(ws).gap == 0 and reconcile(ws).received == 2
    assert sweep_retention(ws, now=later).expired == []  # swept once


def test_the_retention_sweep_runs_from_the_command_line_and_as_a_dagster_job(ws: Workspace) -> None:
    from typer.testing import CliRunner

    from invoice_ocr.commands import app
    from invoice_ocr.defs.resources import resources
    from invoice_ocr.defs.retention import retention_sweep_job

    _invoice(ws, "booked.pdf", OTHER.supplier_id, OTHER.iban, "O-1", book=True)
    dry = CliRunner().invoke(app, ["retention-sweep", "--dry-run", "--root", str(ws.root)])
    assert dry.exit_code == 0 and "retention 2922 days: 0 invoice(s) would be erased" in dry.output
    result = retention_sweep_job.execute_in_process(resources=resources())
    assert result.success and result.output_for_node("invoice_retention_sweep") == {
        "expired": [],
        "kept_undecided": 0,
    }
