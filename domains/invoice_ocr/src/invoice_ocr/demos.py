"""Worst-case demos of invoice_ocr (``inloop demo run invoice_ocr:<id>``).

Each demo builds its own small installation (inbox, store, ledger, ERP) under the domain's data
folder, pushes a bad case through the real intake, OCR, validation, booking and review code, and
claims what the accounts-payable team was promised: nothing lost, nothing booked twice, every
failure visible in the review queue with a reason.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from inloop.alerts import list_alerts, route_pending_alerts
from inloop.demos import Demo, DemoTrace
from invoice_ocr.lib.bad_inputs import make_bad_file
from invoice_ocr.lib.clerk_notifications import REVIEW_CONCERN as REVIEW_ROUTE_CONCERN
from invoice_ocr.lib.clerk_notifications import clerk_action, notify_clerks, review_routes
from invoice_ocr.lib.dataset import write_invoice, write_supplier_master
from invoice_ocr.lib.intake import receive, take_inbox
from invoice_ocr.lib.monitoring import double_bookings, reconcile
from invoice_ocr.lib.pipeline import InvoiceProcessor, ProcessingConfig
from invoice_ocr.lib.review import ReviewService
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.workspace import Workspace

__all__ = ["DEMOS", "demo_workspace"]

#: Quick retries so a demo shows the backoff without making the audience wait.
_DEMO_RETRY = ProcessingConfig(erp_attempts=3, erp_wait_initial_s=0.2, erp_wait_max_s=1.0)


def demo_workspace(demo_id: str, invoices: int = 0, *, seed: int = 4242) -> tuple[Workspace, list[Path]]:
    """A fresh installation for one demo run, with a supplier master and ``invoices`` clean scans."""
    root = Workspace.default().root / "demos" / f"{demo_id}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}"
    workspace = Workspace(root).prepare()
    suppliers = generate_suppliers(12, seed=seed)
    write_supplier_master(suppliers, workspace.supplier_master_path)
    scans = [write_invoice(i, suppliers, workspace.synthetic_dir, seed=seed).path for i in range(1, invoices + 1)]
    return workspace, scans


def _accounted(trace: DemoTrace, workspace: Workspace) -> None:
    recon = reconcile(workspace)
    trace.step("check", "reconciliation", f"received {recon.received} = booked {recon.booked} + in review "
               f"{recon.in_review} + rejected {recon.rejected_with_notice} + in flight {recon.in_flight}",
               **recon.to_dict())
    trace.claim(recon.gap == 0, "reconciliation gap is 0: every received file is accounted for", gap=recon.gap)
    dupes = double_bookings(workspace)
    trace.claim(not dupes, "no invoice key is booked twice in the ERP", duplicates=dupes)


def _clerk_notified(trace: DemoTrace, workspace: Workspace, expected: dict[str, int]) -> dict[str, int | None]:
    """Notify the clerk on duty (one notification per review reason), deliver it, and claim it arrived."""
    notices = {n.reason_kind: n for n in notify_clerks(workspace)}
    deliveries = route_pending_alerts("invoice_ocr")
    delivered = {(d.alert_id, d.route) for d in deliveries if d.ok}
    routes = review_routes()
    for kind, notice in notices.items():
        trace.step("notify", f"clerk notified: {len(notice.invoice_ids)} invoice(s) in review for {kind}",
                   f"alert #{notice.alert_id} via {', '.join(routes)}; to do: {clerk_action(kind)}",
                   alert_id=notice.alert_id, invoices=notice.invoice_ids)
    open_alerts = {a.id: a for a in list_alerts("invoice_ocr", status="open", limit=1000)}
    for kind, count in expected.items():
        notice = notices.get(kind)
        alert = open_alerts.get(notice.alert_id) if notice and notice.alert_id else None
        trace.claim(alert is not None and len(notice.invoice_ids) == count and alert.routes == routes
                    and all((alert.id, r) in delivered for r in routes if r != "webhook"),
                    f"one notification for '{kind}' names the {count} invoice(s) waiting and reached the clerk "
                    f"({', '.join(routes)}, as the card routes {REVIEW_ROUTE_CONCERN})",
                    alert_id=alert.id if alert else None)
    return {kind: n.alert_id for kind, n in notices.items()}


def _notification_resolved(trace: DemoTrace, alert_id: int | None, why: str) -> None:
    resolved = {a.id for a in list_alerts("invoice_ocr", status="resolved", limit=1000)}
    trace.claim(alert_id is not None and alert_id in resolved, f"the notification is resolved: {why}",
                alert_id=alert_id)


def _corrupted_file(trace: DemoTrace) -> None:
    workspace, scans = demo_workspace("corrupted-file", 2)
    good, damaged_source = scans
    data = damaged_source.read_bytes()
    (workspace.inbox / good.name).write_bytes(good.read_bytes())
    (workspace.inbox / "scan-0815.png").write_bytes(data[: len(data) // 3])  # the scanner died mid-transfer
    (workspace.inbox / "empty-attachment.pdf").write_bytes(b"")
    old = time.time() - 10
    for path in workspace.inbox.iterdir():
        os.utime(path, (old, old))
    trace.step("input", "three files arrive in the inbox", "a clean invoice, a scan cut off after a third of its "
               "bytes, and an e-mail attachment of 0 bytes")
    scan = take_inbox(workspace)
    trace.step("action", "intake registers every file before anything else",
               f"{len(scan.taken)} ledger entries; inbox now holds {len(list(workspace.inbox.iterdir()))} files")
    trace.claim(len(scan.new) == 3, "all three files are in the ledger and in content-addressed storage")
    summary = InvoiceProcessor(workspace).run()
    trace.step("action", "processing (OCR, extraction, validation, booking)",
               f"booked {summary.booked}, sent to review {summary.needs_review}", reasons=summary.review_reasons)
    queue = ReviewService(workspace).queue()
    for item in queue:
        trace.step("fallback", f"review queue: {item.original_name}", f"{item.reason_kind}: {item.reason}")
    alerts = _clerk_notified(trace, workspace, {"truncated": 1, "empty_file": 1})
    kinds = {item.original_name: item.reason_kind for item in queue}
    trace.claim(kinds.get("scan-0815.png") == "truncated", "the truncated scan is in review as 'truncated'")
    trace.claim(kinds.get("empty-attachment.pdf") == "empty_file", "the empty attachment is in review as 'empty_file'")
    trace.claim(summary.booked == 1, "the clean invoice was booked without a person")
    rejected = ReviewService(workspace).reject(next(i.invoice_id for i in queue if i.original_name == "scan-0815.png"),
                                               "demo clerk", "Your invoice arrived damaged; please send it again.")
    trace.step("result", "the clerk rejects the damaged scan with a notice to the supplier", rejected.notice or "")
    _notification_resolved(trace, alerts.get("truncated"), "no truncated scan is waiting any more")
    _accounted(trace, workspace)


def _erp_down(trace: DemoTrace) -> None:
    workspace, scans = demo_workspace("erp-down", 2)
    erp = workspace.erp()
    erp.set_available(False, "ERP maintenance window")
    trace.step("input", "the ERP goes into maintenance", "bookings are refused until it comes back")
    for scan in scans:
        receive(workspace, scan.read_bytes(), scan.name, "demo")
    trace.step("input", f"{len(scans)} invoices arrive and are registered in the ledger")
    first = InvoiceProcessor(workspace, config=_DEMO_RETRY).run()
    trace.step("fallback", "booking retried with exponential backoff, then parked; the run's later bookings try "
               "once each without waiting (the back-off is paid once per run, not per invoice)",
               f"{first.erp_retries} retries; {first.needs_review} invoice(s) parked in review as 'erp_unavailable'",
               reasons=first.review_reasons)
    trace.claim(first.erp_retries == _DEMO_RETRY.erp_attempts - 1,
                "the first booking was retried with back-off, the others were not made to wait again")
    trace.claim(first.review_reasons.get("erp_unavailable") == len(scans), "every invoice is parked with the reason, none lost")
    alerts = _clerk_notified(trace, workspace, {"erp_unavailable": len(scans)})
    _accounted(trace, workspace)
    erp.set_available(True)
    trace.step("action", "the ERP is back; the next run (sensor or the 30-minute catch-up schedule) starts")
    second = InvoiceProcessor(workspace, config=_DEMO_RETRY).run()
    trace.step("result", "catch-up", f"{second.requeued} invoice(s) retried automatically, {second.booked} booked")
    trace.claim(second.booked == len(scans), "all parked invoices were booked after the ERP came back")
    notify_clerks(workspace)
    _notification_resolved(trace, alerts.get("erp_unavailable"), "every parked invoice was booked")
    with workspace.ledger() as ledger:
        trace.claim(ledger.counts()["booked"] == len(scans), "the ledger shows every invoice booked")
    _accounted(trace, workspace)


def _crash_mid_batch(trace: DemoTrace) -> None:
    workspace, scans = demo_workspace("crash-mid-batch", 4)
    for scan in scans:
        receive(workspace, scan.read_bytes(), scan.name, "demo")
    trace.step("input", f"a batch of {len(scans)} invoices is registered")
    cmd = [sys.executable, "-m", "invoice_ocr", "process", "--root", str(workspace.root)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 240
    booked = 0
    while time.time() < deadline and proc.poll() is None:
        with workspace.ledger() as ledger:
            booked = ledger.counts()["booked"]
        if booked >= 1:
            break
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with workspace.ledger() as ledger:
        counts = ledger.counts()
    trace.step("action", "the processing process is killed with SIGKILL in the middle of the batch",
               f"after {booked} booking(s); ledger now: {counts}", **counts)
    trace.claim(reconcile(workspace).gap == 0, "even right after the kill, every invoice is accounted for "
                "(in flight counts)")
    restart = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    trace.step("action", "the process is restarted", restart.stdout.strip().splitlines()[-1] if restart.stdout else "")
    trace.claim(restart.returncode == 0, "the restarted run finished")
    with workspace.ledger() as ledger:
        final = ledger.counts()
        resumed = [e for e in ledger.entries() if any("resumed" in ev["detail"] for ev in ledger.events(e.id))]
    trace.step("result", "after the restart", f"{final}", **final)
    trace.claim(final["received"] == 0 and final["processing"] == 0, "nothing is left in flight")
    trace.claim(final["booked"] + final["needs_review"] == len(scans), "every invoice ended booked or in review")
    trace.step("info", "resumed invoices", ", ".join(f"#{e.id}" for e in resumed) or "none (the kill hit between two invoices)")
    _accounted(trace, workspace)


def _sent_twice(trace: DemoTrace) -> None:
    workspace, scans = demo_workspace("sent-twice", 1)
    scan = scans[0]
    first = receive(workspace, scan.read_bytes(), "invoice-by-mail.pdf", "demo")
    again = receive(workspace, scan.read_bytes(), "invoice-by-mail (1).pdf", "demo")
    trace.step("input", "the same file arrives twice (e-mail sent again)",
               f"first: ledger #{first.invoice_id}; second: duplicate={again.duplicate}")
    trace.claim(again.duplicate and again.invoice_id == first.invoice_id,
                "the same bytes are one invoice plus a recorded duplicate submission")
    InvoiceProcessor(workspace).run()
    suppliers = generate_suppliers(12, seed=4242)
    rescan = write_invoice(1, suppliers, workspace.root / "rescans", seed=4242, scan_variant=1)
    trace.step("input", "a paper copy of the same invoice is scanned later (different bytes, same invoice)")
    receive(workspace, rescan.path.read_bytes(), "scan-paper-copy.png", "demo")
    InvoiceProcessor(workspace).run()
    queue = ReviewService(workspace).queue()
    for item in queue:
        trace.step("fallback", f"review queue: {item.original_name}", f"{item.reason_kind}: {item.reason}")
    trace.claim(any(i.reason_kind == "duplicate_invoice" for i in queue), "the re-scan is caught before booking")
    _clerk_notified(trace, workspace, {"duplicate_invoice": 1})
    bookings = workspace.erp().bookings()
    trace.claim(len(bookings) == 1, "the ERP holds exactly one booking for the invoice", bookings=len(bookings))
    with workspace.ledger() as ledger:
        trace.claim(sum(s["duplicate"] for s in ledger.submissions()) == 1, "the duplicate submission is recorded")
    _accounted(trace, workspace)


def _changed_bank_details(trace: DemoTrace) -> None:
    workspace, scans = demo_workspace("changed-bank-details", 1)
    suppliers = generate_suppliers(12, seed=4242)
    forged = make_bad_file("iban_not_in_master", 1, suppliers, workspace.root / "incoming", seed=4242)
    trace.step("input", "an invoice from a known supplier asks for payment into a different bank account",
               "the IBAN is valid (its check digits are right) but it is not the one in the supplier master")
    receive(workspace, forged.read_bytes(), "invoice-new-bank-details.png", "demo")
    summary = InvoiceProcessor(workspace).run()
    trace.step("check", "booking rules (Great Expectations suite on the extracted batch)",
               f"booked {summary.booked}, sent to review {summary.needs_review}", reasons=summary.review_reasons)
    [item] = ReviewService(workspace).queue() or [None]
    if item is not None:
        trace.step("fallback", "review queue", f"{item.reason_kind}: {item.reason}")
    trace.claim(summary.booked == 0, "the invoice was not booked (so it cannot be paid) into the unknown account")
    trace.claim(item is not None and "IBAN differs from the supplier master" in (item.reason or ""),
                "the clerk sees why: the IBAN differs from the supplier master")
    _clerk_notified(trace, workspace, {"validation_failed": 1})
    trace.step("info", "treasury confirms bank-detail changes with the supplier by phone before the master is changed")
    _accounted(trace, workspace)


DEMOS: dict[str, Demo] = {
    "corrupted-file": Demo("corrupted-file", "A corrupted file and an empty attachment arrive",
                           "A scan cut off mid-transfer and a 0-byte attachment: both are registered, neither is "
                           "lost, both wait in the review queue with the reason, the clean invoice is booked.",
                           _corrupted_file, ("never-lose-an-invoice", "field-accuracy")),
    "erp-down": Demo("erp-down", "The ERP is down while invoices arrive",
                     "Bookings fail, are retried with backoff, then parked with the reason; when the ERP is back "
                     "the next run books them all. Nothing lost, nothing booked twice.",
                     _erp_down, ("never-lose-an-invoice", "no-stuck-invoice")),
    "crash-mid-batch": Demo("crash-mid-batch", "The processing process is killed mid-batch",
                            "SIGKILL in the middle of a batch; the restarted process takes over the dead worker's "
                            "invoices and finishes. Nothing lost, nothing booked twice.",
                            _crash_mid_batch, ("never-lose-an-invoice", "no-double-booking")),
    "sent-twice": Demo("sent-twice", "The same invoice is sent twice, and scanned again on paper",
                       "Same bytes twice: one invoice and a recorded duplicate submission. A re-scan of the booked "
                       "invoice: caught before booking, in review as a duplicate.",
                       _sent_twice, ("no-double-booking",)),
    "changed-bank-details": Demo("changed-bank-details", "An invoice asks for payment into another bank account",
                                 "A valid IBAN that is not the supplier's: the invoice is held in review with the "
                                 "reason instead of being booked for payment.",
                                 _changed_bank_details, ("supplier-master-valid",)),
}
