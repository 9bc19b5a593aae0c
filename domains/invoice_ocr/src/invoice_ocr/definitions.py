"""The invoice_ocr Dagster code location."""

from __future__ import annotations

from inloop.orchestration import domain_definitions
from invoice_ocr.defs.assets import supplier_master, synthetic_invoices
from invoice_ocr.defs.checks import concern_checks
from invoice_ocr.defs.jobs import catch_up_schedule, process_invoices_job
from invoice_ocr.defs.processing import processed_invoices
from invoice_ocr.defs.sensors import invoice_inbox_sensor

defs = domain_definitions(
    "invoice_ocr",
    assets=[supplier_master, synthetic_invoices, processed_invoices],
    asset_checks=concern_checks(),
    jobs=[process_invoices_job],
    schedules=[catch_up_schedule],
    sensors=[invoice_inbox_sensor],
)
