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
from invoice_ocr.lib.monitoring import (
    accounts_out_of_date,
    double_bookings,
    field_accuracy,
    reconcile,
    stp_by_channel,
    stuck_invoices,
)
from invoice_ocr.lib.supplier_onboarding import load_suppliers
from invoice_ocr.lib.suppliers import supplier_problems
from invoice_ocr.lib.workspace import Workspace

__all__ = ["card", "concern_checks", "measure_double_bookings", "measure_field_accuracy", "measure_reconciliation",
           "measure_stp_rate", "measure_stuck", "measure_supplier_accounts", "measure_supplier_master"]


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


def measure_supplier_accounts(workspace: Workspace) -> Measurement:
    """The master as the booking uses it (with clerk additions), and whether it still has each supplier's
    account: a supplier whose latest invoice asks for payment elsewhere counts as one record to settle."""
    records = load_suppliers(workspace)
    invalid = measure_supplier_master(records)
    stale = accounts_out_of_date(workspace, records)
    summary = invalid.summary
    if stale:
        summary += "; " + "; ".join(f"{s}'s latest invoice (#{v['invoice_id']}) asks for payment into {v['asks_for']}, "
                                    f"the master has {v['master']}" for s, v in list(stale.items())[:5])
        summary += " (confirm the change with the supplier by phone, then update the master)"
    return Measurement(float((invalid.value or 0) + len(stale)), summary,
                       details={**invalid.details, "accounts_out_of_date": dict(list(stale.items())[:20])})


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
    """The lowest of: the recent invoices overall, and each intake channel's recent invoices once judged."""
    stp = stp_by_channel(workspace)
    overall = stp["overall"]
    if overall["rate"] is None:
        return Measurement(None, "no invoice processed yet", details=stp)
    parts = [("overall", f"the last {overall['invoices']} invoices", overall)]
    parts += [(name, f"the last {c['invoices']} {name} invoices", c) for name, c in stp["channels"].items()
              if c["judged"]]
    worst = min(parts, key=lambda p: p[2]["rate"])
    shown = "; ".join(f"{what}: {c['machine_booked']} of {c['invoices']} booked without a person"
                      for _, what, c in parts)
    summary = (f"lowest: {worst[1]}, {worst[2]['rate']:.0%} ({shown})" if worst[0] != "overall" or len(parts) > 1
               else f"{overall['machine_booked']} of {overall['invoices']} recent invoices booked without a person")
    return Measurement(float(worst[2]["rate"]), summary, details=stp)


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
        # Again after each processing run: the master as booked against, and the accounts suppliers ask for.
        concern_check(project, "supplier-master-valid", asset=processed_invoices,
                      measure=_live(measure_supplier_accounts), resources=(INVOICE_WORKSPACE,)),
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
