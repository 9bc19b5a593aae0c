"""Jobs and schedules."""

from __future__ import annotations

import dagster as dg

__all__ = ["catch_up_schedule", "process_invoices_job"]

process_invoices_job = dg.define_asset_job(
    "process_invoices",
    selection=dg.AssetSelection.assets(dg.AssetKey(["invoice_ocr", "processed_invoices"])),
    description="Process every pending invoice in the ledger, then run the never-lose-an-invoice checks.",
)

catch_up_schedule = dg.ScheduleDefinition(
    name="invoice_catch_up",
    job=process_invoices_job,
    cron_schedule="*/30 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 30 minutes: retry invoices parked by a transient failure (ERP down) and re-run the "
                "concern checks, so a stuck invoice alerts even when no new file arrives.",
)
