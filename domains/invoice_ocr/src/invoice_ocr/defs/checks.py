"""Concern checks: the card's concerns, enforced on the assets (measurement logic lives in ``lib``)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from inloop.cards import ProjectCard, load_card
from inloop.checks import Measurement, concern_check
from invoice_ocr.defs.assets import supplier_master
from invoice_ocr.defs.processing import processed_invoices
from invoice_ocr.defs.resources import INVOICE_WORKSPACE, InvoiceWorkspace
from invoice_ocr.domain import domain
from invoice_ocr.lib.monitoring import double_bookings, field_accuracy, reconcile, stp_rate, stuck_invoices
from invoice_ocr.lib.suppliers import supplier_problems
from invoice_ocr.lib.workspace import Workspace

__all__ = ["card", "concern_checks", "measure_double_bookings", "measure_field_accuracy", "measure_reconciliation",
           "measure_stp_rate", "measure_stuck", "measure_supplier_master"]


def card() -> ProjectCard:
    return load_card(domain.card_path)


def measure_supplier_master(records: list[dict[str, Any]]) -> Measurement:
    """Count supplier records the booking must not rely on (bad IBAN, VAT id or address)."""
    bad = {str(r.get("supplier_id") or f"row {i}"): supplier_problems(r) for i, r in enumerate(records)}
    bad = {k: v for k, v in bad.items() if v}
    summary = (f"{len(bad)} of {len(records)} supplier records are invalid" if bad
               else f"all {len(records)} supplier records are valid")
    examples = {k: "; ".join(v) for k, v in list(bad.items())[:10]}
    return Measurement(value=float(len(bad)), summary=summary,
                       details={"records": len(records), "invalid": examples})


def measure_reconciliation(workspace: Workspace) -> Measurement:
    r = reconcile(workspace)
    summary = (f"received {r.received} = booked {r.booked} + in review {r.in_review} + rejected with notice "
               f"{r.rejected_with_notice} + in flight {r.in_flight}"
               + (f"; {r.duplicate_submissions} duplicate submission(s) recorded" if r.duplicate_submissions else ""))
    if r.gap:
        summary = f"{r.gap} invoice(s) unaccounted for! " + summary
    return Measurement(float(r.gap), summary, details={**r.to_dict(), "unaccounted": r.unaccounted[:20]})


def measure_stuck(workspace: Workspace) -> Measurement:
    stuck = stuck_invoices(workspace)
    summary = f"{len(stuck)} invoice(s) waiting past the limit" if stuck else "nothing waits past its limit"
    return Measurement(float(len(stuck)), summary, details={"stuck": stuck[:20]})


def measure_double_bookings(workspace: Workspace) -> Measurement:
    dupes = double_bookings(workspace)
    summary = f"{len(dupes)} invoice key(s) booked more than once" if dupes else "every invoice key is booked once"
    return Measurement(float(len(dupes)), summary, details={"duplicates": dict(list(dupes.items())[:20])})


def measure_field_accuracy(workspace: Workspace) -> Measurement:
    acc = field_accuracy(workspace)
    per_field = {f: (round(v, 4) if v is not None else None) for f, v in acc["per_field"].items()}
    if acc["min"] is None:
        return Measurement(None, "no ground-truth or reviewed invoices yet", details={"invoices": acc["invoices"]})
    worst = min((v, f) for f, v in per_field.items() if v is not None)
    return Measurement(acc["min"], f"lowest field: {worst[1]} at {worst[0]:.1%} "
                       f"({acc['invoices']['ground_truth']} ground-truth, {acc['invoices']['reviewed']} reviewed invoices)",
                       details={"per_field": per_field, "invoices": acc["invoices"]})


def measure_stp_rate(workspace: Workspace) -> Measurement:
    rate, counts = stp_rate(workspace)
    if rate is None:
        return Measurement(None, "no invoice processed yet", details=counts)
    return Measurement(rate, f"{counts['machine_booked']} of {counts['finished_or_waiting']} invoices booked "
                       "without a person", details=counts)


def _live(measure):  # type: ignore[no-untyped-def]
    """The checks measure the ledger and the ERP as they are now (in the run's workspace), not the asset's
    pickled summary."""

    def _measure(_value: Any, invoice_workspace: InvoiceWorkspace) -> Measurement:
        return measure(invoice_workspace.get())

    return _measure


def concern_checks() -> list[dg.AssetChecksDefinition]:
    project = card()
    return [
        concern_check(project, "supplier-master-valid", asset=supplier_master, measure=measure_supplier_master),
        concern_check(project, "never-lose-an-invoice", asset=processed_invoices, measure=_live(measure_reconciliation),
                      resources=(INVOICE_WORKSPACE,)),
        concern_check(project, "no-stuck-invoice", asset=processed_invoices, measure=_live(measure_stuck),
                      resources=(INVOICE_WORKSPACE,)),
        concern_check(project, "no-double-booking", asset=processed_invoices, measure=_live(measure_double_bookings),
                      resources=(INVOICE_WORKSPACE,)),
        concern_check(project, "field-accuracy", asset=processed_invoices, measure=_live(measure_field_accuracy),
                      resources=(INVOICE_WORKSPACE,)),
        concern_check(project, "straight-through-processing", asset=processed_invoices,
                      measure=_live(measure_stp_rate),
                      resources=(INVOICE_WORKSPACE,)),
    ]
