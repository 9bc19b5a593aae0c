"""Concurrent processing workers: N processes claim invoices from one ledger, safely, and stop cleanly.

Each worker is :class:`~invoice_ocr.lib.pipeline.InvoiceProcessor` in its own process. The ledger
hands every invoice to exactly one worker (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN
IMMEDIATE`` on SQLite). A claim is a lease that the worker's heartbeat thread renews while it reads
and books; a worker that dies (SIGKILL, OOM, a lost machine) stops renewing, and the next claim
after its lease runs out takes the invoice over (on the same machine at once: its process is gone).
Booking is ``INSERT ... ON CONFLICT (invoice_key) DO NOTHING`` in the ERP, so a takeover between the
ERP booking and the ledger update books nothing twice.

:func:`supervise` runs N workers as child processes and replaces one that died; on SIGTERM or
SIGINT it asks every worker to stop (each finishes the invoices it holds), and kills those that do
not stop within the grace period. Handlers are installed explicitly, because a process started in
the background may inherit an *ignored* SIGTERM.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

from invoice_ocr.lib.pipeline import InvoiceProcessor, ProcessingConfig, RunSummary
from invoice_ocr.lib.workspace import Workspace

__all__ = ["Heartbeat", "StopFlag", "WorkerReport", "run_worker", "supervise", "worker_command"]

log = logging.getLogger(__name__)


class StopFlag:
    """Set by SIGTERM/SIGINT (or by hand); the worker stops between batches."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self, *_: object) -> None:
        self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)

    def install(self, signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT)) -> StopFlag:
        for sig in signals:
            signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._event.set()


class Heartbeat(threading.Thread):
    """Renews the leases of the invoices a processor holds, every ``lease_seconds / 3``."""

    def __init__(self, workspace: Workspace, held: Callable[[], set[int]], lease_seconds: float) -> None:
        super().__init__(name="ledger-heartbeat", daemon=True)
        self.workspace, self.held, self.lease_seconds = workspace, held, lease_seconds
        self._stop = threading.Event()
        self.beats = 0
        self.failures = 0

    def run(self) -> None:
        ledger = None
        while not self._stop.wait(self.lease_seconds / 3):
            ids = set(self.held())
            if not ids:
                continue
            try:
                ledger = ledger or self.workspace.ledger()
                ledger.renew_leases(ids, self.lease_seconds)
                self.beats += 1
            except Exception as exc:  # the database may be restarting: the next beat tries again
                self.failures += 1
                log.warning("heartbeat failed (%s); retrying", exc)
                if ledger is not None:
                    ledger.close()
                    ledger = None
        if ledger is not None:
            ledger.close()

    def stop(self) -> None:
        self._stop.set()


@dataclass
class WorkerReport:
    processed: int = 0
    booked: int = 0
    needs_review: int = 0
    resumed: int = 0
    claims_lost: int = 0
    database_outages: int = 0
    runs: int = 0
    summaries: list[RunSummary] = field(default_factory=list)


def run_worker(workspace: Workspace, config: ProcessingConfig, *, stop: Callable[[], bool],
               until_idle: bool = False, poll_seconds: float = 2.0,
               make_processor: Callable[[Workspace, ProcessingConfig], InvoiceProcessor] | None = None,
               outage_wait_seconds: float = 2.0) -> WorkerReport:
    """One worker: claim, process, repeat until ``stop()`` (or, with ``until_idle``, until nothing is pending).

    A database outage (PostgreSQL restarting) ends the current run with an error; the worker waits and
    starts again, and the invoices it held are taken over or resumed by lease, never lost.
    """
    report = WorkerReport()
    processor = (make_processor or (lambda ws, cfg: InvoiceProcessor(ws, config=cfg)))(workspace, config)
    beat = Heartbeat(workspace, lambda: set(processor.held), config.lease_seconds)
    beat.start()
    waiter = stop if isinstance(stop, StopFlag) else None
    release = False
    try:
        while not stop():
            try:
                if release:  # after an outage: what this worker held goes back to be claimed (by it or another)
                    with workspace.ledger() as ledger:
                        ledger.release_claims()
                    release = False
                summary = processor.run(should_stop=stop)
            except Exception as exc:
                if not _is_database_error(exc):
                    raise
                report.database_outages += 1
                processor.held.clear()
                release = True
                log.warning("database unavailable (%s); waiting %.0f s", exc.__class__.__name__, outage_wait_seconds)
                _sleep(waiter, outage_wait_seconds)
                continue
            report.runs += 1
            report.summaries.append(summary)
            report.processed += summary.processed
            report.booked += summary.booked
            report.needs_review += summary.needs_review
            report.resumed += summary.resumed
            report.claims_lost += summary.claims_lost
            if summary.processed == 0:
                if until_idle:
                    break
                _sleep(waiter, poll_seconds)
    finally:
        beat.stop()
    return report


