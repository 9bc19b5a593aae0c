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


def _events(workspace: Workspace) -> int:
    with Ledger(workspace.ledger_path) as ledger:
        return sum(len(ledger.events(e.id)) for e in ledger.entries())


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_sigkill_at_three_random_points_then_restart(tmp_path: Path) -> None:
    rng = random.Random(20261129)
    workspace = Workspace(tmp_path / "ws").prepare()
    suppliers = generate_suppliers(40, seed=7)
    write_supplier_master(suppliers, workspace.supplier_master_path)
    for g in write_invoices(7, suppliers, tmp_path / "scans", seed=11):
        receive(workspace, g.path.read_bytes(), g.path.name, "inbox")
    cmd = [sys.executable, "-m", "invoice_ocr", "process", "--root", str(workspace.root)]
    kills = 0
    for _ in range(3):
        before = _events(workspace)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 300
        # Wait until the process has done something (claimed or finished an invoice), then kill it a random moment later.
        while time.time() < deadline and proc.poll() is None and _events(workspace) == before:
            time.sleep(0.1)
        time.sleep(rng.uniform(0.0, 4.0))
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
    assert reconcile(workspace).gap == 0
    assert double_bookings(workspace) == {}
    bookings = SqliteErp(workspace.erp_path).bookings()
    assert len(bookings) == counts["booked"]
    assert {b["ledger_invoice_id"] for b in bookings} == {e.id for e in entries if e.state == "booked"}
