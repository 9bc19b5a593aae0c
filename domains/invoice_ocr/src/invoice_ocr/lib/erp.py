"""The ERP the invoices are booked into: an interface, and a SQLite stand-in as the default.

Booking is idempotent on the invoice key (supplier + invoice number): booking the same key again
returns the existing booking instead of creating a second one. The stand-in deliberately has *no*
unique constraint on the key, like many real ERPs: idempotency is this client's job, and the
``no-double-booking`` check counts duplicates in the ERP itself to prove it.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Booking", "BookingResult", "ErpClient", "ErpUnavailable", "SqliteErp", "invoice_key"]


class ErpUnavailable(Exception):
    """The ERP did not answer (maintenance, network, timeout): a transient failure, retried."""


def invoice_key(supplier_id: str, invoice_number: str) -> str:
    """Supplier + invoice number, normalised the way the ERP's duplicate check does."""
    return f"{supplier_id}:{re.sub(r'[^0-9A-Z]', '', invoice_number.upper())}"


@dataclass(frozen=True)
class Booking:
    invoice_key: str
    ledger_invoice_id: int
    supplier_id: str
    invoice_number: str
    invoice_date: str
    iban: str
    currency: str
    net: str
    vat: str
    total: str
    booked_by: str


@dataclass(frozen=True)
class BookingResult:
    erp_id: int
    created: bool
    ledger_invoice_id: int


class ErpClient(Protocol):
    def book(self, booking: Booking) -> BookingResult: ...

    def find(self, invoice_key: str) -> list[dict[str, Any]]: ...

    def bookings(self) -> list[dict[str, Any]]: ...

    def duplicate_keys(self) -> dict[str, int]: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS bookings (
    id INTEGER PRIMARY KEY,
    invoice_key TEXT NOT NULL,
    ledger_invoice_id INTEGER NOT NULL,
    supplier_id TEXT NOT NULL,
    invoice_number TEXT NOT NULL,
    invoice_date TEXT NOT NULL,
    iban TEXT NOT NULL,
    currency TEXT NOT NULL,
    net TEXT NOT NULL,
    vat TEXT NOT NULL,
    total TEXT NOT NULL,
    booked_by TEXT NOT NULL,
    booked_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_bookings_key ON bookings (invoice_key);
"""


class SqliteErp:
    """The ERP stand-in: its own SQLite database; a ``<db>.down`` file next to it means "ERP unavailable"."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def down_flag(self) -> Path:
        return self.path.with_suffix(".down")

    def set_available(self, available: bool, reason: str = "planned maintenance") -> None:
        if available:
            self.down_flag.unlink(missing_ok=True)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.down_flag.write_text(reason)

    def _connect(self) -> sqlite3.Connection:
        if self.down_flag.exists():
            raise ErpUnavailable(f"ERP unavailable ({self.down_flag.read_text().strip() or 'down'})")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.executescript(_SCHEMA)
        return conn

    def book(self, booking: Booking) -> BookingResult:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT id, ledger_invoice_id FROM bookings WHERE invoice_key = ? ORDER BY id "
                                   "LIMIT 1", (booking.invoice_key,)).fetchone()
                if row is not None:
                    conn.execute("COMMIT")
                    return BookingResult(int(row["id"]), False, int(row["ledger_invoice_id"]))
                data = asdict(booking) | {"booked_at": dt.datetime.now(dt.UTC).isoformat()}
                cur = conn.execute(f"INSERT INTO bookings ({', '.join(data)}) VALUES ({', '.join('?' * len(data))})",
                                   tuple(data.values()))
                conn.execute("COMMIT")
                return BookingResult(int(cur.lastrowid or 0), True, booking.ledger_invoice_id)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:  # locked or unreachable database: transient for the caller
            raise ErpUnavailable(f"ERP database error: {exc}") from exc
        finally:
            conn.close()

    def _read(self, query: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(query, args)]
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise
        finally:
            conn.close()

    def find(self, invoice_key: str) -> list[dict[str, Any]]:
        return self._read("SELECT * FROM bookings WHERE invoice_key = ? ORDER BY id", (invoice_key,))

    def bookings(self) -> list[dict[str, Any]]:
        """Every booking (reads work during ERP maintenance: they come from the reporting replica)."""
        return self._read("SELECT * FROM bookings ORDER BY id")

    def duplicate_keys(self) -> dict[str, int]:
        rows = self._read("SELECT invoice_key, COUNT(*) AS n FROM bookings GROUP BY invoice_key HAVING n > 1")
        return {r["invoice_key"]: int(r["n"]) for r in rows}
