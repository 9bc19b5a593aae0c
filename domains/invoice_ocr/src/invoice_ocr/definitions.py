"""The invoice_ocr Dagster code location."""

from __future__ import annotations

from inloop.orchestration import domain_definitions

from invoice_ocr.defs.assets import supplier_master, synthetic_invoices
from invoice_ocr.defs.checks import concern_checks

defs = domain_definitions(
    "invoice_ocr",
    assets=[supplier_master, synthetic_invoices],
    asset_checks=concern_checks(),
)
