"""Intake: the first thing that happens to an invoice file, for every channel (inbox folder, API upload).

Order matters for "never lose an invoice": the bytes are copied into content-addressed storage and
the ledger entry is committed *before* the inbox file is removed. A crash between any two steps
leaves the file in the inbox (taken again next time; the store and the ledger are idempotent on
the content hash), never nowhere.
"""

from __future__ import annotations

import fcntl
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from invoice_ocr.lib.ledger import Ledger
from invoice_ocr.lib.storage import ContentStore
from invoice_ocr.lib.workspace import Workspace

__all__ = ["InboxScan", "IntakeResult", "receive", "take_inbox"]

#: Names that scanners, mail gateways and browsers use while a file is still being written.
_PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", "~")


@dataclass(frozen=True)
class IntakeResult:
    invoice_id: int
    sha256: str
    original_name: str
    size: int
    duplicate: bool
    stored_path: Path


@dataclass
class InboxScan:
    taken: list[IntakeResult] = field(default_factory=list)
    still_writing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def new(self) -> list[IntakeResult]:
        return [r for r in self.taken if not r.duplicate]


def receive(workspace: Workspace, data: bytes, original_name: str, source: str,
            ledger: Ledger | None = None) -> IntakeResult:
    """Register one submitted file durably: store its bytes, then commit its ledger entry."""
    workspace.prepare()
    digest, stored = ContentStore(workspace.store).put(data)
    own = ledger is None
    ledger = ledger or Ledger(workspace.ledger_path)
    try:
        invoice_id, duplicate = ledger.register(digest, original_name, source, len(data))
    finally:
        if own:
            ledger.close()
    return IntakeResult(invoice_id, digest, original_name, len(data), duplicate, stored)


def _being_written(path: Path, settle_seconds: float, now: float) -> bool:
    if path.name.startswith(".") or path.name.lower().endswith(_PARTIAL_SUFFIXES):
        return True
    return now - path.stat().st_mtime < settle_seconds


def take_inbox(workspace: Workspace, *, settle_seconds: float = 2.0, limit: int = 500,
               source: str = "inbox") -> InboxScan:
    """Take the settled files from the inbox folder into the ledger, then remove them from the inbox.

    A file modified within the last ``settle_seconds`` (or named like a partial download) is left for
    the next scan; so is one whose size changed while it was read.
    """
    workspace.prepare()
    scan = InboxScan()
    lock = open(workspace.root / ".inbox.lock", "a+")  # noqa: SIM115 - held for the whole scan
    # One scan at a time (the sensor and a processing run may both look): otherwise both would take the
    # same file, and the second would be recorded as a duplicate submission of a file sent only once.
    fcntl.flock(lock, fcntl.LOCK_EX)
    ledger = Ledger(workspace.ledger_path)
    try:
        for path in sorted(p for p in workspace.inbox.iterdir() if p.is_file()):
            if len(scan.taken) >= limit:
                break
            try:
                before = path.stat()
                if _being_written(path, settle_seconds, time.time()):
                    scan.still_writing.append(path.name)
                    continue
                data = path.read_bytes()
                after = path.stat()
                if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or len(data) != after.st_size:
                    scan.still_writing.append(path.name)
                    continue
                result = receive(workspace, data, path.name, source, ledger)
                path.unlink()  # only now: the bytes are stored and the ledger entry is committed
                scan.taken.append(result)
            except FileNotFoundError:
                continue  # taken by a concurrent scan, which registered it
            except (OSError, sqlite3.Error) as exc:  # left in the inbox: the next scan tries again
                scan.failed[path.name] = f"{type(exc).__name__}: {exc}"
    finally:
        ledger.close()
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    return scan
