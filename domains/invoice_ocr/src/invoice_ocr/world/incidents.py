"""What can go wrong in the invoice world, each caught by a card concern's check (never told to the platform)."""

from __future__ import annotations

from inloop.world import IncidentKind

__all__ = ["INCIDENTS"]

INCIDENTS = {
    "erp-outage": IncidentKind(
        "The ERP refuses every booking (unplanned downtime): invoices wait for it, the clerk cannot book either.",
        concerns=("straight-through-processing",),
    ),
    "scanner-degraded": IncidentKind(
        "The mailroom scanner's resolution fell to 75 dpi: paper scans arrive too coarse for OCR, and the clerk "
        "keys them from the paper. Born-digital PDFs and e-invoices are not affected.",
        concerns=("straight-through-processing",),
    ),
    "supplier-bank-change": IncidentKind(
        "The regular supplier moved to a new account at its bank (a well-formed IBAN, check digits right) "
        "and its invoices ask for payment there; the supplier master still has the old account.",
        concerns=("supplier-master-valid",),
    ),
}
