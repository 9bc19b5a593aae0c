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

from sqlalchemy.exc import SQLAlchemyError

from invoice_ocr.lib.ledger import Ledger
from invoice_ocr.lib.workspace import Workspace

__all__ = ["REFUSED_ALERT_KEY", "InboxScan", "IntakeResult", "Refusal", "announce_refusals", "receive",
           "refusal_action", "take_inbox"]

#: Names that scanners, mail gateways and browsers use while a file is still being written.
_PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", "~")
#: A partial download untouched for this long will not finish: it is refused instead of waited for.
STALE_PARTIAL_SECONDS = 3600.0
#: The one grouped alert that lists every file refused at the door (resolved when the inbox is clean).
REFUSED_ALERT_KEY = "inbox-refused:invoice_ocr"


@dataclass(frozen=True)
class IntakeResult:
    invoice_id: int
    sha256: str
    original_name: str
    size: int
    duplicate: bool
    #: Where the bytes are: a path, or an s3:// URL.
    stored_path: str


@dataclass(frozen=True)
class Refusal:
    """An inbox entry the intake will never take as an invoice, why, and what a person should do."""

    kind: str  # symlink, folder_link, hidden_file, hidden_folder, not_a_file, stale_partial
    reason: str
    action: str


_ACTIONS = {
    "symlink": "copy the file itself into the inbox and delete the link",
    "folder_link": "copy the files themselves into the inbox and delete the link",
    "hidden_file": "rename it without the leading dot if it is an invoice, otherwise delete it",
    "hidden_folder": "move the invoices out of the hidden folder into the inbox, then delete the folder",
    "not_a_file": "remove it from the inbox (a pipe, socket or device is never an invoice)",
    "stale_partial": "send the file again in full (or rename it if it is complete), then delete the partial one",
}


def refusal_action(kind: str) -> str:
    """What a person should do about an entry refused at the door of this kind."""
    return _ACTIONS.get(kind, "look at it and remove it from the inbox")


def _refusal(kind: str, reason: str) -> Refusal:
    return Refusal(kind, reason, _ACTIONS[kind])


@dataclass
class InboxScan:
    taken: list[IntakeResult] = field(default_factory=list)
    still_writing: list[str] = field(default_factory=list)
    #: Transient failures (a read or ledger error): left in the inbox and tried again next scan.
    failed: dict[str, str] = field(default_factory=dict)
    #: Every entry refused at the door that is in the inbox now (never received as an invoice).
    refused: dict[str, Refusal] = field(default_factory=dict)
    #: The refused entries this scan saw for the first time (announced once; the rest are known).
    refused_new: list[str] = field(default_factory=list)

    @property
    def new(self) -> list[IntakeResult]:
        return [r for r in self.taken if not r.duplicate]


def receive(workspace: Workspace, data: bytes, original_name: str, source: str,
            ledger: Ledger | None = None) -> IntakeResult:
    """Register one submitted file durably: store its bytes, then commit its ledger entry."""
    workspace.prepare()
    digest, stored = workspace.files().put(data)
    own = ledger is None
    ledger = ledger or workspace.ledger()
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


def _refused_file(path: Path, now: float) -> Refusal | None:
    """Why a non-folder inbox entry will never be taken, or None when it is (or may become) an invoice."""
    if path.is_symlink():
        return _refusal("symlink", "a symbolic link: not followed (it can point anywhere on this machine)")
    mode = path.lstat().st_mode
    if not stat.S_ISREG(mode):
        return _refusal("not_a_file", "not a regular file (a pipe, socket or device): it cannot be an invoice")
    # Scanners and atomic writers name a file being written ".name.tmp", "scan.part" or ".scanner-tmp":
    # such a file is waited for; only one left unchanged for an hour is refused (it will not finish).
    if now - path.lstat().st_mtime <= STALE_PARTIAL_SECONDS:
        return None
    hours = f"{STALE_PARTIAL_SECONDS / 3600:.0f} h"
    if path.name.lower().endswith(_PARTIAL_SUFFIXES):
        return _refusal("stale_partial", f"named like a partial download and unchanged for over {hours}: "
                        "the transfer did not finish")
    if path.name.startswith("."):
        return _refusal("hidden_file", f"a hidden file (its name starts with a dot), unchanged for over {hours}: "
                        "not taken as an invoice")
    return None


