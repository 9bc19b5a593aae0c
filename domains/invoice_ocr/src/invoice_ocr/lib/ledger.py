"""The intake ledger: every received file, its state, and every change of state (the domain's own database).

States (and the only transitions allowed)::

    received -> processing -> booked | needs_review
    needs_review -> booked | rejected_with_notice
    needs_review -> received (automatic retry after a transient error such as the ERP being down)
    processing -> processing (a crashed worker's claim is taken over)

Nothing is ever deleted: a row's history is in ``events``; the same bytes sent again are a row in
``submissions`` pointing at the first invoice. Inbox entries the intake will never take (links,
hidden files, devices) are not invoices and get no invoice row: ``refused_files`` records each once,
with its reason, until it leaves the inbox.

The tables are SQLAlchemy Core (:mod:`invoice_ocr.lib.tables`) with their own Alembic history: a
SQLite file by default, PostgreSQL by URL (``INLOOP_INVOICE_LEDGER_URL``). Any number of workers
claim invoices side by side: ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE``
on SQLite. A claim is a lease (``lease_until``) its worker renews by heartbeat
(:meth:`Ledger.renew_leases`); a claim whose lease ran out, or whose worker process on this machine
is gone, is taken over by the next claim.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from invoice_ocr.lib import tables as t
from invoice_ocr.lib.database import ensure_schema, is_sqlite, make_engine

__all__ = ["IN_FLIGHT", "STATES", "Ledger", "LedgerEntry", "TransitionError", "utcnow", "worker_id"]

STATES = ("received", "processing", "booked", "needs_review", "rejected_with_notice")
IN_FLIGHT = ("received", "processing")
_ALLOWED = {
    ("received", "processing"),
    ("processing", "processing"),
    ("processing", "booked"),
    ("processing", "needs_review"),
    ("needs_review", "booked"),
    ("needs_review", "rejected_with_notice"),
}

def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _parse(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


class TransitionError(RuntimeError):
    """A state change the ledger does not allow (or the row changed under us)."""


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    sha256: str
    original_name: str
    source: str
    size: int
    received_at: dt.datetime
    state: str
    state_since: dt.datetime
    attempts: int
    claimed_by: str | None
    reason: str | None
    reason_kind: str | None
    fields: dict[str, Any]
    invoice_key: str | None
    erp_booking_id: int | None
    booked_by: str | None
    notice: str | None
    extractor_version: str | None

    @classmethod
    def of(cls, row: Mapping[str, Any] | sa.Row[Any]) -> LedgerEntry:
        data = dict(row._mapping) if isinstance(row, sa.Row) else dict(row)
        data = {k: data[k] for k in _ENTRY_FIELDS}
        data["received_at"] = _parse(data["received_at"])
        data["state_since"] = _parse(data["state_since"])
        data["fields"] = json.loads(data["fields"]) if data["fields"] else {}
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["received_at"] = _iso(self.received_at)
        out["state_since"] = _iso(self.state_since)
        return out


_ENTRY_FIELDS = tuple(f.name for f in dataclass_fields(LedgerEntry))


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _worker_alive(claimed_by: str | None) -> bool:
    if not claimed_by:
        return False
    host, _, pid = claimed_by.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's worker: only its lease can expire it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return int(pid) != 0



def _dicts(result: sa.CursorResult[Any]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in result]


class Ledger:
    """The intake ledger in its own database: a SQLite file (a path) by default, or any SQLAlchemy URL.

    On SQLite: WAL and full sync, so a committed entry survives a crash; writers take the lock up
    front (``BEGIN IMMEDIATE``) and wait for each other. On PostgreSQL: row locks, and claims skip
    rows another worker is claiming.
    """

    def __init__(self, path: Path | str) -> None:
        self.url = ensure_schema("ledger", path)
        self.path = Path(sa.engine.make_url(self.url).database or "") if is_sqlite(self.url) else None
        self._sqlite = is_sqlite(self.url)
        self._engine = make_engine(self.url, write=True)
        self._read_engine = make_engine(self.url, write=False) if self._sqlite else self._engine
        self._raw: sqlite3.Connection | None = None

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None
        self._engine.dispose()
        if self._read_engine is not self._engine:
            self._read_engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _conn(self) -> sqlite3.Connection:
        """A raw autocommit connection to a SQLite ledger (maintenance that needs SQLite itself: retention)."""
        if not self._sqlite:
            raise RuntimeError(f"the ledger at {sa.engine.make_url(self.url).render_as_string(hide_password=True)} "
                               "is not SQLite: this maintenance step needs SQLite")
        if self._raw is None:
            self._raw = sqlite3.connect(self.path or "", timeout=30, isolation_level=None, check_same_thread=False)
            self._raw.row_factory = sqlite3.Row
            self._raw.execute("PRAGMA busy_timeout = 30000")
            self._raw.execute("PRAGMA foreign_keys = ON")
        return self._raw

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self._read_engine.connect() as conn:
            yield conn

    @staticmethod
    def _event(conn: sa.Connection, invoice_id: int, at: str, from_state: str | None, to_state: str,
               detail: str) -> None:
        conn.execute(t.events.insert().values(invoice_id=invoice_id, at=at, from_state=from_state,
                                              to_state=to_state, detail=detail))

    # Intake -----------------------------------------------------------------------------

    def register(self, sha256: str, original_name: str, source: str, size: int,
                 received_at: dt.datetime | None = None) -> tuple[int, bool]:
        """Record one submission; returns (invoice id, whether it is a duplicate of a known file)."""
        now = _iso(received_at or utcnow())
        inv = t.invoices
        with self._write() as conn:
            row = conn.execute(sa.select(inv.c.id, inv.c.state).where(inv.c.sha256 == sha256)
                               .with_for_update()).first()
            if row is None and not self._sqlite:
                # Two intakes of the same bytes at once on PostgreSQL: the unique hash lets one insert win.
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                new_id = conn.execute(pg_insert(inv).values(
                    sha256=sha256, original_name=original_name, source=source, size=size, received_at=now,
                    state="received", state_since=now).on_conflict_do_nothing(index_elements=["sha256"])
                    .returning(inv.c.id)).scalar()
                if new_id is None:
                    row = conn.execute(sa.select(inv.c.id, inv.c.state).where(inv.c.sha256 == sha256)
                                       .with_for_update()).first()
            elif row is None:
                new_id = conn.execute(inv.insert().values(
                    sha256=sha256, original_name=original_name, source=source, size=size, received_at=now,
                    state="received", state_since=now)).inserted_primary_key[0]
            duplicate = row is not None
            if row is None:
                invoice_id = int(new_id)
                self._event(conn, invoice_id, now, None, "received", f"{source}: {original_name} ({size} bytes)")
            else:
                invoice_id = int(row.id)
                self._event(conn, invoice_id, now, row.state, row.state,
                            f"duplicate submission: same bytes sent again as {original_name!r} via {source}")
            conn.execute(t.submissions.insert().values(sha256=sha256, original_name=original_name, source=source,
                                                       received_at=now, invoice_id=invoice_id,
                                                       duplicate=int(duplicate)))
        return invoice_id, duplicate

    def note_refused(self, present: dict[str, tuple[str, str]]) -> list[str]:
        """Record the inbox entries refused at the door in this scan ({name: (kind, reason)}).

        Entries seen before only get their ``last_seen`` and scan count updated; entries no longer in
        the inbox are marked cleared. Returns the names refused for the first time (to announce).
        """
        now = _iso(utcnow())
        new = []
        rf = t.refused_files
        with self._write() as conn:
            open_rows = {r.name: r for r in conn.execute(sa.select(rf).where(rf.c.cleared_at.is_(None)))}
            for name, (kind, reason) in sorted(present.items()):
                row = open_rows.pop(name, None)
                if row is not None and row.kind == kind:
                    conn.execute(rf.update().where(rf.c.id == row.id)
                                 .values(last_seen=now, scans=rf.c.scans + 1, reason=reason))
                    continue
                if row is not None:  # the same name, now something else: a new refusal
                    conn.execute(rf.update().where(rf.c.id == row.id).values(cleared_at=now))
                conn.execute(rf.insert().values(name=name, kind=kind, reason=reason, first_seen=now, last_seen=now))
                new.append(name)
            for row in open_rows.values():
                conn.execute(rf.update().where(rf.c.id == row.id).values(cleared_at=now))
        return new

    def refused(self, *, include_cleared: bool = False) -> list[dict[str, Any]]:
        """Inbox entries refused at the door (those still in the inbox, or every one ever refused)."""
        rf = t.refused_files
        query = sa.select(rf).order_by(rf.c.first_seen, rf.c.name)
        if not include_cleared:
            query = query.where(rf.c.cleared_at.is_(None))
        with self._read() as conn:
            return _dicts(conn.execute(query))

    # Processing -------------------------------------------------------------------------

    def claim_next(self, lease_seconds: float = 600, max_attempts: int = 3) -> LedgerEntry | None:
        """Take the next invoice to process (a new one, or one whose worker died); None when idle.

        The claim is a lease of ``lease_seconds``, renewed by the worker's heartbeat
        (:meth:`renew_leases`). An invoice whose processing already crashed ``max_attempts`` times
        is sent to review instead, so one poisonous file cannot crash the pipeline forever.
        """
        me = worker_id()
        inv = t.invoices
        while True:
            with self._write() as conn:
                query = sa.select(inv).where(inv.c.state == "received").order_by(inv.c.id).limit(1)
                if not self._sqlite:
                    query = query.with_for_update(skip_locked=True)
                row = conn.execute(query).first()
                if row is None:
                    row = self._orphaned(conn, lease_seconds)
                if row is None:
                    return None
                now = _iso(utcnow())
                if row.state == "processing" and row.attempts >= max_attempts:
                    self._move(conn, row, "needs_review", now, reason=(
                        f"processing was interrupted {row.attempts} times (crash or kill); "
                        "a person should look at this file"), reason_kind="crashed_repeatedly")
                    continue
                detail = "claimed" if row.state == "received" else f"resumed after worker {row.claimed_by} died"
                conn.execute(inv.update().where(inv.c.id == row.id).values(
                    state="processing", state_since=now, attempts=inv.c.attempts + 1, claimed_by=me,
                    lease_until=time.time() + lease_seconds))
                self._event(conn, row.id, now, row.state, "processing", f"{detail} by {me}")
                return LedgerEntry.of(conn.execute(sa.select(inv).where(inv.c.id == row.id)).one())

    def _orphaned(self, conn: sa.Connection, lease_seconds: float) -> sa.Row[Any] | None:
        """A claim to take over: its lease ran out, or its worker on this machine is gone."""
        inv = t.invoices
        me = worker_id()
        legacy_cutoff = _iso(utcnow() - dt.timedelta(seconds=lease_seconds))
        expired = sa.or_(inv.c.lease_until < time.time(),
                         sa.and_(inv.c.lease_until.is_(None), inv.c.state_since < legacy_cutoff))
        local = inv.c.claimed_by.like(f"{socket.gethostname()}:%")
        query = (sa.select(inv).where(inv.c.state == "processing", sa.or_(expired, local, inv.c.claimed_by.is_(None)))
                 .order_by(inv.c.id))
        if not self._sqlite:
            query = query.with_for_update(skip_locked=True)
        now = time.time()
        for row in conn.execute(query):
            lapsed = (row.lease_until is not None and row.lease_until < now) or (
                row.lease_until is None and row.state_since < legacy_cutoff)
            if row.claimed_by == me and not lapsed:
                continue  # in this worker's batch right now
            if lapsed or not _worker_alive(row.claimed_by):
                return row
        return None

    def renew_leases(self, invoice_ids: list[int] | tuple[int, ...] | set[int],
                     lease_seconds: float = 600) -> set[int]:
        """Extend this worker's leases on ``invoice_ids`` (its heartbeat); returns the ids it still holds."""
        if not invoice_ids:
            return set()
        inv = t.invoices
        me = worker_id()
        with self._write() as conn:
            held = conn.execute(inv.update().where(inv.c.id.in_(list(invoice_ids)), inv.c.state == "processing",
                                                   inv.c.claimed_by == me)
                                .values(lease_until=time.time() + lease_seconds).returning(inv.c.id))
            return {int(r.id) for r in held}

    def release_claims(self) -> int:
        """End this worker's leases (after it lost track of them, e.g. in a database outage): claimable again."""
        inv = t.invoices
        with self._write() as conn:
            return int(conn.execute(inv.update().where(inv.c.state == "processing", inv.c.claimed_by == worker_id())
                                    .values(lease_until=0.0)).rowcount)

    def requeue_transient(self, kinds: tuple[str, ...] = ("erp_unavailable",)) -> list[int]:
        """Put review items that failed only for a transient reason back into processing (catch-up)."""
        inv = t.invoices
        with self._write() as conn:
            query = (sa.select(inv).where(inv.c.state == "needs_review", inv.c.reason_kind.in_(kinds))
                     .order_by(inv.c.id))
            if not self._sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = conn.execute(query).fetchall()
            now = _iso(utcnow())
            for row in rows:
                conn.execute(inv.update().where(inv.c.id == row.id).values(
                    state="received", state_since=now, attempts=0, claimed_by=None, lease_until=None))
                self._event(conn, row.id, now, "needs_review", "received",
                            f"automatic retry after transient failure ({row.reason_kind})")
        return [int(r.id) for r in rows]

    def transition(self, invoice_id: int, to_state: str, *, expected_from: tuple[str, ...] | None = None,
                   detail: str = "", held_by: str | None = None, **values: Any) -> LedgerEntry:
        """Move an invoice to ``to_state`` (only along allowed transitions), updating ``values``.

        ``held_by`` (a worker id) refuses the change when that worker no longer holds the claim
        (its lease ran out and another worker took the invoice over).
        """
        inv = t.invoices
        with self._write() as conn:
            row = conn.execute(sa.select(inv).where(inv.c.id == invoice_id).with_for_update()).first()
            if row is None:
                raise TransitionError(f"invoice {invoice_id} is not in the ledger")
            if expected_from is not None and row.state not in expected_from:
                raise TransitionError(f"invoice {invoice_id} is {row.state}, expected one of {expected_from}")
            if held_by is not None and row.claimed_by != held_by:
                raise TransitionError(f"invoice {invoice_id} is no longer held by {held_by} "
                                      f"(taken over by {row.claimed_by})")
            self._move(conn, row, to_state, _iso(utcnow()), detail=detail, **values)
            return LedgerEntry.of(conn.execute(sa.select(inv).where(inv.c.id == invoice_id)).one())

    def _move(self, conn: sa.Connection, row: sa.Row[Any], to_state: str, now: str, detail: str = "",
              **values: Any) -> None:
        if to_state not in STATES:
            raise TransitionError(f"unknown state {to_state!r}")
        if (row.state, to_state) not in _ALLOWED:
            raise TransitionError(f"invoice {row.id}: {row.state} -> {to_state} is not allowed")
        allowed = {"reason", "reason_kind", "fields", "invoice_key", "erp_booking_id", "booked_by", "notice",
                   "extractor_version"}
        unknown = set(values) - allowed
        if unknown:
            raise TransitionError(f"unknown ledger field(s) {sorted(unknown)}")
        if "fields" in values and not isinstance(values["fields"], str | None):
            values["fields"] = json.dumps(values["fields"], sort_keys=True)
        extra: dict[str, Any] = {} if to_state == "processing" else {"lease_until": None}
        conn.execute(t.invoices.update().where(t.invoices.c.id == row.id)
                     .values(state=to_state, state_since=now, **values, **extra))
        text = detail or values.get("reason") or values.get("notice") or ""
        self._event(conn, row.id, now, row.state, to_state, str(text))

    def note(self, invoice_id: int, detail: str) -> None:
        """Add a line to an invoice's history without changing its state (e.g. "clerk notified")."""
        inv = t.invoices
        with self._write() as conn:
            row = conn.execute(sa.select(inv.c.id, inv.c.state).where(inv.c.id == invoice_id)).first()
            if row is not None:
                self._event(conn, row.id, _iso(utcnow()), row.state, row.state, detail)

    # Review -----------------------------------------------------------------------------

    def add_corrections(self, invoice_id: int, corrections: dict[str, tuple[str | None, str | None]],
                        clerk: str) -> None:
        now = _iso(utcnow())
        with self._write() as conn:
            for field, (extracted, corrected) in corrections.items():
                conn.execute(t.corrections.insert().values(invoice_id=invoice_id, field=field, extracted=extracted,
                                                           corrected=corrected, clerk=clerk, at=now))

    def corrections(self, invoice_id: int | None = None) -> list[dict[str, Any]]:
        query = sa.select(t.corrections).order_by(t.corrections.c.id)
        if invoice_id is not None:
            query = query.where(t.corrections.c.invoice_id == invoice_id)
        with self._read() as conn:
            return _dicts(conn.execute(query))

    # Reads ------------------------------------------------------------------------------

    def _entries(self, *where: Any) -> list[LedgerEntry]:
        with self._read() as conn:
            return [LedgerEntry.of(r) for r in conn.execute(sa.select(t.invoices).where(*where)
                                                            .order_by(t.invoices.c.id))]

    def get(self, invoice_id: int) -> LedgerEntry:
        found = self._entries(t.invoices.c.id == invoice_id)
        if not found:
            raise KeyError(f"invoice {invoice_id} is not in the ledger")
        return found[0]

    def by_sha(self, sha256: str) -> LedgerEntry | None:
        found = self._entries(t.invoices.c.sha256 == sha256)
        return found[0] if found else None

    def entries(self, state: str | None = None) -> list[LedgerEntry]:
        return self._entries() if state is None else self._entries(t.invoices.c.state == state)

    def booked_with_key(self, invoice_key: str) -> list[LedgerEntry]:
        return self._entries(t.invoices.c.invoice_key == invoice_key, t.invoices.c.state == "booked")

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        with self._read() as conn:
            for row in conn.execute(sa.select(t.invoices.c.state, sa.func.count()).group_by(t.invoices.c.state)):
                out[row[0]] = int(row[1])
        return out

    def submissions(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            return _dicts(conn.execute(sa.select(t.submissions).order_by(t.submissions.c.id)))

    def received_digests(self) -> set[str]:
        """Every distinct file ever submitted (from the submission log, independent of invoice rows)."""
        with self._read() as conn:
            return {r[0] for r in conn.execute(sa.select(t.submissions.c.sha256).distinct())}

    def events(self, invoice_id: int) -> list[dict[str, Any]]:
        with self._read() as conn:
            return _dicts(conn.execute(sa.select(t.events).where(t.events.c.invoice_id == invoice_id)
                                       .order_by(t.events.c.id)))
