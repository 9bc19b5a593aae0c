"""Intake: the first thing that happens to an invoice file, for every channel (inbox folder, API upload).

Order matters for "never lose an invoice": the bytes are copied into content-addressed storage and
the ledger entry is committed *before* the inbox file is removed. A crash between any two steps
leaves the file in the inbox (taken again next time; the store and the ledger are idempotent on
the content hash), never nowhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import stat
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


def _display_name(relative: Path) -> str:
    """The file's name as text; bytes that are not UTF-8 (old scanners, Windows shares) become U+FFFD."""
    return str(relative).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _inbox_files(inbox: Path, scan: InboxScan) -> list[tuple[Path, str]]:
    """Every regular file in the inbox and its sub-folders, oldest name first; the rest is reported.

    Symbolic links are not followed (a link can point anywhere on this machine, and reading a
    FIFO or device would hang the intake): each is reported in ``scan.failed`` and left where it is,
    so nothing in the inbox is skipped silently.
    """
    found: list[tuple[Path, str]] = []
    for folder, dirs, files in os.walk(inbox, followlinks=False):
        base = Path(folder)
        for name in sorted(dirs):
            if (base / name).is_symlink():
                scan.failed[_display_name((base / name).relative_to(inbox))] = (
                    "a symbolic link to a folder: not followed; copy the files themselves into the inbox")
        dirs[:] = sorted(d for d in dirs if not (base / d).is_symlink())
        for name in sorted(files):
            path = base / name
            shown = _display_name(path.relative_to(inbox))
            if path.is_symlink():
                scan.failed[shown] = "a symbolic link: not followed; copy the file itself into the inbox"
            elif not stat.S_ISREG(path.lstat().st_mode):
                scan.failed[shown] = "not a regular file (a pipe, socket or device): it cannot be an invoice"
            else:
                found.append((path, shown))
    return found


def take_inbox(workspace: Workspace, *, settle_seconds: float = 2.0, limit: int = 500,
               source: str = "inbox") -> InboxScan:
    """Take the settled files from the inbox folder (and its sub-folders) into the ledger, then remove them.

    A file modified within the last ``settle_seconds`` (or named like a partial download) is left for
    the next scan; so is one whose size changed while it was read. What cannot be taken at all
    (links, pipes, unreadable files) stays in the inbox and is listed in ``failed`` with the reason.
    """
    workspace.prepare()
    scan = InboxScan()
    lock = open(workspace.root / ".inbox.lock", "a+")  # noqa: SIM115 - held for the whole scan
    # One scan at a time (the sensor and a processing run may both look): otherwise both would take the
    # same file, and the second would be recorded as a duplicate submission of a file sent only once.
    fcntl.flock(lock, fcntl.LOCK_EX)
    ledger = Ledger(workspace.ledger_path)
    try:
        for path, shown in _inbox_files(workspace.inbox, scan):
            if len(scan.taken) >= limit:
                break
            try:
                before = path.stat()
                if _being_written(path, settle_seconds, time.time()):
                    scan.still_writing.append(shown)
                    continue
                data = path.read_bytes()
                after = path.stat()
                if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or len(data) != after.st_size:
                    scan.still_writing.append(shown)
                    continue
                result = receive(workspace, data, shown, source, ledger)
                path.unlink()  # only now: the bytes are stored and the ledger entry is committed
                scan.taken.append(result)
                if path.parent != workspace.inbox:
                    with contextlib.suppress(OSError):  # a sub-folder goes once it is empty
                        path.parent.rmdir()
            except FileNotFoundError:
                continue  # taken by a concurrent scan, which registered it
            except (OSError, sqlite3.Error) as exc:  # left in the inbox: the next scan tries again
                scan.failed[shown] = f"{type(exc).__name__}: {exc}"
    finally:
        ledger.close()
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    return scan
