"""The review service: the clerk's queue. List, show, correct-and-approve (-> booking), reject with a notice.

Used by the CLI now and by the console and the API later. Corrections are stored field by field
and feed the field-accuracy metric.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from invoice_ocr.lib.erp import Booking, ErpClient, ErpUnavailable, invoice_key
from invoice_ocr.lib.extract import EXTRACTOR_VERSION, FIELDS
from invoice_ocr.lib.iban import is_valid_iban, normalise_iban
from invoice_ocr.lib.ledger import Ledger, LedgerEntry, utcnow
from invoice_ocr.lib.pipeline import load_suppliers
from invoice_ocr.lib.workspace import Workspace

__all__ = ["ReviewError", "ReviewItem", "ReviewService"]

log = logging.getLogger("invoice_ocr.review")


class ReviewError(ValueError):
    """A review action that cannot be done as asked; the message says what to fix."""


@dataclass(frozen=True)
class ReviewItem:
    invoice_id: int
    original_name: str
    received_at: dt.datetime
    waiting_hours: float
    reason_kind: str | None
    reason: str | None


class ReviewService:
    def __init__(self, workspace: Workspace, erp: ErpClient | None = None) -> None:
        self.workspace = workspace.prepare()
        self.erp = erp or workspace.erp()

    def _ledger(self) -> Ledger:
        return self.workspace.ledger()

    def queue(self) -> list[ReviewItem]:
        """Invoices waiting for a person, oldest first."""
        now = utcnow()
        with self._ledger() as ledger:
            return [ReviewItem(e.id, e.original_name, e.received_at, round((now - e.state_since).total_seconds() / 3600, 2),
                               e.reason_kind, e.reason) for e in ledger.entries("needs_review")]

    def refused(self) -> list[dict[str, Any]]:
        """Inbox entries refused at the door (links, hidden files, devices): not invoices, never taken.

        Each with ``name``, ``kind``, ``reason``, ``action`` (what a person should do) and ``first_seen``;
        they stay listed until someone removes them from the inbox.
        """
        from invoice_ocr.lib.intake import refusal_action

        with self._ledger() as ledger:
            return [{"name": r["name"], "kind": r["kind"], "reason": r["reason"], "action": refusal_action(r["kind"]),
                     "first_seen": r["first_seen"]} for r in ledger.refused()]

    def show(self, invoice_id: int) -> dict[str, Any]:
        """Everything a clerk needs: the file, the fields read (with confidence), the reason, the history."""
        with self._ledger() as ledger:
            entry = ledger.get(invoice_id)
            return {
                "invoice": entry.to_dict(),
                "file": self._file(entry.sha256),
                "fields": (entry.fields or {}).get("extracted", {}),
                "notes": (entry.fields or {}).get("notes", []),
                # How it was read: e-invoice, text-layer or ocr (and the document's language).
                "path_taken": (entry.fields or {}).get("path_taken"),
                "language": (entry.fields or {}).get("language"),
                "reason": entry.reason,
                "reason_kind": entry.reason_kind,
                "history": ledger.events(invoice_id),
                "corrections": ledger.corrections(invoice_id),
            }

    def propose_supplier(self, invoice_id: int) -> dict[str, Any]:
        """For an invoice from an unknown supplier: the master record proposed from it (reads the file again).

        ``record`` (name, address, VAT id, IBAN, ...), ``sources``, ``problems`` still to fix; or
        ``known_supplier`` and ``refusal`` when the supplier is known (a changed IBAN stays a fraud-risk review).
        """
        from invoice_ocr.lib.supplier_onboarding import propose_supplier

        return propose_supplier(self.workspace, invoice_id).to_dict()

    def add_supplier(self, invoice_id: int, clerk: str, record: dict[str, Any]) -> dict[str, Any]:
        """Add the (checked) supplier record to the master data, recorded with the clerk's name; returns it.

        Raises :class:`ReviewError` (a ``ValueError``) saying what to fix, or why it must not be added.
        """
        from invoice_ocr.lib.supplier_onboarding import SupplierRefused, add_supplier

        try:
            return add_supplier(self.workspace, invoice_id, record, clerk)
        except SupplierRefused as exc:
            raise ReviewError(str(exc)) from None

    def file_path(self, invoice_id: int) -> Path:
        with self._ledger() as ledger:
            digest = ledger.get(invoice_id).sha256
        return self.workspace.files().local_path(digest)

    def _file(self, digest: str) -> str:
        """Where the clerk finds the file (a damaged or missing one is named, not shown)."""
        try:
            return str(self.workspace.files().local_path(digest))
        except OSError as exc:
            return f"(the stored file cannot be shown: {exc})"

    def approve(self, invoice_id: int, clerk: str, corrections: dict[str, str] | None = None) -> LedgerEntry:
        """Book a reviewed invoice with the clerk's corrections (fields not given keep the value read)."""
        corrections = {k: v.strip() for k, v in (corrections or {}).items()}
        unknown = set(corrections) - set(FIELDS)
        if unknown:
            raise ReviewError(f"unknown field(s) {sorted(unknown)}; fields are {', '.join(FIELDS)}")
        if not clerk.strip():
            raise ReviewError("say who approves (clerk name)")
        with self._ledger() as ledger:
            entry = ledger.get(invoice_id)
            if entry.state != "needs_review":
                raise ReviewError(f"invoice {invoice_id} is {entry.state}, not waiting for review")
            extracted = {f: (v or {}).get("value") for f, v in (entry.fields or {}).get("extracted", {}).items()}
            final = {f: corrections.get(f, extracted.get(f)) for f in FIELDS}
            final = self._normalised(final)
            self._check(final)
            key = invoice_key(str(final["supplier_id"]), str(final["invoice_number"]))
            earlier = [e for e in ledger.booked_with_key(key) if e.id != invoice_id]
            if earlier:
                raise ReviewError(f"invoice {key} is already booked (ledger #{earlier[0].id}); reject this one "
                                  "with a notice instead")
            booking = Booking(invoice_key=key, ledger_invoice_id=invoice_id, booked_by=clerk,
                              **{k: str(final[k]) for k in ("supplier_id", "invoice_number", "invoice_date", "iban",
                                                            "currency", "net", "vat", "total")})
            try:
                result = self.erp.book(booking)
            except ErpUnavailable as exc:
                raise ReviewError(f"the ERP is unavailable ({exc}); the invoice stays in review, try again later") from exc
            if not result.created and result.ledger_invoice_id != invoice_id:
                raise ReviewError(f"the ERP already has invoice {key} (booking {result.erp_id}); reject this one "
                                  "with a notice instead")
            changed = {f: (extracted.get(f), final[f]) for f in FIELDS if final[f] != extracted.get(f)}
            if changed:
                ledger.add_corrections(invoice_id, changed, clerk)
            fields = dict(entry.fields or {})
            fields["approved"] = final
            fields["corrected_fields"] = sorted(changed)
            booked = ledger.transition(
                invoice_id, "booked", expected_from=("needs_review",),
                detail=f"approved by {clerk}" + (f", corrected {', '.join(sorted(changed))}" if changed else ""),
                fields=fields, invoice_key=key, erp_booking_id=result.erp_id, booked_by=clerk,
                extractor_version=entry.extractor_version or EXTRACTOR_VERSION)
        self._update_notifications()
        return booked

    def reject(self, invoice_id: int, clerk: str, notice: str) -> LedgerEntry:
        """Reject with the notice text sent to the supplier (e.g. "please resend as an unprotected PDF")."""
        if not notice or len(notice.strip()) < 10:
            raise ReviewError("a rejection needs a notice for the supplier (at least a sentence)")
        if not clerk.strip():
            raise ReviewError("say who rejects (clerk name)")
        with self._ledger() as ledger:
            entry = ledger.get(invoice_id)
            if entry.state != "needs_review":
                raise ReviewError(f"invoice {invoice_id} is {entry.state}, not waiting for review")
            rejected = ledger.transition(invoice_id, "rejected_with_notice", expected_from=("needs_review",),
                                         detail=f"rejected by {clerk}: {notice.strip()}", notice=notice.strip(),
                                         booked_by=None)
        self._update_notifications()
        return rejected

    def _update_notifications(self) -> None:
        """The invoice left review: its reason's notification lists the rest (or resolves).

        The decision is already committed; a notification store that is down must not undo it, so a
        failure here is logged, and the next processing run brings the notifications up to date.
        """
        from invoice_ocr.lib.clerk_notifications import notify_clerks

        try:
            notify_clerks(self.workspace)
        except Exception as exc:
            log.warning("review notifications not updated (next processing run does it): %s: %s",
                        type(exc).__name__, exc)

    @staticmethod
    def _normalised(values: dict[str, Any]) -> dict[str, Any]:
        out = dict(values)
        if out.get("iban"):
            out["iban"] = normalise_iban(str(out["iban"]))
        for name in ("net", "vat", "total"):
            if out.get(name) not in (None, ""):
                try:
                    out[name] = str(Decimal(str(out[name]).replace(",", ".")).quantize(Decimal("0.01")))
                except InvalidOperation:
                    raise ReviewError(f"{name} {out[name]!r} is not an amount (use 1234.56)") from None
        if out.get("currency"):
            out["currency"] = str(out["currency"]).upper()
        if out.get("invoice_number"):
            out["invoice_number"] = str(out["invoice_number"]).upper()
        return out

    def _check(self, final: dict[str, Any]) -> None:
        problems = [f"{f} is missing" for f in FIELDS if not final.get(f)]
        suppliers = {s["supplier_id"]: s for s in load_suppliers(self.workspace)}
        if final.get("supplier_id") and final["supplier_id"] not in suppliers:
            problems.append(f"supplier {final['supplier_id']} is not in the master data")
        if final.get("iban") and not is_valid_iban(final["iban"]):
            problems.append("IBAN fails its checksum")
        if final.get("invoice_date"):
            try:
                dt.date.fromisoformat(str(final["invoice_date"]))
            except ValueError:
                problems.append("invoice_date must be YYYY-MM-DD")
        if all(final.get(k) for k in ("net", "vat", "total")) and \
                Decimal(final["total"]) != Decimal(final["net"]) + Decimal(final["vat"]):
            problems.append("total must equal net + VAT")
        if problems:
            raise ReviewError("cannot book: " + "; ".join(problems))
