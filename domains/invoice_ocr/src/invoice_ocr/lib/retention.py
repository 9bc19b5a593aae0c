"""Erasing what invoices say about their issuers: the retention sweep, and the mechanics erasure shares.

Invoices carry names, addresses and bank accounts. Two paths erase them, with one implementation
(:func:`erase_invoice_content`) and a per-store receipt (:class:`inloop.privacy.StoreReceipt`):

* the **retention sweep** (:func:`sweep_retention`): invoices finished (booked, or rejected with a
  notice) longer ago than the card's ``retention.period_days``, counted from the end of the calendar
  year they were finished in, as accounting law counts it. Invoices in review or in flight are
  never swept: a person has not decided them yet;
* **erasure of a supplier** on request (``inloop forget invoice_ocr <supplier id>``,
  :mod:`invoice_ocr.privacy`), for the invoices of that supplier.

Per invoice, the stores are:

* the **intake ledger**: the read fields (names, IBAN, VAT id, address), the file name (it often
  names the sender), reasons, notices and history lines that mention the subject, the clerks'
  corrections; the row itself (id, state, content hash, ERP booking id) stays, so reconciliation
  still counts every invoice ever received ("never lose an invoice" holds for the count; the content
  is gone, which the ledger row says: ``fields = {"erased": ...}``);
* the **stored file** in content-addressed storage (deleted);
* the **ERP stand-in's bookings**, what it exports to accounting: IBAN and supplier id are replaced,
  the amounts, dates and invoice numbers stay (accounting needs the figures, not the person).

SQLite keeps overwritten values in free pages and its write-ahead log: both databases are written
with ``secure_delete`` and checkpointed afterwards, as the platform does for its own database.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from inloop.privacy import StoreReceipt
from invoice_ocr.lib.ledger import Ledger, utcnow
from invoice_ocr.lib.storage import ContentStore
from invoice_ocr.lib.workspace import Workspace

__all__ = ["FINISHED", "REDACTED", "RetentionReceipt", "erase_invoice_content", "expires_at", "retention_days",
           "sweep_retention"]

REDACTED = "[erased subject]"
#: States whose invoices are decided; only these are swept.
FINISHED = ("booked", "rejected_with_notice")


def retention_days() -> int:
    """The card's retention period for invoices, in days."""
    from inloop.cards import load_card
    from invoice_ocr.lib.workspace import DOMAIN_ROOT

    retention = load_card(DOMAIN_ROOT / "project.yaml").retention
    if retention is None:
        raise LookupError("the invoice_ocr card declares no retention period (retention.period_days)")
    return retention.period_days


def expires_at(finished_at: dt.datetime, period_days: int) -> dt.datetime:
    """When a record finished at ``finished_at`` may go: ``period_days`` after the end of that calendar year."""
    year_end = dt.datetime(finished_at.year + 1, 1, 1, tzinfo=dt.UTC)
    return year_end + dt.timedelta(days=period_days)


def _redact(text: str | None, patterns: Sequence[re.Pattern[str]]) -> tuple[str | None, int]:
    if not text:
        return text, 0
    hits = 0
    for pattern in patterns:
        text, n = pattern.subn(REDACTED, text)
        hits += n
    return text, hits


