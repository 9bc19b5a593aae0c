"""Move an installation: its ledger and ERP stand-in to another database, its stored files to another store.

For a team leaving the laptop: SQLite files and a local folder go to PostgreSQL and S3. Every row keeps
its id (invoices, submissions, events, refused files, corrections, bookings), and every stored file
moves under its own hash. Before anything is written, every target is checked to be empty (so the
same move cannot run twice over one target) and every source file is read and hash-checked. After
the copy, the row counts and the file hashes are compared with the source. The source is left as it
was: switch the settings (``INLOOP_INVOICE_LEDGER_URL``, ``INLOOP_INVOICE_ERP_URL``,
``INLOOP_STORED_FILES_URL``) once the move is verified.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from inloop.stored_files import StoredFiles, open_stored_files
from invoice_ocr.lib import tables as t
from invoice_ocr.lib.database import database_url, ensure_schema, make_engine
from invoice_ocr.lib.workspace import Workspace

__all__ = ["MoveReport", "TargetNotEmpty", "move_storage"]

_LEDGER_TABLES = (t.invoices, t.submissions, t.events, t.refused_files, t.corrections)
_ERP_TABLES = (t.bookings,)


class TargetNotEmpty(RuntimeError):
    """A target already holds rows or files: moving over it could mix two installations."""


@dataclass
class MoveReport:
    ledger_url: str
    erp_url: str
    files_url: str
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0


def _safe(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _filled_tables(url: str, tables: tuple[sa.Table, ...]) -> dict[str, int]:
    eng = make_engine(url, pooled=False)
    try:
        names = set(sa.inspect(eng).get_table_names())
        with eng.connect() as conn:
            counts = {tb.name: int(conn.execute(sa.select(sa.func.count()).select_from(tb)).scalar_one())
                      for tb in tables if tb.name in names}
    finally:
        eng.dispose()
    return {name: n for name, n in counts.items() if n}


def _count(url: str, tables: tuple[sa.Table, ...]) -> dict[str, int]:
    eng = make_engine(url, pooled=False)
    try:
        with eng.connect() as conn:
            return {tb.name: int(conn.execute(sa.select(sa.func.count()).select_from(tb)).scalar_one())
                    for tb in tables}
    finally:
        eng.dispose()


def _copy(source_url: str, target_url: str, tables: tuple[sa.Table, ...], chunk: int = 1000) -> None:
    source, target = make_engine(source_url, write=False, pooled=False), make_engine(target_url, pooled=False)
    try:
        with source.connect() as src, target.begin() as dst:
            for table in tables:
                rows: list[dict[str, Any]] = []
                for row in src.execute(sa.select(table).order_by(table.c.id)):
                    rows.append(dict(row._mapping))
                    if len(rows) >= chunk:
                        dst.execute(table.insert(), rows)
                        rows = []
                if rows:
                    dst.execute(table.insert(), rows)
                if dst.dialect.name == "postgresql":  # ids were given: the next new row continues after them
                    dst.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))
    finally:
        source.dispose()
        target.dispose()


def move_storage(source: Workspace, *, to_database: str, to_files: str, to_erp_database: str | None = None,
                 files_endpoint_url: str | None = None) -> MoveReport:
    """Copy ``source``'s ledger and ERP to ``to_database`` (the ERP to ``to_erp_database`` if given) and its
    stored files to ``to_files``; verify counts and hashes. Raises :class:`TargetNotEmpty` before writing
    anything when a target already holds data."""
    with source.ledger() as ledger:
        ledger_source = ledger.url
    erp_source = source.erp().url
    ensure_schema("erp", erp_source)
    ledger_target, erp_target = database_url(to_database), database_url(to_erp_database or to_database)
    if ledger_target in (ledger_source, erp_source) or erp_target in (ledger_source, erp_source):
        raise ValueError("the target database is the source database")
    src_files: StoredFiles = source.files()
    dst_files = open_stored_files(to_files, endpoint_url=files_endpoint_url)
    if dst_files.url == src_files.url:
        raise ValueError("the target file store is the source file store")

    # 1. Every target empty, every source file intact: otherwise nothing is written.
    filled = {f"{_safe(ledger_target)} {k}": n for k, n in _filled_tables(ledger_target, _LEDGER_TABLES).items()}
    filled |= {f"{_safe(erp_target)} {k}": n for k, n in _filled_tables(erp_target, _ERP_TABLES).items()}
    if filled:
        raise TargetNotEmpty("the target already holds data (" + ", ".join(f"{k}: {n} rows" for k, n in
                                                                           filled.items()) +
                             "); a move goes into empty databases only, so it cannot run twice over one target")
    present = dst_files.digests()
    if present:
        raise TargetNotEmpty(f"the target file store {dst_files.url} already holds {len(present)} files; a move "
                             "goes into an empty store only")
    digests = sorted(src_files.digests())
    for digest in digests:
        src_files.get(digest)  # DamagedFile: repair the source before moving it

    # 2. Copy.
    ensure_schema("ledger", ledger_target)
    ensure_schema("erp", erp_target)
    _copy(ledger_source, ledger_target, _LEDGER_TABLES)
    _copy(erp_source, erp_target, _ERP_TABLES)
    for digest in digests:
        dst_files.put(src_files.get(digest))

    # 3. Verify.
    report = MoveReport(_safe(ledger_target), _safe(erp_target), dst_files.url)
    for src_url, dst_url, tables in ((ledger_source, ledger_target, _LEDGER_TABLES),
                                     (erp_source, erp_target, _ERP_TABLES)):
        before, after = _count(src_url, tables), _count(dst_url, tables)
        if before != after:
            raise RuntimeError(f"row counts differ after the move: source {before}, target {after}")
        report.rows |= after
    checked, damaged = dst_files.verify()
    if damaged or dst_files.digests() != set(digests):
        raise RuntimeError(f"stored files differ after the move: {len(damaged)} damaged, "
                           f"{len(set(digests) - dst_files.digests())} missing")
    report.files = checked
    return report
