"""SIGKILL the processing process at random points of a batch, restart it: nothing lost, nothing booked twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from invoice_ocr.lib.dataset import write_invoices, write_supplier_master
from invoice_ocr.lib.erp import SqliteErp
from invoice_ocr.lib.intake import receive
from invoice_ocr.lib.ledger import Ledger
from invoice_ocr.lib.monitoring import double_bookings, reconcile
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.workspace import Workspace


def _booked(workspace: Workspace) -> int:
    with Ledger(workspace.ledger_path) as ledger:
        return ledger.counts()["booked"]


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_sigkill_at_three_random_points_then_restart(tmp_path: Path) -> None:
    rng = random.Random(20261129)
    workspace = Workspace(tmp_path / "ws").prepare()
    suppliers = generate_suppliers(40, seed=7)
    write_supplier_master(suppliers, workspace.supplier_master_path)
    for g in write_invoices(7, suppliers, tmp_path / "scans", seed=11):
        receive(workspace, g.path.read_bytes(), g.path.name, "inbox")
    # Batches of 2, so bookings interleave with OCR and a kill can land anywhere: while reading, between
    # the ERP booking and the ledger update, or between two invoices.
    cmd = [sys.executable, "-m", "invoice_ocr", "process", "--root", str(workspace.root), "--batch-size", "2"]
    kills = 0
    for target in sorted(rng.sample(range(0, 5), 3)):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 300
        # Run until the batch has reached a random number of bookings, then kill a random moment later.
        while time.time() < deadline and proc.poll() is None and _booked(workspace) < target:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.0))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        assert reconcile(workspace).gap == 0, "right after a kill every invoice is still accounted for"
    assert kills == 3
    final = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert final.returncode == 0, final.stderr[-2000:]
    with Ledger(workspace.ledger_path) as ledger:
        counts = ledger.counts()
        entries = ledger.entries()
        resumed = [e.id for e in entries if any("resumed after worker" in ev["detail"] for ev in ledger.events(e.id))]
    assert counts["received"] == counts["processing"] == 0
    assert counts["booked"] + counts["needs_review"] == 7
    assert resumed, "at least one kill hit an invoice mid-processing and it was resumed"
    assert max(e.attempts for e in entries) >= 2
    assert reconcile(workspace).gap == 0
    assert double_bookings(workspace) == {}
    bookings = SqliteErp(workspace.erp_path).bookings()
    assert len(bookings) == counts["booked"]
    assert {b["ledger_invoice_id"] for b in bookings} == {e.id for e in entries if e.state == "booked"}
