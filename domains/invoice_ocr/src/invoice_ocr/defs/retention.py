"""The daily retention sweep: finished invoices older than the card's period lose their content."""

# No "from __future__ import annotations": Dagster reads the context type from the real annotation.

import dagster as dg

from invoice_ocr.defs.resources import InvoiceWorkspace
from invoice_ocr.lib.retention import sweep_retention

__all__ = ["retention_schedule", "retention_sweep_job"]


@dg.op(name="invoice_retention_sweep")
def retention_sweep_op(context: dg.OpExecutionContext, invoice_workspace: InvoiceWorkspace) -> dict:
    """Erase the stored file, the read fields and the ERP bank details of invoices past retention."""
    receipt = sweep_retention(invoice_workspace.get())
    # Counts and ids only: the receipt holds no names or bank details, so the event log stays clean.
    context.log.info(f"retention ({receipt.period_days} days): {len(receipt.expired)} invoice(s) erased; "
                     f"{receipt.kept_undecided} past the period kept because nobody decided them yet")
    for store in receipt.stores:
        context.log.info(f"{store.store}: {store.action} {store.removed}")
    return {"expired": receipt.expired, "kept_undecided": receipt.kept_undecided}


@dg.job(name="invoice_retention", description="Erase the content of invoices past the card's retention period.")
def retention_sweep_job() -> None:
    retention_sweep_op()


retention_schedule = dg.ScheduleDefinition(
    name="invoice_retention_daily",
    job=retention_sweep_job,
    cron_schedule="30 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily at 03:30: the retention sweep (period from the project card's retention section).",
)
