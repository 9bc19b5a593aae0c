"""Engines and migrations for the invoice ledger and the ERP stand-in (two databases, two Alembic histories).

A location is a SQLAlchemy URL or a plain file path (a SQLite file, as before). The engine is the
platform's (:func:`inloop.db.engine`): SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` for
writers; PostgreSQL gets a pre-pinged pool. An installation made before the Alembic histories (its
tables created by raw SQLite) is stamped at the first revision and upgraded from there, so no row is
lost and no table is created twice.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from inloop.db import MIGRATION_LOCK, _configure_sqlite, _normalise

__all__ = ["History", "current_revision", "database_url", "ensure_schema", "head_revision", "is_sqlite",
           "make_engine", "upgrade"]

History = Literal["ledger", "erp"]
_MIGRATIONS = Path(__file__).with_name("migrations")
#: The table whose presence marks an installation created before the Alembic history.
_LEGACY_TABLE = {"ledger": "invoices", "erp": "bookings"}
_migrated: set[tuple[str, str]] = set()
_lock = threading.Lock()


def database_url(location: str | Path) -> str:
    """A SQLAlchemy URL for ``location`` (a URL as given, a path as a SQLite file)."""
    text = str(location)
    if "://" in text:
        return _normalise(text)
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, write: bool = True, pooled: bool = True) -> sa.Engine:
    """An engine owned by its caller (dispose it when done).

    SQLite: the platform's settings (WAL, busy timeout, ``BEGIN IMMEDIATE`` for writers) and full
    sync, so a committed ledger entry survives a power cut. PostgreSQL: a small pre-pinged pool.
    """
    if is_sqlite(url):
        db_path = sa.engine.make_url(url).database
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        eng = sa.create_engine(url, connect_args={"check_same_thread": False},
                               **({} if pooled else {"poolclass": NullPool}))
        _configure_sqlite(eng, write=write)

        @sa.event.listens_for(eng, "connect")
        def _full_sync(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.execute("PRAGMA synchronous = FULL")

        return eng
    if pooled:
        return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4)
    return sa.create_engine(url, poolclass=NullPool)


def version_table(history: History) -> str:
    return f"invoice_{history}_alembic_version"


def _config(history: History, url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS / history))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision(history: History) -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config(history, "sqlite://")).get_current_head()
    assert head is not None, f"no {history} migrations found"
    return head


def current_revision(history: History, url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    eng = make_engine(url, write=False, pooled=False)
    try:
        with eng.connect() as conn:
            return MigrationContext.configure(conn, opts={"version_table": version_table(history)}).get_current_revision()
    finally:
        eng.dispose()


def upgrade(history: History, location: str | Path, revision: str = "head") -> str:
    """Bring the ledger or ERP database at ``location`` to ``revision``; stamps a pre-Alembic installation first."""
    from alembic import command

    url = database_url(location)
    eng = make_engine(url, pooled=False)
    try:
        legacy = sa.inspect(eng).has_table(_LEGACY_TABLE[history])
    finally:
        eng.dispose()
    with MIGRATION_LOCK:
        if legacy and current_revision(history, url) is None:
            command.stamp(_config(history, url), "0001")
        command.upgrade(_config(history, url), revision)
    return current_revision(history, url) or ""


def ensure_schema(history: History, location: str | Path) -> str:
    """Upgrade once per process (a no-op when current); returns the URL. Concurrent starters may race: fine."""
    url = database_url(location)
    key = (history, url)
    if key in _migrated and is_sqlite(url) and not Path(sa.engine.make_url(url).database or "").exists():
        _migrated.discard(key)  # the file was removed since: create it again
    if key in _migrated:
        return url
    with _lock:
        if key in _migrated:
            return url
        if current_revision(history, url) != head_revision(history):
            try:
                upgrade(history, url)
            except Exception:
                # Another process may have migrated concurrently; only a still-stale schema is an error.
                if current_revision(history, url) != head_revision(history):
                    raise
        _migrated.add(key)
    return url