def _compact(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _ledger_store(workspace: Workspace, ids: list[int], patterns: list[re.Pattern[str]], why: str,
                  *, erase: bool) -> StoreReceipt:
    removed = 0
    with Ledger(workspace.ledger_path) as ledger:
        conn = ledger._conn  # the ledger's own connection: one transaction for every table it keeps
        if erase:
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("BEGIN IMMEDIATE")
        try:
            for invoice_id in ids:
                row = conn.execute("SELECT * FROM invoices WHERE id = ?", (invoice_id,)).fetchone()
                if row is None:
                    continue
                erased_already = bool(row["fields"]) and '"erased"' in row["fields"] and row["original_name"] == REDACTED
                names = [re.compile(re.escape(row["original_name"]))] if row["original_name"] != REDACTED else []
                mentions = [*patterns, *names]
                hits = 0 if erased_already else 1
                events = conn.execute("SELECT id, detail FROM events WHERE invoice_id = ?", (invoice_id,)).fetchall()
                for event in events:
                    detail, n = _redact(event["detail"], mentions)
                    hits += n
                    if erase and n:
                        conn.execute("UPDATE events SET detail = ? WHERE id = ?", (detail, event["id"]))
                corrections = conn.execute("SELECT COUNT(*) FROM corrections WHERE invoice_id = ?",
                                           (invoice_id,)).fetchone()[0]
                submissions = conn.execute("SELECT COUNT(*) FROM submissions WHERE invoice_id = ? AND "
                                           "original_name != ?", (invoice_id, REDACTED)).fetchone()[0]
                hits += corrections + submissions
                reason, a = _redact(row["reason"], mentions)
                notice, b = _redact(row["notice"], mentions)
                hits += a + b
                if not hits:
                    continue
                removed += 1
                if erase:
                    conn.execute(
                        "UPDATE invoices SET fields = ?, original_name = ?, reason = ?, notice = ?, invoice_key = NULL "
                        "WHERE id = ?", (json.dumps({"erased": why}), REDACTED, reason, notice, invoice_id))
                    conn.execute("DELETE FROM corrections WHERE invoice_id = ?", (invoice_id,))
                    conn.execute("UPDATE submissions SET original_name = ? WHERE invoice_id = ?", (REDACTED, invoice_id))
            if erase:
                conn.execute("COMMIT")
        except BaseException:
            if erase:
                conn.execute("ROLLBACK")
            raise
        if erase:
            _compact(conn)
    return StoreReceipt("invoice_ocr: intake ledger", "anonymised", removed, 1 if removed else 0,
                        detail="read fields, file names, corrections, mentions in reasons, notices and history; "
                               "the row (state, hash, booking id) stays for reconciliation")


def _file_store(workspace: Workspace, ids: list[int], *, erase: bool) -> StoreReceipt:
    store = ContentStore(workspace.store)
    with Ledger(workspace.ledger_path) as ledger:
        digests = [ledger.get(i).sha256 for i in ids]
    present = [store.path_for(d) for d in digests if store.exists(d)]
    if erase:
        for path in present:
            path.unlink(missing_ok=True)
    return StoreReceipt("invoice_ocr: stored invoice files", "deleted", len(present), len(present),
                        detail=f"content-addressed copies under {workspace.store}")


def _erp_store(workspace: Workspace, ids: list[int], *, erase: bool, keep_supplier: bool) -> StoreReceipt:
    path = workspace.erp_path
    detail = "bookings' IBAN" + ("" if keep_supplier else " and supplier id") + "; amounts, dates, numbers stay"
    if not path.exists() or not ids:
        return StoreReceipt("invoice_ocr: ERP stand-in bookings", "anonymised", detail=detail)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        marks = ",".join("?" * len(ids))
        try:
            rows = conn.execute(f"SELECT id, supplier_id, iban FROM bookings WHERE ledger_invoice_id IN ({marks})",
                                ids).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                rows = []
            else:
                raise
        todo = [r for r in rows if r["iban"] != REDACTED or (not keep_supplier and r["supplier_id"] != REDACTED)]
        if erase and todo:
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("BEGIN IMMEDIATE")
            for row in todo:
                if keep_supplier:
                    conn.execute("UPDATE bookings SET iban = ? WHERE id = ?", (REDACTED, row["id"]))
                else:  # the key names the supplier too; a booking-unique key keeps the duplicate check meaningful
                    conn.execute("UPDATE bookings SET iban = ?, supplier_id = ?, invoice_key = ? WHERE id = ?",
                                 (REDACTED, REDACTED, f"{REDACTED}:{row['id']}", row["id"]))
            conn.execute("COMMIT")
            _compact(conn)
        return StoreReceipt("invoice_ocr: ERP stand-in bookings", "anonymised", len(todo), 1 if todo else 0,
                            detail=detail)
    finally:
        conn.close()


def erase_invoice_content(workspace: Workspace, invoice_ids: Sequence[int], *, why: str,
                          mentions: Sequence[re.Pattern[str]] = (), erase: bool = True,
                          keep_supplier_in_erp: bool = True) -> list[StoreReceipt]:
    """Erase (or, with ``erase=False``, count) what the given invoices hold about their issuer, per store."""
    ids = sorted({int(i) for i in invoice_ids})
    patterns = list(mentions)
    return [_ledger_store(workspace, ids, patterns, why, erase=erase),
            _file_store(workspace, ids, erase=erase),
            _erp_store(workspace, ids, erase=erase, keep_supplier=keep_supplier_in_erp)]


@dataclass
class RetentionReceipt:
    """What one retention sweep erased, per store, and what it left and why."""

    at: str
    period_days: int
    expired: list[int] = field(default_factory=list)
    kept_undecided: int = 0
    dry_run: bool = False
    stores: list[StoreReceipt] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sweep_retention(workspace: Workspace, *, now: dt.datetime | None = None, period_days: int | None = None,
                    dry_run: bool = False) -> RetentionReceipt:
    """Erase the content of finished invoices whose retention period is over; returns the receipt.

    ``period_days`` defaults to the card's; ``dry_run`` counts without changing anything. An invoice
    already swept is not counted again; invoices in review or in flight are kept whatever their age.
    """
    now = now or utcnow()
    period = retention_days() if period_days is None else period_days
    expired, undecided = [], 0
    with Ledger(workspace.ledger_path) as ledger:
        for entry in ledger.entries():
            if entry.state not in FINISHED:
                undecided += int(expires_at(entry.received_at, period) <= now)
                continue
            if expires_at(entry.state_since, period) <= now and "erased" not in (entry.fields or {}):
                expired.append(entry.id)
    receipt = RetentionReceipt(now.isoformat(timespec="seconds"), period, expired, undecided, dry_run)
    if expired:
        receipt.stores = erase_invoice_content(workspace, expired, erase=not dry_run,
                                               why=f"retention period of {period} days ended (swept {now:%Y-%m-%d})")
    if not dry_run and expired:
        with Ledger(workspace.ledger_path) as ledger:
            for invoice_id in expired:
                ledger.note(invoice_id, f"retention: content erased after {period} days (the row stays for "
                                        "reconciliation)")
    return receipt
