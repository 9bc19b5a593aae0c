"""Moving an installation: every row and stored file arrives, verified; a filled target is refused."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from invoice_ocr.commands import app
from invoice_ocr.lib.erp import Booking, invoice_key
from invoice_ocr.lib.intake import receive
from invoice_ocr.lib.move_storage import TargetNotEmpty, move_storage
from invoice_ocr.lib.workspace import Workspace


def _installation(root: Path) -> Workspace:
    ws = Workspace(root).prepare()
    for i in range(5):
        receive(ws, f"invoice {i}".encode(), f"inv-{i}.pdf", "inbox")
    receive(ws, b"invoice 0", "again.pdf", "mail")  # a duplicate submission
    with ws.ledger() as ledger:
        entry = ledger.claim_next()
        assert entry is not None
        ledger.transition(entry.id, "needs_review", reason="demo", reason_kind="demo")
        ledger.add_corrections(entry.id, {"total": ("1.00", "10.00")}, "clerk")
    ws.erp().book(Booking(invoice_key("S1", "A-1"), 2, "S1", "A-1", "2026-10-01", "DE89370400440532013000", "EUR",
                          "1.00", "0.19", "1.19", "machine"))
    return ws


def test_a_move_copies_every_row_and_file_and_refuses_to_run_twice(tmp_path: Path) -> None:
    ws = _installation(tmp_path / "old")
    target_db, target_files = f"sqlite:///{tmp_path / 'new' / 'invoices.db'}", str(tmp_path / "new" / "files")
    report = move_storage(ws, to_database=target_db, to_files=target_files)
    assert report.rows == {"invoices": 5, "submissions": 6, "events": 8, "refused_files": 0, "corrections": 1,
                           "bookings": 1}
    assert report.files == 5
    moved = dataclasses.replace(ws, root=tmp_path / "moved", ledger_url=target_db, erp_url=target_db,
                                files_url=target_files)
    with ws.ledger() as old, moved.ledger() as new:
        assert new.entries() == old.entries() and new.events(1) == old.events(1)
        assert new.corrections() == old.corrections()
        new_id, duplicate = new.register("f" * 64, "next.pdf", "inbox", 1)  # ids continue after the moved ones
        assert (new_id, duplicate) == (6, False)
    assert moved.erp().bookings() == ws.erp().bookings()
    assert moved.files().get(old_digest := next(iter(ws.files().digests()))) == ws.files().get(old_digest)

    with pytest.raises(TargetNotEmpty, match="invoices: 6 rows"):
        move_storage(ws, to_database=target_db, to_files=str(tmp_path / "other-files"))
    with pytest.raises(TargetNotEmpty, match="already holds 5 files"):
        move_storage(ws, to_database=f"sqlite:///{tmp_path / 'other.db'}", to_files=target_files)


def test_a_damaged_source_file_stops_the_move_before_anything_is_written(tmp_path: Path) -> None:
    ws = _installation(tmp_path / "old")
    digest = sorted(ws.files().digests())[0]
    Path(ws.files().location(digest)).write_bytes(b"rot")
    result = CliRunner().invoke(app, ["move-storage", "--root", str(ws.root), "--to-database",
                                      f"sqlite:///{tmp_path / 'new.db'}", "--to-files", str(tmp_path / "new-files")])
    assert result.exit_code == 1 and "not moved" in result.output and "is damaged" in result.output
    assert not (tmp_path / "new-files").exists()
    with sqlite3.connect(tmp_path / "new.db") as conn:  # opened to look, never written
        assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == []
