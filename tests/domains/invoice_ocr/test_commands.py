"""The domain's command line: intake, status and the review queue, as a clerk would use them."""

from __future__ import annotations

import os
import time
from pathlib import Path

from typer.testing import CliRunner

from invoice_ocr.commands import app
from invoice_ocr.lib.dataset import write_supplier_master
from invoice_ocr.lib.ledger import Ledger
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.workspace import Workspace

runner = CliRunner()


def test_intake_status_and_review_from_the_command_line(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws").prepare()
    supplier = generate_suppliers(3)[0]
    write_supplier_master(generate_suppliers(3), workspace.supplier_master_path)
    for name, data in (("a.png", b"first"), ("b.png", b"second")):
        (workspace.inbox / name).write_bytes(data)
        os.utime(workspace.inbox / name, (time.time() - 10, time.time() - 10))
    root = ["--root", str(workspace.root)]

    result = runner.invoke(app, ["intake", *root])
    assert result.exit_code == 0 and "taken 2 (2 new" in result.output
    assert runner.invoke(app, ["status", *root]).exit_code == 0

    with Ledger(workspace.ledger_path) as ledger:
        for entry_id in (1, 2):
            ledger.claim_next()
            values = {"supplier_id": supplier.supplier_id, "invoice_number": f"RE-{entry_id}", "invoice_date": "2026-10-01",
                      "iban": supplier.iban, "net": "10.00", "vat": "1.90", "total": "11.90",
                      "currency": supplier.currency}
            ledger.transition(entry_id, "needs_review", reason="low confidence", reason_kind="low_confidence",
                              fields={"extracted": {k: {"value": v, "confidence": 0.5} for k, v in values.items()}})

    listing = runner.invoke(app, ["review", "list", *root])
    assert "#1" in listing.output and "low_confidence" in listing.output
    shown = runner.invoke(app, ["review", "show", "1", *root])
    assert '"reason": "low confidence"' in shown.output
    refused = runner.invoke(app, ["review", "approve", "1", "--clerk", "anna", "--set", "total=99.00", *root])
    assert refused.exit_code == 1 and "total must equal net + VAT" in refused.output
    approved = runner.invoke(app, ["review", "approve", "1", "--clerk", "anna", "--set", "vat=1.90", *root])
    assert approved.exit_code == 0 and "booked" in approved.output
    rejected = runner.invoke(app, ["review", "reject", "2", "--clerk", "anna", "--notice",
                                   "Please send a legible copy of this invoice.", *root])
    assert rejected.exit_code == 0
    status = runner.invoke(app, ["status", *root])
    assert status.exit_code == 0 and '"gap": 0' in status.output
    assert "the review queue is empty" in runner.invoke(app, ["review", "list", *root]).output
