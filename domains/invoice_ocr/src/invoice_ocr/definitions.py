"""The invoice_ocr Dagster code location."""

from __future__ import annotations

import dagster as dg

from inloop.orchestration import domain_definitions
from invoice_ocr.defs.assets import supplier_master, synthetic_invoices
from invoice_ocr.defs.checks import concern_checks
from invoice_ocr.defs.jobs import catch_up_schedule, process_invoices_job
from invoice_ocr.defs.offline_online import (
    evaluation_figures_hold_live,
    policy_offline_online,
    policy_watch_job,
    policy_watch_schedule,
    review_policy_shadow,
)
from invoice_ocr.defs.processing import processed_invoices
from invoice_ocr.defs.resources import INVOICE_WORKSPACE, InvoiceWorkspace
from invoice_ocr.defs.retention import retention_schedule, retention_sweep_job
from invoice_ocr.defs.sensors import invoice_inbox_sensor

# What `inloop up` runs once on a fresh machine: the demo invoices are made, dropped into the
# inbox and processed, so every page opens on real results. In one process: a few steps do not
# pay for a process each.
first_run = dg.define_asset_job("first_run", selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor,
                                description="First start: supplier master, demo invoices into the inbox, processing.")

defs = domain_definitions(
    "invoice_ocr",
    assets=[supplier_master, synthetic_invoices, processed_invoices, policy_offline_online, review_policy_shadow],
    asset_checks=[*concern_checks(), evaluation_figures_hold_live],
    jobs=[process_invoices_job, first_run, retention_sweep_job, policy_watch_job],
    schedules=[catch_up_schedule, retention_schedule, policy_watch_schedule],
    sensors=[invoice_inbox_sensor],
    # The platform's resources (data directory, database, MLflow) are bound by domain_definitions.
    resources={INVOICE_WORKSPACE: InvoiceWorkspace()},
)
