"""The intake ledger: every received file, its state, and every change of state (the domain's own SQLite).

States (and the only transitions allowed)::

    received -> processing -> booked | needs_review
    needs_review -> booked | rejected_with_notice
    needs_review -> received (automatic retry after a transient error such as the ERP being down)
    processing -> processing (a crashed worker's claim is taken over)

Nothing is ever deleted: a row's history is in ``events``; the same bytes sent again are a row in
``submissions`` pointing at the first invoice. Inbox entries the intake will never take (links,
hidden files, devices) are not invoices and get no invoice row: ``refused_files`` records each once,
with its reason, until it leaves the inbox.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["IN_FLIGHT", "STATES", "Ledger", "LedgerEntry", "TransitionError", "utcnow"]

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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS invoices (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    original_name TEXT NOT NULL,
    source TEXT NOT NULL,
    size INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('received','processing','booked','needs_review','rejected_with_notice')),
    state_since TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    reason TEXT,
    reason_kind TEXT,
    fields TEXT,
    invoice_key TEXT,
    erp_booking_id INTEGER,
    booked_by TEXT,
    notice TEXT,
    extractor_version TEXT
);
CREATE INDEX IF NOT EXISTS ix_invoices_state ON invoices (state);
CREATE INDEX IF NOT EXISTS ix_invoices_key ON invoices (invoice_key);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL,
    original_name TEXT NOT NULL,
    source TEXT NOT NULL,
    received_at TEXT NOT NULL,
    invoice_id INTEGER NOT NULL REFERENCES invoices (id),
    duplicate INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES invoices (id),
    at TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS ix_events_invoice ON events (invoice_id);
CREATE TABLE IF NOT EXISTS refused_files (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    scans INTEGER NOT NULL DEFAULT 1,
    cleared_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_refused_open ON refused_files (name) WHERE cleared_at IS NULL;
CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES invoices (id),
    field TEXT NOT NULL,
    extracted TEXT,
    corrected TEXT,
    clerk TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


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
    def of(cls, row: sqlite3.Row) -> LedgerEntry:
        data = dict(row)
        data["received_at"] = _parse(data["received_at"])
        data["state_since"] = _parse(data["state_since"])
        data["fields"] = json.loads(data["fields"]) if data["fields"] else {}
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["received_at"] = _iso(self.received_at)
        out["state_since"] = _iso(self.state_since)
        return out


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


class Ledger:
    """The intake ledger in its own SQLite database (WAL, full sync: a committed entry survives a crash)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA busy_timeout = 30000")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            self._conn.execute("COMMIT")

    # Intake -----------------------------------------------------------------------------

    def register(self, sha256: str, original_name: str, source: str, size: int,
                 received_at: dt.datetime | None = None) -> tuple[int, bool]:
        """Record one submission; returns (invoice id, whether it is a duplicate of a known file)."""
        now = _iso(received_at or utcnow())
        with self._write() as conn:
            row = conn.execute("SELECT id FROM invoices WHERE sha256 = ?", (sha256,)).fetchone()
            duplicate = row is not None
            if row is None:
                cur = conn.execute(
                    "INSERT INTO invoices (sha256, original_name, source, size, received_at, state, state_since)"
                    " VALUES (?, ?, ?, ?, ?, 'received', ?)", (sha256, original_name, source, size, now, now))
                invoice_id = int(cur.lastrowid or 0)
                conn.execute("INSERT INTO events (invoice_id, at, from_state, to_state, detail) VALUES (?,?,?,?,?)",
                             (invoice_id, now, None, "received", f"{source}: {original_name} ({size} bytes)"))
            else:
                invoice_id = int(row["id"])
                conn.execute("INSERT INTO events (invoice_id, at, from_state, to_state, detail) "
                             "SELECT id, ?, state, state, ? FROM invoices WHERE id = ?",
                             (now, f"duplicate submission: same bytes sent again as {original_name!r} via {source}",
                              invoice_id))
            conn.execute("INSERT INTO submissions (sha256, original_name, source, received_at, invoice_id, duplicate)"
                         " VALUES (?, ?, ?, ?, ?, ?)", (sha256, original_name, source, now, invoice_id, int(duplicate)))
        return invoice_id, duplicate

    def note_refused(self, present: dict[str, tuple[str, str]]) -> list[str]:
        """Record the inbox entries refused at the door in this scan ({name: (kind, reason)}).

        Entries seen before only get their ``last_seen`` and scan count updated; entries no longer in
        the inbox are marked cleared. Returns the names refused for the first time (to announce).
        """
        now = _iso(utcnow())
        new = []
        with self._write() as conn:
            open_rows = {r["name"]: r for r in conn.execute("SELECT * FROM refused_files WHERE cleared_at IS NULL")}
            for name, (kind, reason) in sorted(present.items()):
                row = open_rows.pop(name, None)
                if row is not None and row["kind"] == kind:
                    conn.execute("UPDATE refused_files SET last_seen=?, scans=scans+1, reason=? WHERE id=?",
                                 (now, reason, row["id"]))
                    continue
                if row is not None:  # the same name, now something else: a new refusal
                    conn.execute("UPDATE refused_files SET cleared_at=? WHERE id=?", (now, row["id"]))
                conn.execute("INSERT INTO refused_files (name, kind, reason, first_seen, last_seen) "
                             "VALUES (?,?,?,?,?)", (name, kind, reason, now, now))
                new.append(name)
            for row in open_rows.values():
                conn.execute("UPDATE refused_files SET cleared_at=? WHERE id=?", (now, row["id"]))
        return new

    def refused(self, *, include_cleared: bool = False) -> list[dict[str, Any]]:
        """Inbox entries refused at the door (those still in the inbox, or every one ever refused)."""
        where = "" if include_cleared else " WHERE cleared_at IS NULL"
        return [dict(r) for r in self._conn.execute(f"SELECT * FROM refused_files{where} ORDER BY first_seen, name")]

    # Processing -------------------------------------------------------------------------

    def claim_next(self, lease_seconds: float = 600, max_attempts: int = 3) -> LedgerEntry | None:
        """Take the next invoice to process (a new one, or one whose worker died); None when idle.

        An invoice whose processing already crashed ``max_attempts`` times is sent to review
        instead, so one poisonous file cannot crash the pipeline forever.
        """
        me = worker_id()
        while True:
            with self._write() as conn:
                row = conn.execute("SELECT * FROM invoices WHERE state = 'received' ORDER BY id LIMIT 1").fetchone()
                if row is None:
                    row = self._orphaned(conn, lease_seconds)
                if row is None:
                    return None
                now = _iso(utcnow())
                if row["state"] == "processing" and row["attempts"] >= max_attempts:
                    self._move(conn, row, "needs_review", now, reason=(
                        f"processing was interrupted {row['attempts']} times (crash or kill); "
                        "a person should look at this file"), reason_kind="crashed_repeatedly")
                    continue
                detail = "claimed" if row["state"] == "received" else f"resumed after worker {row['claimed_by']} died"
                conn.execute("UPDATE invoices SET state='processing', state_since=?, attempts=attempts+1, "
                             "claimed_by=? WHERE id=?", (now, me, row["id"]))
                conn.execute("INSERT INTO events (invoice_id, at, from_state, to_state, detail) VALUES (?,?,?,?,?)",
                             (row["id"], now, row["state"], "processing", f"{detail} by {me}"))
                fresh = conn.execute("SELECT * FROM invoices WHERE id = ?", (row["id"],)).fetchone()
                return LedgerEntry.of(fresh)

    def _orphaned(self, conn: sqlite3.Connection, lease_seconds: float) -> sqlite3.Row | None:
        cutoff = utcnow() - dt.timedelta(seconds=lease_seconds)
        for row in conn.execute("SELECT * FROM invoices WHERE state = 'processing' ORDER BY id"):
            if row["claimed_by"] == worker_id():
                continue
            if not _worker_alive(row["claimed_by"]) or _parse(row["state_since"]) < cutoff:  # type: ignore[operator]
                return row
        return None

    def requeue_transient(self, kinds: tuple[str, ...] = ("erp_unavailable",)) -> list[int]:
        """Put review items that failed only for a transient reason back into processing (catch-up)."""
        with self._write() as conn:
            rows = conn.execute(f"SELECT * FROM invoices WHERE state='needs_review' AND reason_kind IN "
                                f"({','.join('?' * len(kinds))}) ORDER BY id", kinds).fetchall()
            now = _iso(utcnow())
            for row in rows:
                conn.execute("UPDATE invoices SET state='received', state_since=?, attempts=0, claimed_by=NULL "
                             "WHERE id=?", (now, row["id"]))
                conn.execute("INSERT INTO events (invoice_id, at, from_state, to_state, detail) VALUES (?,?,?,?,?)",
                             (row["id"], now, "needs_review", "received",
                              f"automatic retry after transient failure ({row['reason_kind']})"))
        return [int(r["id"]) for r in rows]

    def transition(self, invoice_id: int, to_state: str, *, expected_from: tuple[str, ...] | None = None,
                   detail: str = "", **values: Any) -> LedgerEntry:
        """Move an invoice to ``to_state`` (only along allowed transitions), updating ``values``."""
        with self._write() as conn:
            row = conn.execute("SELECT * FROM invoices WHERE id = ?", (invoice_id,)).fetchone()
            if row is None:
                raise TransitionError(f"invoice {invoice_id} is not in the ledger")
            if expected_from is not None and row["state"] not in expected_from:
                raise TransitionError(f"invoice {invoice_id} is {row['state']}, expected one of {expected_from}")
            self._move(conn, row, to_state, _iso(utcnow()), detail=detail, **values)
            return LedgerEntry.of(conn.execute("SELECT * FROM invoices WHERE id = ?", (invoice_id,)).fetchone())

    def _move(self, conn: sqlite3.Connection, row: sqlite3.Row, to_state: str, now: str, detail: str = "",
              **values: Any) -> None:
        if to_state not in STATES:
            raise TransitionError(f"unknown state {to_state!r}")
        if (row["state"], to_state) not in _ALLOWED:
            raise TransitionError(f"invoice {row['id']}: {row['state']} -> {to_state} is not allowed")
        allowed = {"reason", "reason_kind", "fields", "invoice_key", "erp_booking_id", "booked_by", "notice",
                   "extractor_version"}
        unknown = set(values) - allowed
        if unknown:
            raise TransitionError(f"unknown ledger field(s) {sorted(unknown)}")
        if "fields" in values and not isinstance(values["fields"], str | None):
            values["fields"] = json.dumps(values["fields"], sort_keys=True)
        assignments = ", ".join(f"{k} = ?" for k in values)
        conn.execute(f"UPDATE invoices SET state = ?, state_since = ?{', ' + assignments if values else ''} "
                     "WHERE id = ?", (to_state, now, *values.values(), row["id"]))
        text = detail or values.get("reason") or values.get("notice") or ""
        conn.execute("INSERT INTO events (invoice_id, at, from_state, to_state, detail) VALUES (?,?,?,?,?)",
                     (row["id"], now, row["state"], to_state, str(text)))

    def note(self, invoice_id: int, detail: str) -> None:
        """Add a line to an invoice's history without changing its state (e.g. "clerk notified")."""
        with self._write() as conn:
            conn.execute("INSERT INTO events (invoice_id, at, from_state, to_state, detail) "
                         "SELECT id, ?, state, state, ? FROM invoices WHERE id = ?", (_iso(utcnow()), detail, invoice_id))

    # Review -----------------------------------------------------------------------------

    def add_corrections(self, invoice_id: int, corrections: dict[str, tuple[str | None, str | None]],
                        clerk: str) -> None:
        now = _iso(utcnow())
        with self._write() as conn:
            for field, (extracted, corrected) in corrections.items():
                conn.execute("INSERT INTO corrections (invoice_id, field, extracted, corrected, clerk, at) "
                             "VALUES (?,?,?,?,?,?)", (invoice_id, field, extracted, corrected, clerk, now))

    def corrections(self, invoice_id: int | None = None) -> list[dict[str, Any]]:
        query, args = "SELECT * FROM corrections", ()
        if invoice_id is not None:
            query, args = query + " WHERE invoice_id = ?", (invoice_id,)
        return [dict(r) for r in self._conn.execute(query + " ORDER BY id", args)]

    # Reads ------------------------------------------------------------------------------

    def get(self, invoice_id: int) -> LedgerEntry:
        row = self._conn.execute("SELECT * FROM invoices WHERE id = ?", (invoice_id,)).fetchone()
        if row is None:
            raise KeyError(f"invoice {invoice_id} is not in the ledger")
        return LedgerEntry.of(row)

    def by_sha(self, sha256: str) -> LedgerEntry | None:
        row = self._conn.execute("SELECT * FROM invoices WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else LedgerEntry.of(row)

    def entries(self, state: str | None = None) -> list[LedgerEntry]:
        if state is None:
            rows = self._conn.execute("SELECT * FROM invoices ORDER BY id")
        else:
            rows = self._conn.execute("SELECT * FROM invoices WHERE state = ? ORDER BY id", (state,))
        return [LedgerEntry.of(r) for r in rows]

    def booked_with_key(self, invoice_key: str) -> list[LedgerEntry]:
        rows = self._conn.execute("SELECT * FROM invoices WHERE invoice_key = ? AND state = 'booked' ORDER BY id",
                                  (invoice_key,))
        return [LedgerEntry.of(r) for r in rows]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for row in self._conn.execute("SELECT state, COUNT(*) AS n FROM invoices GROUP BY state"):
            out[row["state"]] = int(row["n"])
        return out

    def submissions(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._conn.execute("SELECT * FROM submissions ORDER BY id")]

    def received_digests(self) -> set[str]:
        """Every distinct file ever submitted (from the submission log, independent of invoice rows)."""
        return {r[0] for r in self._conn.execute("SELECT DISTINCT sha256 FROM submissions")}

    def events(self, invoice_id: int) -> list[dict[str, Any]]:
        return [dict(r) for r in self._conn.execute("SELECT * FROM events WHERE invoice_id = ? ORDER BY id",
                                                    (invoice_id,))]