def _inbox_files(inbox: Path, scan: InboxScan, now: float) -> list[tuple[Path, str]]:
    """Every regular file in the inbox and its sub-folders, oldest name first; the rest is refused.

    Symbolic links are not followed (a link can point anywhere on this machine, and reading a
    FIFO or device would hang the intake), hidden files and folders are not taken: each is put in
    ``scan.refused`` with its reason and left where it is, so nothing in the inbox is skipped silently.
    """
    found: list[tuple[Path, str]] = []
    for folder, dirs, files in os.walk(inbox, followlinks=False):
        base = Path(folder)
        keep = []
        for name in sorted(dirs):
            shown = _display_name((base / name).relative_to(inbox))
            if (base / name).is_symlink():
                scan.refused[shown] = _refusal("folder_link", "a symbolic link to a folder: not followed")
            elif name.startswith("."):
                scan.refused[shown] = _refusal("hidden_folder", "a hidden folder (its name starts with a dot): "
                                               "not looked into")
            else:
                keep.append(name)
        dirs[:] = keep
        for name in sorted(files):
            path = base / name
            shown = _display_name(path.relative_to(inbox))
            try:
                refusal = _refused_file(path, now)
            except FileNotFoundError:
                continue  # gone between the listing and the look (taken by a concurrent scan)
            if refusal is not None:
                scan.refused[shown] = refusal
            else:
                found.append((path, shown))
    return found


def announce_refusals(scan: InboxScan, *, db_url: str | None = None) -> int | None:
    """One grouped alert for the files refused at the door; resolved once none is left in the inbox.

    The alert is raised (or counted again) only when a scan finds a refusal it had not seen before,
    so a link left in the inbox is announced once, not at every scan. Returns the alert id, if open.
    """
    from inloop.alerts import raise_alert, resolve_alerts

    for name in scan.refused_new:
        # Before this grouping, such an entry was an ERROR alert of its own, counted at every scan.
        resolve_alerts(f"inbox:invoice_ocr:{name}", "refused at the door: listed in the grouped alert instead",
                       db_url=db_url)
    if not scan.refused:
        resolve_alerts(REFUSED_ALERT_KEY, "no file refused at the door is left in the inbox", db_url=db_url)
        return None
    if not scan.refused_new:
        return None
    lines = [f"- {name}: {r.reason}. To do: {r.action}." for name, r in sorted(scan.refused.items())]
    alert = raise_alert(
        domain="invoice_ocr", concern_id="never-lose-an-invoice", source="intake", cause_key=REFUSED_ALERT_KEY,
        severity="WARN", routes=("console", "log"), db_url=db_url,
        title=f"{len(scan.refused)} entr{'y' if len(scan.refused) == 1 else 'ies'} in the invoice inbox refused "
              "at the door",
        message="The intake will never take these as invoices; they stay in the inbox, untouched, and are not "
                "counted as received:\n" + "\n".join(lines),
        evidence={"refused": {name: {"kind": r.kind, "reason": r.reason, "action": r.action}
                              for name, r in sorted(scan.refused.items())}})
    return alert.id


def take_inbox(workspace: Workspace, *, settle_seconds: float = 2.0, limit: int = 500,
               source: str = "inbox") -> InboxScan:
    """Take the settled files from the inbox folder (and its sub-folders) into the ledger, then remove them.

    A file modified within the last ``settle_seconds`` (or named like a partial download) is left for
    the next scan; so is one whose size changed while it was read. What the intake will never take
    (links, hidden files and folders, pipes and devices, partial downloads that never finished) is
    refused at the door: left in the inbox, recorded once in the ledger's register of refusals with
    its reason, and listed in ``refused``. A transient error (an unreadable file, a busy ledger) is
    listed in ``failed`` and tried again at the next scan.
    """
    workspace.prepare()
    scan = InboxScan()
    lock = open(workspace.root / ".inbox.lock", "a+")  # noqa: SIM115 - held for the whole scan
    # One scan at a time (the sensor and a processing run may both look): otherwise both would take the
    # same file, and the second would be recorded as a duplicate submission of a file sent only once.
    fcntl.flock(lock, fcntl.LOCK_EX)
    ledger = workspace.ledger()
    try:
        for path, shown in _inbox_files(workspace.inbox, scan, time.time()):
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
            except (OSError, sqlite3.Error, SQLAlchemyError) as exc:  # left in the inbox: the next scan tries again
                scan.failed[shown] = f"{type(exc).__name__}: {exc}"
        scan.refused_new = ledger.note_refused({n: (r.kind, r.reason) for n, r in scan.refused.items()})
    finally:
        ledger.close()
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    return scan
