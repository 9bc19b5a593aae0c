"""Processing: ledger -> reading (e-invoice, text layer or OCR) -> field extraction -> GX validation -> idempotent booking, a defined path for every failure.

Every claimed invoice leaves this module in exactly one of ``booked`` or ``needs_review`` (with a
reason a clerk can act on). Transient ERP failures are retried with exponential backoff (tenacity),
then parked in review with reason kind ``erp_unavailable`` and automatically retried at the start of
the next run. The back-off is paid once per run: once the ERP was found down, the run's later bookings
try it once each, without waiting (an outage does not cost the back-off per invoice). A process
killed at any point leaves its invoice in ``processing``; the next run takes it over (the dead
worker's claim is detected), and booking by invoice key makes the resumed booking land exactly once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from invoice_ocr.lib.erp import Booking, ErpClient, ErpUnavailable, invoice_key
from invoice_ocr.lib.extract import EXTRACTOR_VERSION, Extracted
from invoice_ocr.lib.ledger import Ledger, LedgerEntry, TransitionError, worker_id
from invoice_ocr.lib.ocr import OcrEngine, UnreadableFile
from invoice_ocr.lib.policy import ReviewPolicy, load_policy
from invoice_ocr.lib.reading import read_invoice
from invoice_ocr.lib.supplier_onboarding import load_suppliers
from invoice_ocr.lib.validate import validate_batch
from invoice_ocr.lib.workspace import Workspace

__all__ = ["InvoiceProcessor", "ProcessingConfig", "RunSummary", "load_suppliers"]


@dataclass(frozen=True)
class ProcessingConfig:
    erp_attempts: int = 4
    erp_wait_initial_s: float = 1.0
    erp_wait_max_s: float = 30.0
    lease_seconds: float = 600.0
    max_attempts: int = 3
    batch_size: int = 8


@dataclass
class RunSummary:
    processed: int = 0
    booked: int = 0
    needs_review: int = 0
    resumed: int = 0
    requeued: int = 0
    review_reasons: dict[str, int] = field(default_factory=dict)
    erp_retries: int = 0
    seconds: float = 0.0
    ocr_seconds: float = 0.0
    pages: int = 0
    extractor_version: str = EXTRACTOR_VERSION
    #: The review policy served (its cut-off) and the fingerprint of policy + extractor + OCR engine.
    min_confidence: float | None = None
    fingerprint: str = ""
    gx: list[dict[str, Any]] = field(default_factory=list)
    #: Invoices per reading path (e-invoice, text-layer, ocr, unreadable).
    paths_taken: dict[str, int] = field(default_factory=dict)
    #: Claims this worker lost before it finished (its lease ran out and another worker took over).
    claims_lost: int = 0

    @property
    def stp_rate(self) -> float | None:
        return self.booked / self.processed if self.processed else None

    @property
    def invoices_per_minute(self) -> float | None:
        return 60 * self.processed / self.seconds if self.seconds > 0 and self.processed else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"stp_rate": self.stp_rate, "invoices_per_minute": self.invoices_per_minute}


@dataclass
class _Work:
    entry: LedgerEntry
    extracted: Extracted | None = None
    notes: list[str] = field(default_factory=list)
    path_taken: str | None = None
    doubts: list[str] = field(default_factory=list)


class InvoiceProcessor:
    """Processes the ledger's pending invoices in a workspace (one worker; several may run side by side)."""

    def __init__(self, workspace: Workspace, *, erp: ErpClient | None = None, engine: OcrEngine | None = None,
                 config: ProcessingConfig | None = None, today: dt.date | None = None) -> None:
        self.workspace = workspace.prepare()
        self.erp = erp or workspace.erp()
        self.engine = engine or OcrEngine()
        self.config = config or ProcessingConfig()
        self.today = today
        self.store = workspace.files()
        self.policy = ReviewPolicy()
        #: Set when the ERP stayed unavailable through a whole back-off in this run (cleared when it answers).
        self.erp_down: str | None = None
        #: The invoices this worker holds right now (its heartbeat renews their leases).
        self.held: set[int] = set()
        self._me = worker_id()

    def run(self, limit: int | None = None, on_step: Callable[[str, LedgerEntry], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> RunSummary:
        """Process until nothing is pending (or ``limit`` invoices, or ``should_stop()``); returns what happened.

        A stop is checked between batches: the invoices already claimed are finished first.
        """
        start = time.perf_counter()
        summary = RunSummary()
        self.erp_down = None
        suppliers = load_suppliers(self.workspace)
        self.policy = load_policy(self.workspace)
        summary.min_confidence, summary.fingerprint = self.policy.min_confidence, self.policy.fingerprint()
        with self.workspace.ledger() as ledger:
            summary.requeued = len(ledger.requeue_transient())
            while limit is None or summary.processed < limit:
                if should_stop is not None and should_stop():
                    break
                batch: list[_Work] = []
                while len(batch) < self.config.batch_size and (limit is None or summary.processed + len(batch) < limit):
                    entry = ledger.claim_next(self.config.lease_seconds, self.config.max_attempts)
                    if entry is None:
                        break
                    if entry.attempts > 1:
                        summary.resumed += 1
                    if on_step:
                        on_step("claimed", entry)
                    batch.append(_Work(entry))
                    self.held.add(entry.id)
                if not batch:
                    break
                try:
                    self._process_batch(ledger, batch, suppliers, summary, on_step)
                finally:
                    self.held.clear()
        summary.seconds = time.perf_counter() - start
        return summary

    # One batch --------------------------------------------------------------------------

    def _process_batch(self, ledger: Ledger, batch: list[_Work], suppliers: list[dict[str, Any]],
                       summary: RunSummary, on_step: Callable[[str, LedgerEntry], None] | None) -> None:
        readable = []
        for work in batch:
            try:
                work.extracted = self._read(work, suppliers, summary)
                readable.append(work)
            except UnreadableFile as exc:
                self._outcome(summary, self._to_review, ledger, work.entry, exc.kind, exc.message, summary, on_step)
        items = [{"invoice_id": w.entry.id, "fields": w.extracted.to_dict()} for w in readable if w.extracted]
        problems, gx_summary = validate_batch(items, suppliers, self.today, min_confidence=self.policy.min_confidence)
        summary.gx.append(gx_summary)
        for work in readable:
            assert work.extracted is not None
            fields = {"extracted": work.extracted.to_dict(), "notes": work.notes, "fingerprint": self.policy.fingerprint(),
                      "path_taken": work.path_taken, "language": work.extracted.language}
            values = work.extracted.values()
            if work.entry.id in problems or work.doubts:
                reasons = [*work.doubts, *problems.get(work.entry.id, [])]
                kind = "low_confidence" if all(r.startswith("low confidence") for r in reasons) else "validation_failed"
                if work.doubts and work.entry.id not in problems:
                    kind = "ambiguous_reading"
                self._outcome(summary, self._to_review, ledger, work.entry, kind, "; ".join(reasons), summary,
                              on_step, fields=fields, key=self._key(values))
                continue
            self._outcome(summary, self._book, ledger, work.entry, values, fields, summary, on_step)

    @staticmethod
    def _outcome(summary: RunSummary, step: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        """Record one invoice's outcome; a claim lost meanwhile is left to the worker that took it over."""
        try:
            step(*args, **kwargs)
        except TransitionError:
            summary.claims_lost += 1

    def _read(self, work: _Work, suppliers: list[dict[str, Any]], summary: RunSummary) -> Extracted:
        """Read in order of trust (e-invoice, text layer, OCR; :func:`~invoice_ocr.lib.reading.read_invoice`)."""
        try:
            data = self.store.get(work.entry.sha256)
        except OSError as exc:
            raise UnreadableFile("storage_damaged", f"the stored copy cannot be read ({exc})") from None
        reading = read_invoice(data, work.entry.original_name, suppliers=suppliers, engine=self.engine,
                               today=self.today, min_confidence=self.policy.min_confidence)
        summary.ocr_seconds += reading.ocr_seconds
        summary.pages += reading.pages
        summary.paths_taken[reading.path_taken] = summary.paths_taken.get(reading.path_taken, 0) + 1
        work.path_taken = reading.path_taken
        if reading.extracted is None:
            raise UnreadableFile(reading.error_kind or "unreadable", reading.error or "the file cannot be read")
        work.notes += reading.notes
        # Doubts the booking rules cannot see (an ambiguous day/month order, an e-invoice failing its schema).
        work.doubts = [r for r in reading.review_reasons
                       if r in reading.extracted.doubts or r.startswith("the e-invoice XML")]
        return reading.extracted

    @staticmethod
    def _key(values: dict[str, str | None]) -> str | None:
        if values.get("supplier_id") and values.get("invoice_number"):
            return invoice_key(str(values["supplier_id"]), str(values["invoice_number"]))
        return None

    # Outcomes ---------------------------------------------------------------------------

    def _to_review(self, ledger: Ledger, entry: LedgerEntry, kind: str, reason: str, summary: RunSummary,
                   on_step: Callable[[str, LedgerEntry], None] | None, *, fields: dict[str, Any] | None = None,
                   key: str | None = None) -> None:
        values: dict[str, Any] = {"reason": reason, "reason_kind": kind, "extractor_version": EXTRACTOR_VERSION}
        if fields is not None:
            values["fields"] = fields
        if key is not None:
            values["invoice_key"] = key
        moved = ledger.transition(entry.id, "needs_review", expected_from=("processing",), held_by=self._me,
                                  **values)
        summary.processed += 1
        summary.needs_review += 1
        summary.review_reasons[kind] = summary.review_reasons.get(kind, 0) + 1
        if on_step:
            on_step("needs_review", moved)

    def _book(self, ledger: Ledger, entry: LedgerEntry, values: dict[str, str | None], fields: dict[str, Any],
              summary: RunSummary, on_step: Callable[[str, LedgerEntry], None] | None) -> None:
        key = self._key(values)
        assert key is not None  # validation guarantees supplier and number
        earlier = [e for e in ledger.booked_with_key(key) if e.id != entry.id]
        if earlier:
            self._to_review(ledger, entry, "duplicate_invoice", f"already booked: invoice {key} is ledger #"
                            f"{earlier[0].id} (ERP booking {earlier[0].erp_booking_id}); a re-scan or a reminder "
                            "copy? Reject with a notice or correct it", summary, on_step, fields=fields, key=key)
            return
        booking = Booking(invoice_key=key, ledger_invoice_id=entry.id, booked_by="machine",
                          **{k: str(values[k]) for k in ("supplier_id", "invoice_number", "invoice_date", "iban",
                                                         "currency", "net", "vat", "total")})
        try:
            result = self._book_with_retry(booking, summary)
        except ErpUnavailable as exc:
            self._to_review(ledger, entry, "erp_unavailable", f"ERP unavailable after {self.config.erp_attempts} "
                            f"attempts ({exc}); retried automatically at the next run", summary, on_step,
                            fields=fields, key=key)
            return
        if not result.created and result.ledger_invoice_id != entry.id:
            self._to_review(ledger, entry, "duplicate_invoice", f"the ERP already has invoice {key} (booking "
                            f"{result.erp_id}, ledger #{result.ledger_invoice_id}); not booked again", summary,
                            on_step, fields=fields, key=key)
            return
        detail = "booked" if result.created else "booking found in the ERP after a restart; not booked twice"
        moved = ledger.transition(entry.id, "booked", expected_from=("processing",), detail=detail, held_by=self._me,
                                  fields=fields, invoice_key=key, erp_booking_id=result.erp_id, booked_by="machine",
                                  reason=None, reason_kind=None, extractor_version=EXTRACTOR_VERSION)
        summary.processed += 1
        summary.booked += 1
        if on_step:
            on_step("booked", moved)

    def _book_with_retry(self, booking: Booking, summary: RunSummary):  # type: ignore[no-untyped-def]
        retrying = Retrying(
            stop=stop_after_attempt(1 if self.erp_down else self.config.erp_attempts),
            wait=wait_exponential(multiplier=self.config.erp_wait_initial_s, max=self.config.erp_wait_max_s),
            retry=retry_if_exception_type((ErpUnavailable, TimeoutError, ConnectionError)),
            reraise=True,
        )
        attempts = Counter[str]()
        try:
            for attempt in retrying:
                with attempt:
                    attempts["n"] += 1
                    result = self.erp.book(booking)
                    self.erp_down = None
                    return result
        except (ErpUnavailable, TimeoutError, ConnectionError) as exc:
            self.erp_down = str(exc)  # the rest of this run does not wait for it again
            raise
        except RetryError as exc:  # pragma: no cover - reraise=True re-raises the last error instead
            raise ErpUnavailable(str(exc)) from exc
        finally:
            summary.erp_retries += max(0, attempts["n"] - 1)
        raise AssertionError("unreachable")
