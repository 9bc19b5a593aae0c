"""The inbox sensor: takes settled files into the ledger (the intake) and asks for a processing run."""

# No "from __future__ import annotations": Dagster reads the resource parameter from the real annotation.

import dagster as dg

from inloop.alerts import raise_alert
from invoice_ocr.defs.jobs import process_invoices_job
from invoice_ocr.defs.resources import InvoiceWorkspace
from invoice_ocr.lib.intake import announce_refusals, take_inbox

__all__ = ["invoice_inbox_sensor"]


@dg.sensor(
    name="invoice_inbox_sensor",
    job=process_invoices_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Registers new files from the invoice inbox in the ledger (durably, before removing them) "
                "and requests a processing run for them.",
)
def invoice_inbox_sensor(context: dg.SensorEvaluationContext,
                         invoice_workspace: InvoiceWorkspace) -> dg.SensorResult | dg.SkipReason:
    workspace = invoice_workspace.get()
    scan = take_inbox(workspace, limit=300)
    for name in scan.refused_new:  # said once, when first seen; the grouped alert lists every one
        refusal = scan.refused[name]
        context.log.warning(f"inbox entry {name} refused at the door: {refusal.reason}; to do: {refusal.action}")
    announce_refusals(scan)
    for name, error in scan.failed.items():
        context.log.error(f"inbox file {name} could not be taken (left in the inbox, retried): {error}")
        # Grouped per file: a file that stays untakeable is one alert with a count, not one per tick.
        raise_alert(domain="invoice_ocr", concern_id="never-lose-an-invoice", source="intake",
                    cause_key=f"inbox:invoice_ocr:{name}", severity="ERROR",
                    title=f"A file in the invoice inbox cannot be taken: {name}",
                    message=f"{error}. It stays in the inbox until someone fixes it.",
                    routes=("console", "log"), evidence={"inbox_file": name})
    with workspace.ledger() as ledger:
        pending = ledger.entries("received")
    if not pending:
        note = f"{len(scan.taken)} duplicate submission(s) recorded; " if scan.taken else ""
        waiting = f"{len(scan.still_writing)} file(s) still being written; " if scan.still_writing else ""
        return dg.SkipReason(f"{note}{waiting}nothing to process")
    newest = max(e.id for e in pending)
    context.log.info(f"took {len(scan.taken)} file(s) ({len(scan.new)} new); {len(pending)} invoice(s) pending")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"ledger-{newest}",
                                                       tags={"invoice_ocr/pending": str(len(pending))})])
