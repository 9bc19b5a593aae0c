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
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from inloop.privacy import StoreReceipt
from invoice_ocr.lib.database import ensure_schema, make_engine
from invoice_ocr.lib.ledger import utcnow
from invoice_ocr.lib.tables import bookings
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


def _compact(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite":  # erased text must not linger in the write-ahead log (outside a transaction)
        conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]


def _ledger_store(workspace: Workspace, ids: list[int], patterns: list[re.Pattern[str]], why: str,
                  *, erase: bool) -> StoreReceipt:
    removed = 0
    with workspace.ledger() as ledger:
        eng = make_engine(ledger.url, pooled=False)
    try:
        if erase and eng.dialect.name == "sqlite":
            sa.event.listen(eng, "connect", lambda dbapi_conn, _r: dbapi_conn.execute("PRAGMA secure_delete = ON"))
        with eng.connect() as conn:  # one transaction for every table the ledger keeps
            for invoice_id in ids:
                row = conn.execute(sa.text("SELECT * FROM invoices WHERE id = :id"), {"id": invoice_id}).mappings().first()
                if row is None:
                    continue
                erased_already = bool(row["fields"]) and '"erased"' in row["fields"] and row["original_name"] == REDACTED
                names = [re.compile(re.escape(row["original_name"]))] if row["original_name"] != REDACTED else []
                mentions = [*patterns, *names]
                hits = 0 if erased_already else 1
                events = conn.execute(sa.text("SELECT id, detail FROM events WHERE invoice_id = :id"),
                                      {"id": invoice_id}).mappings().fetchall()
                for event in events:
                    detail, n = _redact(event["detail"], mentions)
                    hits += n
                    if erase and n:
                        conn.execute(sa.text("UPDATE events SET detail = :d WHERE id = :id"),
                                     {"d": detail, "id": event["id"]})
                corrections = conn.execute(sa.text("SELECT COUNT(*) FROM corrections WHERE invoice_id = :id"),
                                           {"id": invoice_id}).scalar_one()
                submissions = conn.execute(sa.text("SELECT COUNT(*) FROM submissions WHERE invoice_id = :id AND "
                                                   "original_name != :r"), {"id": invoice_id, "r": REDACTED}).scalar_one()
                hits += corrections + submissions
                reason, a = _redact(row["reason"], mentions)
                notice, b = _redact(row["notice"], mentions)
                hits += a + b
                if not hits:
                    continue
                removed += 1
                if erase:
                    conn.execute(sa.text(
                        "UPDATE invoices SET fields = :f, original_name = :r, reason = :reason, notice = :notice, "
                        "invoice_key = NULL WHERE id = :id"), {"f": json.dumps({"erased": why}), "r": REDACTED,
                                                               "reason": reason, "notice": notice, "id": invoice_id})
                    conn.execute(sa.text("DELETE FROM corrections WHERE invoice_id = :id"), {"id": invoice_id})
                    conn.execute(sa.text("UPDATE submissions SET original_name = :r WHERE invoice_id = :id"),
                                 {"r": REDACTED, "id": invoice_id})
            if erase:
                conn.commit()
            else:
                conn.rollback()
            if erase:
                _compact(conn)
    finally:
        eng.dispose()
    return StoreReceipt("invoice_ocr: intake ledger", "anonymised", removed, 1 if removed else 0,
                        detail="read fields, file names, corrections, mentions in reasons, notices and history; "
                               "the row (state, hash, booking id) stays for reconciliation")


def _file_store(workspace: Workspace, ids: list[int], *, erase: bool) -> StoreReceipt:
    files = workspace.files()
    with workspace.ledger() as ledger:
        digests = [ledger.get(i).sha256 for i in ids]
    present = [d for d in digests if files.exists(d)]
    if erase:
        for digest in present:
            files.delete(digest)
    return StoreReceipt("invoice_ocr: stored invoice files", "deleted", len(present), len(present),
                        detail=f"content-addressed copies under {files.url}")


def _erp_store(workspace: Workspace, ids: list[int], *, erase: bool, keep_supplier: bool) -> StoreReceipt:
    detail = "bookings' IBAN" + ("" if keep_supplier else " and supplier id") + "; amounts, dates, numbers stay"
    erp = workspace.erp()
    if (erp.path is not None and not erp.path.exists()) or not ids:
        return StoreReceipt("invoice_ocr: ERP stand-in bookings", "anonymised", detail=detail)
    ensure_schema("erp", erp.url)
    eng = make_engine(erp.url, pooled=False)
    if erase and eng.dialect.name == "sqlite":
        sa.event.listen(eng, "connect", lambda dbapi_conn, _r: dbapi_conn.execute("PRAGMA secure_delete = ON"))
    try:
        with eng.connect() as conn:
            rows = conn.execute(sa.select(bookings.c.id, bookings.c.supplier_id, bookings.c.iban)
                                .where(bookings.c.ledger_invoice_id.in_(ids))).mappings().fetchall()
            todo = [r for r in rows if r["iban"] != REDACTED or (not keep_supplier and r["supplier_id"] != REDACTED)]
            if erase and todo:
                for row in todo:
                    if keep_supplier:
                        conn.execute(bookings.update().where(bookings.c.id == row["id"]).values(iban=REDACTED))
                    else:  # the key names the supplier too; a booking-unique key keeps the duplicate check meaningful
                        conn.execute(bookings.update().where(bookings.c.id == row["id"]).values(
                            iban=REDACTED, supplier_id=REDACTED, invoice_key=f"{REDACTED}:{row['id']}"))
                conn.commit()
                _compact(conn)
            else:
                conn.rollback()
        return StoreReceipt("invoice_ocr: ERP stand-in bookings", "anonymised", len(todo), 1 if todo else 0,
                            detail=detail)
    finally:
        eng.dispose()


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
    with workspace.ledger() as ledger:
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
        with workspace.ledger() as ledger:
            for invoice_id in expired:
                ledger.note(invoice_id, f"retention: content erased after {period} days (the row stays for "
                                        "reconciliation)")
    return receipt
