"""The ledger and the ERP stand-in on SQLAlchemy + Alembic: installations made by raw SQLite keep every row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from invoice_ocr.lib import database
from invoice_ocr.lib.erp import Booking, SqlErp, invoice_key
from invoice_ocr.lib.workspace import Workspace

# The schemas exactly as the raw-SQLite ledger and ERP created them (before the Alembic histories).
_LEGACY_LEDGER = """
CREATE TABLE invoices (id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, original_name TEXT NOT NULL,
    source TEXT NOT NULL, size INTEGER NOT NULL, received_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('received','processing','booked','needs_review','rejected_with_notice')),
    state_since TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, claimed_by TEXT, reason TEXT, reason_kind TEXT,
    fields TEXT, invoice_key TEXT, erp_booking_id INTEGER, booked_by TEXT, notice TEXT, extractor_version TEXT);
CREATE INDEX ix_invoices_state ON invoices (state);
CREATE INDEX ix_invoices_key ON invoices (invoice_key);
CREATE TABLE submissions (id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, original_name TEXT NOT NULL,
    source TEXT NOT NULL, received_at TEXT NOT NULL, invoice_id INTEGER NOT NULL REFERENCES invoices (id),
    duplicate INTEGER NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY, invoice_id INTEGER NOT NULL REFERENCES invoices (id), at TEXT NOT NULL,
    from_state TEXT, to_state TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');
CREATE INDEX ix_events_invoice ON events (invoice_id);
CREATE TABLE refused_files (id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
    first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, scans INTEGER NOT NULL DEFAULT 1, cleared_at TEXT);
CREATE UNIQUE INDEX ux_refused_open ON refused_files (name) WHERE cleared_at IS NULL;
CREATE TABLE corrections (id INTEGER PRIMARY KEY, invoice_id INTEGER NOT NULL REFERENCES invoices (id),
    field TEXT NOT NULL, extracted TEXT, corrected TEXT, clerk TEXT NOT NULL, at TEXT NOT NULL);
INSERT INTO invoices (id, sha256, original_name, source, size, received_at, state, state_since)
    VALUES (1, 'aa', 'old.pdf', 'inbox', 10, '2026-01-02T03:04:05+00:00', 'received', '2026-01-02T03:04:05+00:00');
INSERT INTO submissions VALUES (1, 'aa', 'old.pdf', 'inbox', '2026-01-02T03:04:05+00:00', 1, 0);
INSERT INTO events (invoice_id, at, from_state, to_state, detail)
    VALUES (1, '2026-01-02T03:04:05+00:00', NULL, 'received', 'inbox: old.pdf (10 bytes)');
"""
_LEGACY_ERP = """
CREATE TABLE bookings (id INTEGER PRIMARY KEY, invoice_key TEXT NOT NULL, ledger_invoice_id INTEGER NOT NULL,
    supplier_id TEXT NOT NULL, invoice_number TEXT NOT NULL, invoice_date TEXT NOT NULL, iban TEXT NOT NULL,
    currency TEXT NOT NULL, net TEXT NOT NULL, vat TEXT NOT NULL, total TEXT NOT NULL, booked_by TEXT NOT NULL,
    booked_at TEXT NOT NULL);
CREATE INDEX ix_bookings_key ON bookings (invoice_key);
"""
_ROW = "('S0001:RE1', {}, 'S0001', 'RE-1', '2026-10-01', 'DE89370400440532013000', 'EUR', '100.00', '19.00', " \
       "'119.00', 'machine', '2026-10-02T00:00:00+00:00')"


def _booking(ledger_id: int, number: str = "RE-1") -> Booking:
    return Booking(invoice_key("S0001", number), ledger_id, "S0001", number, "2026-10-01",
                   "DE89370400440532013000", "EUR", "100.00", "19.00", "119.00", "machine")


def _legacy(path: Path, script: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.executescript(script)


def test_an_existing_sqlite_ledger_is_stamped_and_upgraded_with_every_row_kept(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").prepare()
    _legacy(ws.ledger_path, _LEGACY_LEDGER)
    with ws.ledger() as ledger:
        assert database.current_revision("ledger", ledger.url) == database.head_revision("ledger")
        assert [e.original_name for e in ledger.entries()] == ["old.pdf"]
        assert [e["detail"] for e in ledger.events(1)] == ["inbox: old.pdf (10 bytes)"]
        claimed = ledger.claim_next()
        assert claimed is not None and claimed.id == 1 and claimed.attempts == 1
        new_id, duplicate = ledger.register("bb", "new.pdf", "inbox", 3)
        assert (new_id, duplicate) == (2, False)
    with sqlite3.connect(ws.ledger_path) as conn:
        lease = conn.execute("SELECT lease_until FROM invoices WHERE id = 1").fetchone()[0]
    assert lease is not None  # the new column arrived by migration, on the old file


def test_an_existing_sqlite_erp_gets_its_unique_key_and_keeps_its_bookings(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").prepare()
    _legacy(ws.erp_path, _LEGACY_ERP + f"INSERT INTO bookings (invoice_key, ledger_invoice_id, supplier_id, "
            f"invoice_number, invoice_date, iban, currency, net, vat, total, booked_by, booked_at) VALUES {_ROW.format(1)};")
    erp = ws.erp()
    again = erp.book(_booking(5))
    assert not again.created and again.ledger_invoice_id == 1
    assert [b["ledger_invoice_id"] for b in erp.bookings()] == [1]
    assert database.current_revision("erp", erp.url) == database.head_revision("erp")


def test_an_erp_that_already_holds_a_double_booking_is_not_upgraded_silently(tmp_path: Path) -> None:
    path = tmp_path / "erp.db"
    rows = ", ".join(_ROW.format(i) for i in (1, 2))
    _legacy(path, _LEGACY_ERP + f"INSERT INTO bookings (invoice_key, ledger_invoice_id, supplier_id, invoice_number, "
            f"invoice_date, iban, currency, net, vat, total, booked_by, booked_at) VALUES {rows};")
    with pytest.raises(RuntimeError, match=r"S0001:RE1 \(2x\)"):
        SqlErp(path).book(_booking(3))
    with sqlite3.connect(path) as conn:  # nothing changed: both rows are there for a person to resolve
        assert conn.execute("SELECT COUNT(*) FROM bookings").fetchone()[0] == 2


def test_a_fresh_workspace_gets_both_schemas_at_head(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").prepare()
    with ws.ledger() as ledger:
        assert ledger.counts()["received"] == 0
    assert ws.erp().book(_booking(1)).created
    for history, path in (("ledger", ws.ledger_path), ("erp", ws.erp_path)):
        assert database.current_revision(history, database.database_url(path)) == database.head_revision(history)


def test_a_server_erp_without_a_down_flag_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="down_flag"):
        SqlErp("postgresql://nobody@127.0.0.1:1/none")
