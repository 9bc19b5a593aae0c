"""The ERP the invoices are booked into: an interface, and a database stand-in as the default.

Booking is idempotent on the invoice key (supplier + invoice number): booking the same key again
returns the existing booking instead of creating a second one. The stand-in holds a unique key on
``invoice_key`` and books with ``INSERT ... ON CONFLICT (invoice_key) DO NOTHING``: two workers
booking the same invoice at the same moment get one booking, never two (a check-then-insert could
not promise that). The ``no-double-booking`` check still counts duplicates in the ERP itself.

The stand-in is a SQLite file by default and PostgreSQL by URL (``INLOOP_INVOICE_ERP_URL``), with
its own Alembic history.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from invoice_ocr.lib.database import database_url, ensure_schema, is_sqlite, make_engine
from invoice_ocr.lib.tables import bookings as _bookings

__all__ = ["Booking", "BookingResult", "ErpClient", "ErpUnavailable", "SqlErp", "SqliteErp", "invoice_key"]


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


class SqlErp:
    """The ERP stand-in in its own database (a SQLite file by default, or any SQLAlchemy URL).

    A ``down_flag`` file means "ERP unavailable" (for a SQLite file: ``<db>.down`` next to it).
    """

    def __init__(self, path: Path | str, *, down_flag: Path | None = None) -> None:
        self.url = database_url(path)
        self.path = Path(sa.engine.make_url(self.url).database or "") if is_sqlite(self.url) else None
        if down_flag is None and self.path is None:
            raise ValueError("an ERP stand-in on a server needs its down_flag file (where an outage is declared)")
        self._down_flag = down_flag
        self._engine: sa.Engine | None = None

    @property
    def down_flag(self) -> Path:
        if self._down_flag is not None:
            return self._down_flag
        assert self.path is not None
        return self.path.with_suffix(".down")

    def set_available(self, available: bool, reason: str = "planned maintenance") -> None:
        if available:
            self.down_flag.unlink(missing_ok=True)
        else:
            self.down_flag.parent.mkdir(parents=True, exist_ok=True)
            self.down_flag.write_text(reason)

    def _eng(self) -> sa.Engine:
        if self._engine is None:
            ensure_schema("erp", self.url)
            self._engine = make_engine(self.url, pooled=False)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def book(self, booking: Booking) -> BookingResult:
        if self.down_flag.exists():
            raise ErpUnavailable(f"ERP unavailable ({self.down_flag.read_text().strip() or 'down'})")
        data = asdict(booking) | {"booked_at": dt.datetime.now(dt.UTC).isoformat()}
        try:
            eng = self._eng()
            if eng.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
            with eng.begin() as conn:
                new_id = conn.execute(insert(_bookings).values(**data)
                                      .on_conflict_do_nothing(index_elements=["invoice_key"])
                                      .returning(_bookings.c.id)).scalar()
                if new_id is not None:
                    return BookingResult(int(new_id), True, booking.ledger_invoice_id)
                row = conn.execute(sa.select(_bookings.c.id, _bookings.c.ledger_invoice_id)
                                   .where(_bookings.c.invoice_key == booking.invoice_key)).one()
                return BookingResult(int(row.id), False, int(row.ledger_invoice_id))
        except sa.exc.OperationalError as exc:  # locked or unreachable database: transient for the caller
            raise ErpUnavailable(f"ERP database error: {exc.orig or exc}") from exc

    def _read(self, query: sa.Select[Any]) -> list[dict[str, Any]]:
        if self.path is not None and not self.path.exists():
            return []
        with self._eng().connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def find(self, invoice_key: str) -> list[dict[str, Any]]:
        return self._read(sa.select(_bookings).where(_bookings.c.invoice_key == invoice_key).order_by(_bookings.c.id))

    def bookings(self) -> list[dict[str, Any]]:
        """Every booking (reads work during ERP maintenance: they come from the reporting replica)."""
        return self._read(sa.select(_bookings).order_by(_bookings.c.id))

    def duplicate_keys(self) -> dict[str, int]:
        n = sa.func.count().label("n")
        rows = self._read(sa.select(_bookings.c.invoice_key, n).group_by(_bookings.c.invoice_key)
                          .having(sa.func.count() > 1))
        return {r["invoice_key"]: int(r["n"]) for r in rows}


#: The name the stand-in had when it was SQLite only; every caller keeps working.
SqliteErp = SqlErp
