"""The platform database: engines, sessions and migrations.

SQLite by default (WAL, busy timeout, ``BEGIN IMMEDIATE`` for writers so concurrent
processes queue instead of failing); PostgreSQL by setting ``INLOOP_DATABASE_URL``.
The schema is created and upgraded by Alembic only (:func:`upgrade`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from inloop.db.models import Base
from inloop.settings import get_settings

__all__ = ["Base", "dispose_engines", "engine", "read_session", "session", "upgrade", "ensure_schema", "current_revision",
           "head_revision", "is_known_revision"]

_MIGRATIONS = Path(__file__).with_name("migrations")
_engines: dict[tuple[str, bool], sa.Engine] = {}
_lock = threading.Lock()
#: Alembic keeps module-global state: two migrations in one process (ours, and MLflow creating
#: its tables) must not run at the same time. Everything that may migrate takes this lock.
MIGRATION_LOCK = threading.RLock()


def _normalise(url: str) -> str:
    # SQLAlchemy maps plain postgresql:// to psycopg2; inloop standardises on psycopg 3.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def engine(url: str | None = None, *, write: bool = True) -> sa.Engine:
    """A cached engine for ``url`` (default: the settings' platform database).

    ``write=False`` gives a SQLite engine whose transactions start deferred, for long reads
    (the console) that must not hold the write lock.
    """
    url = _normalise(url or get_settings().platform_db_url)
    key = (url, write)
    with _lock:
        if key in _engines:
            return _engines[key]
        if url.startswith("sqlite"):
            db_path = sa.engine.make_url(url).database
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            eng = sa.create_engine(url, connect_args={"check_same_thread": False})
            _configure_sqlite(eng, write=write)
        else:
            eng = sa.create_engine(url, pool_pre_ping=True)
        _engines[key] = eng
        return eng


def _configure_sqlite(eng: sa.Engine, *, write: bool) -> None:
    timeout_ms = get_settings().sqlite_busy_timeout_ms

    @sa.event.listens_for(eng, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(eng, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # IMMEDIATE takes the write lock up front, so a read-then-write transaction waits
        # (busy_timeout) instead of failing with SQLITE_BUSY when another process wrote.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def dispose_engines() -> None:
    """Close every pooled connection (tests and forked processes call this)."""
    with _lock:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()
        _migrated.clear()


_migrated: set[str] = set()


def ensure_schema(url: str | None = None) -> None:
    """Upgrade the database to the latest revision once per process (a no-op when current).

    A laptop user who runs ``dagster dev`` or the API directly gets a usable database without a
    separate step; production runs ``inloop db upgrade`` in its deploy job instead and can turn
    this off with ``INLOOP_AUTO_MIGRATE=false``.
    """
    url = _normalise(url or get_settings().platform_db_url)
    if url in _migrated or not get_settings().auto_migrate:
        return
    if current_revision(url) != head_revision():
        try:
            with MIGRATION_LOCK:
                upgrade(url)
        except Exception:
            # Another process may have migrated concurrently; only a still-stale schema is an error.
            if current_revision(url) != head_revision():
                raise
    _migrated.add(url)


@contextmanager
def session(url: str | None = None) -> Iterator[Session]:
    """A write transaction: committed on success, rolled back on any exception."""
    ensure_schema(url)
    factory = sessionmaker(engine(url), expire_on_commit=False)
    with factory() as sess, sess.begin():
        yield sess


@contextmanager
def read_session(url: str | None = None) -> Iterator[Session]:
    """A read-only session that never takes SQLite's write lock."""
    ensure_schema(url)
    factory = sessionmaker(engine(url, write=False), expire_on_commit=False)
    with factory() as sess:
        yield sess  # closing the session ends the read transaction; loaded rows stay usable


def _alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> str:
    """Bring the database at ``url`` to ``revision`` (default: latest); returns the new revision."""
    from alembic import command

    url = _normalise(url or get_settings().platform_db_url)
    engine(url)  # creates the SQLite folder and applies pragmas (WAL) before Alembic connects
    with MIGRATION_LOCK:
        command.upgrade(_alembic_config(url), revision)
    return current_revision(url) or ""


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at, or None for a blank database."""
    from alembic.runtime.migration import MigrationContext

    with engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The latest revision the code knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()
    assert head is not None, "no migrations found"
    return head


def is_known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of this code's migrations (a database newer than the code is not)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_revision(revision) is not None
    except CommandError:
        return False
