"""Intake and the ledger: nothing received is ever lost, whatever order things fail in (no OCR here)."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from invoice_ocr.lib import ledger as ledger_module
from invoice_ocr.lib.erp import Booking, ErpUnavailable, SqliteErp, invoice_key
from invoice_ocr.lib.intake import receive, take_inbox
from invoice_ocr.lib.ledger import Ledger, TransitionError
from invoice_ocr.lib.monitoring import reconcile, stuck_invoices
from invoice_ocr.lib.storage import ContentStore, sha256_of
from invoice_ocr.lib.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws").prepare()


def _drop(workspace: Workspace, name: str, data: bytes, age_s: float = 10.0) -> Path:
    path = workspace.inbox / name
    path.write_bytes(data)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def test_a_file_is_stored_and_registered_before_it_leaves_the_inbox(workspace: Workspace) -> None:
    path = _drop(workspace, "scan-1.png", b"first invoice bytes")
    scan = take_inbox(workspace)
    assert [r.original_name for r in scan.new] == ["scan-1.png"]
    assert not path.exists()
    digest = sha256_of(b"first invoice bytes")
    assert ContentStore(workspace.store).get(digest) == b"first invoice bytes"
    with Ledger(workspace.ledger_path) as ledger:
        entry = ledger.by_sha(digest)
        assert entry is not None and entry.state == "received" and entry.original_name == "scan-1.png"
        assert ledger.events(entry.id)[0]["to_state"] == "received"


def test_if_the_ledger_fails_the_file_stays_in_the_inbox(workspace: Workspace, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = _drop(workspace, "scan-2.pdf", b"%PDF-1.4 something")

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Ledger, "register", broken)
    scan = take_inbox(workspace)
    assert path.exists(), "a file whose ledger entry failed must not leave the inbox"
    assert "scan-2.pdf" in scan.failed
    monkeypatch.undo()
    assert [r.original_name for r in take_inbox(workspace).new] == ["scan-2.pdf"]
    assert not path.exists()


def test_files_still_being_written_are_left_for_the_next_scan(workspace: Workspace) -> None:
    fresh = _drop(workspace, "arriving.png", b"half a scan", age_s=0)
    partial = _drop(workspace, "upload.pdf.part", b"partial download")
    hidden = _drop(workspace, ".scanner-tmp-0001", b"scanner temp file")
    scan = take_inbox(workspace, settle_seconds=5)
    assert scan.taken == []
    assert set(scan.still_writing) == {"arriving.png", "upload.pdf.part", ".scanner-tmp-0001"}
    assert fresh.exists() and partial.exists() and hidden.exists()
    then = time.time() - 10
    os.utime(fresh, (then, then))
    assert [r.original_name for r in take_inbox(workspace, settle_seconds=5).taken] == ["arriving.png"]


def test_the_same_bytes_twice_are_one_invoice_and_a_recorded_duplicate(workspace: Workspace) -> None:
    first = receive(workspace, b"same invoice", "mail-1.pdf", "upload")
    again = receive(workspace, b"same invoice", "mail-1 (copy).pdf", "inbox")
    assert again.duplicate and again.invoice_id == first.invoice_id and not first.duplicate
    with Ledger(workspace.ledger_path) as ledger:
        assert len(ledger.entries()) == 1
        assert [(s["original_name"], s["duplicate"]) for s in ledger.submissions()] == [
            ("mail-1.pdf", 0), ("mail-1 (copy).pdf", 1)]
        assert "duplicate submission" in ledger.events(first.invoice_id)[-1]["detail"]
    recon = reconcile(workspace)
    assert (recon.received, recon.in_flight, recon.duplicate_submissions, recon.gap) == (1, 1, 1, 0)


def test_only_allowed_state_changes_happen(workspace: Workspace) -> None:
    receive(workspace, b"x" * 10, "a.png", "inbox")
    with Ledger(workspace.ledger_path) as ledger:
        entry = ledger.entries()[0]
        with pytest.raises(TransitionError):
            ledger.transition(entry.id, "booked")  # received -> booked skips processing
        claimed = ledger.claim_next()
        assert claimed is not None and claimed.state == "processing" and claimed.attempts == 1
        ledger.transition(entry.id, "needs_review", reason="demo", reason_kind="demo")
        with pytest.raises(TransitionError):
            ledger.transition(entry.id, "processing")
        with pytest.raises(TransitionError):
            ledger.transition(entry.id, "deleted")


def test_a_dead_workers_invoice_is_taken_over_and_a_poison_file_goes_to_review(workspace: Workspace) -> None:
    receive(workspace, b"poison", "poison.png", "inbox")
    with Ledger(workspace.ledger_path) as ledger:
        entry = ledger.claim_next()
        assert entry is not None
        for attempt in (2, 3):
            # Simulate the worker being SIGKILLed: its claim names a process that no longer exists.
            ledger._conn.execute("UPDATE invoices SET claimed_by = ? WHERE id = ?",
                                 (f"{ledger_module.socket.gethostname()}:999999", entry.id))
            taken = ledger.claim_next(max_attempts=3)
            assert taken is not None and taken.id == entry.id and taken.attempts == attempt
            assert "resumed after worker" in ledger.events(entry.id)[-1]["detail"]
        ledger._conn.execute("UPDATE invoices SET claimed_by = ? WHERE id = ?",
                             (f"{ledger_module.socket.gethostname()}:999999", entry.id))
        assert ledger.claim_next(max_attempts=3) is None
        assert ledger.get(entry.id).state == "needs_review"
        assert ledger.get(entry.id).reason_kind == "crashed_repeatedly"


def test_a_live_workers_claim_is_left_alone(workspace: Workspace) -> None:
    receive(workspace, b"busy", "busy.png", "inbox")
    with Ledger(workspace.ledger_path) as ledger:
        entry = ledger.claim_next()
        assert entry is not None
        ledger._conn.execute("UPDATE invoices SET claimed_by = ? WHERE id = ?",
                             (f"{ledger_module.socket.gethostname()}:{os.getppid()}", entry.id))
        assert ledger.claim_next() is None


class TestErp:
    def _booking(self, ledger_id: int, number: str = "RE-1") -> Booking:
        return Booking(invoice_key("S0001", number), ledger_id, "S0001", number, "2026-10-01",
                       "DE89370400440532013000", "EUR", "100.00", "19.00", "119.00", "machine")

    def test_booking_is_idempotent_on_the_invoice_key(self, workspace: Workspace) -> None:
        erp = SqliteErp(workspace.erp_path)
        first = erp.book(self._booking(1))
        again = erp.book(self._booking(1))
        other = erp.book(self._booking(2))  # a re-scan with another ledger id: the ERP answers with the first
        assert first.created and not again.created and not other.created
        assert again.erp_id == other.erp_id == first.erp_id and other.ledger_invoice_id == 1
        assert len(erp.bookings()) == 1 and erp.duplicate_keys() == {}

    def test_invoice_keys_ignore_punctuation_and_case(self) -> None:
        assert invoice_key("S0001", "re-2026/001") == invoice_key("S0001", "RE 2026 001") == "S0001:RE2026001"

    def test_an_unavailable_erp_raises_a_transient_error(self, workspace: Workspace) -> None:
        erp = SqliteErp(workspace.erp_path)
        erp.set_available(False, "maintenance")
        with pytest.raises(ErpUnavailable, match="maintenance"):
            erp.book(self._booking(1))
        erp.set_available(True)
        assert erp.book(self._booking(1)).created

    def test_the_erp_itself_refuses_a_double_booking_made_behind_the_clients_back(self, workspace: Workspace) -> None:
        erp = SqliteErp(workspace.erp_path)
        erp.book(self._booking(1))
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"), sqlite3.connect(workspace.erp_path) as conn:
            conn.execute("INSERT INTO bookings (invoice_key, ledger_invoice_id, supplier_id, invoice_number, "
                         "invoice_date, iban, currency, net, vat, total, booked_by, booked_at) SELECT invoice_key, 7, "
                         "supplier_id, invoice_number, invoice_date, iban, currency, net, vat, total, 'manual', "
                         "booked_at FROM bookings")
        assert erp.duplicate_keys() == {} and len(erp.bookings()) == 1


def test_reconciliation_finds_an_invoice_marked_booked_that_the_erp_does_not_have(workspace: Workspace) -> None:
    receive(workspace, b"one", "one.png", "inbox")
    receive(workspace, b"two", "two.png", "inbox")
    assert reconcile(workspace).gap == 0
    with sqlite3.connect(workspace.ledger_path) as conn:
        conn.execute("UPDATE invoices SET state = 'booked', erp_booking_id = 42 WHERE original_name = 'one.png'")
    recon = reconcile(workspace)
    assert recon.gap == 1
    assert "ERP has no such booking" in recon.unaccounted[0]


def test_an_invoice_waiting_too_long_is_stuck(workspace: Workspace) -> None:
    import datetime as dt

    receive(workspace, b"old", "old.png", "inbox")
    assert stuck_invoices(workspace) == []
    later = ledger_module.utcnow() + dt.timedelta(hours=2)
    [stuck] = stuck_invoices(workspace, now=later)
    assert stuck["state"] == "received" and stuck["hours"] >= 2


def test_odd_inbox_entries_are_taken_or_reported_never_skipped_silently(tmp_path: Path) -> None:
    """Sub-folders are taken; links, pipes and undecodable names are handled and said out loud."""
    ws = Workspace(tmp_path / "ws").prepare()
    secret = tmp_path / "outside-secret.txt"
    secret.write_bytes(b"not for the inbox")
    (ws.inbox / "batch-2026-11").mkdir()
    (ws.inbox / "batch-2026-11" / "scan-a.png").write_bytes(b"\x89PNG\r\n\x1a\nA")
    (ws.inbox / "link-to-secret.pdf").symlink_to(secret)
    (ws.inbox / "dangling.pdf").symlink_to(tmp_path / "gone.pdf")
    os.mkfifo(ws.inbox / "pipe.pdf")
    odd_name = os.fsdecode(b"Rechnung-M\xfcller.pdf")  # Latin-1 byte in the name
    (ws.inbox / odd_name).write_bytes(b"%PDF-1.4 odd name")
    old = 1_000_000_000
    for p in (ws.inbox / "batch-2026-11" / "scan-a.png", ws.inbox / odd_name):
        os.utime(p, (old, old))
    scan = take_inbox(ws, settle_seconds=0)
    taken = sorted(r.original_name for r in scan.taken)
    assert taken == ["Rechnung-M\ufffdller.pdf", "batch-2026-11/scan-a.png"]
    assert scan.failed == {}
    assert set(scan.refused) == {"link-to-secret.pdf", "dangling.pdf", "pipe.pdf"}
    assert "symbolic link" in scan.refused["link-to-secret.pdf"].reason
    assert "regular file" in scan.refused["pipe.pdf"].reason
    assert (ws.inbox / "link-to-secret.pdf").is_symlink() and secret.read_bytes() == b"not for the inbox"
    assert not (ws.inbox / "batch-2026-11").exists()  # emptied sub-folder removed