def _sleep(flag: StopFlag | None, seconds: float) -> None:
    if flag is not None:
        flag.wait(seconds)
    else:
        time.sleep(seconds)


def _is_database_error(exc: BaseException) -> bool:
    import sqlalchemy as sa

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sa.exc.OperationalError | sa.exc.InterfaceError):
            return True
        if isinstance(seen, sa.exc.DBAPIError) and seen.connection_invalidated:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def supervise(worker_command: list[str], workers: int, *, until_idle: bool, stop: StopFlag,
              grace_seconds: float = 30.0, echo: Callable[[str], None] = print,
              env: dict[str, str] | None = None) -> dict[str, int]:
    """Run ``workers`` copies of ``worker_command`` and keep that many alive until they finish or ``stop``.

    A worker that exits 0 has finished (idle, with ``until_idle``); one that dies otherwise is replaced.
    Returns counts: started, replaced, finished, killed.
    """
    counts = {"started": 0, "replaced": 0, "finished": 0, "killed": 0}
    procs: dict[int, subprocess.Popen[bytes]] = {}

    def start(slot: int) -> None:
        procs[slot] = subprocess.Popen(worker_command, env=env, preexec_fn=_ignore_sigterm)
        counts["started"] += 1
        echo(f"worker {slot} started (pid {procs[slot].pid})")

    for slot in range(workers):
        start(slot)
    while procs and not stop():
        for slot, proc in list(procs.items()):
            code = proc.poll()
            if code is None:
                continue
            del procs[slot]
            if code == 0 and until_idle:
                counts["finished"] += 1
                echo(f"worker {slot} finished (pid {proc.pid})")
            elif not stop():
                counts["replaced"] += 1
                echo(f"worker {slot} (pid {proc.pid}) ended with {code}; starting a replacement")
                start(slot)
        stop.wait(0.2)
    # Ask every worker to stop, again each second: one still starting has no handler yet (it starts with
    # SIGTERM ignored, so an early request is lost rather than killing it mid-write).
    deadline = time.monotonic() + grace_seconds
    while any(p.poll() is None for p in procs.values()) and time.monotonic() < deadline:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, min(1.0, deadline - time.monotonic())))
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            counts["killed"] += 1
    return counts


def _ignore_sigterm() -> None:
    """In a new worker, until it installs its own handler (:meth:`StopFlag.install`)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def worker_command(root: str | None, config: ProcessingConfig, *, until_idle: bool, poll_seconds: float) -> list[str]:
    """The command line of one worker process (``python -m invoice_ocr work --workers 1 ...``)."""
    cmd = [sys.executable, "-m", "invoice_ocr", "work", "--workers", "1", "--batch-size", str(config.batch_size),
           "--lease-seconds", str(config.lease_seconds), "--poll-seconds", str(poll_seconds),
           "--erp-attempts", str(config.erp_attempts), "--erp-wait-s", str(config.erp_wait_initial_s)]
    if root:
        cmd += ["--root", root]
    if until_idle:
        cmd.append("--until-idle")
    return cmd

