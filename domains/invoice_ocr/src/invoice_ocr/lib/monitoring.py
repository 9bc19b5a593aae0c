"""The concerns' metrics, measured from the ledger and the ERP (plain Python; the checks wrap them).

* reconciliation gap: received - (booked + in review + rejected with notice + in flight), where
  "received" comes from the submission log and "booked" is only counted when the ERP really has the
  booking; anything else (a lost ledger row, a booking the ERP does not know) shows up as a gap.
  Entries refused at the door (links, hidden files, devices: see :mod:`invoice_ocr.lib.intake`) were
  never received as invoices, so they are not in "received" and not in the gap; they are counted
  beside it (``refused_at_door``, with each name and reason), never silently left out;
* stuck invoices: in flight for more than an hour, or in review for more than 48 hours;
* double bookings: invoice keys the ERP holds more than once;
* field accuracy: per field, exact match of what the machine read against the ground truth (synthetic
  set) or the clerk's corrections (reviewed set);
* STP rate: share of finished invoices booked without a person; the concern check judges the most
  recent invoices overall and per intake channel (:func:`stp_by_channel`), so a broken scanner cannot
  hide behind born-digital mail;
* supplier accounts out of date: suppliers whose latest invoice asks for payment into a (well-formed)
  account the master does not have (:func:`accounts_out_of_date`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoice_ocr.lib.erp import ErpClient
from invoice_ocr.lib.extract import FIELDS
from invoice_ocr.lib.intake import refusal_action
from invoice_ocr.lib.ledger import IN_FLIGHT, LedgerEntry, utcnow
from invoice_ocr.lib.workspace import Workspace

__all__ = ["CHANNEL_MIN_JUDGED", "CHANNEL_WINDOW", "IN_FLIGHT_LIMIT", "REVIEW_LIMIT", "STP_WINDOW", "Reconciliation",
           "accounts_out_of_date", "double_bookings", "field_accuracy", "ground_truth_index", "intake_channel",
           "reconcile", "stp_by_channel", "stp_rate", "stuck_invoices", "truth_value"]

#: The card's limits for no-stuck-invoice.
IN_FLIGHT_LIMIT = dt.timedelta(hours=1)
REVIEW_LIMIT = dt.timedelta(hours=48)
#: The STP check's windows: the last STP_WINDOW invoices decided, and the last CHANNEL_WINDOW of each
#: intake channel, a channel judged once CHANNEL_MIN_JUDGED of its invoices are in the window.
STP_WINDOW = 20
CHANNEL_WINDOW = 10
CHANNEL_MIN_JUDGED = 5
_DECIDED = ("booked", "rejected_with_notice", "needs_review")
_CHANNEL_OF_PATH = {"ocr": "scan", "text-layer": "born-digital", "e-invoice": "e-invoice"}
_SCAN_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


@dataclass(frozen=True)
class Reconciliation:
    received: int
    booked: int
    in_review: int
    rejected_with_notice: int
    in_flight: int
    duplicate_submissions: int
    unaccounted: list[str] = field(default_factory=list)
    #: Inbox entries the intake will never take, still in the inbox: {name, kind, reason, action, first_seen}.
    refused: list[dict[str, Any]] = field(default_factory=list)

    @property
    def refused_at_door(self) -> int:
        """Entries refused at the door: not invoices received, so outside the gap, but shown beside it."""
        return len(self.refused)

    @property
    def gap(self) -> int:
        return self.received - (self.booked + self.in_review + self.rejected_with_notice + self.in_flight)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "gap": self.gap, "refused_at_door": self.refused_at_door}


def reconcile(workspace: Workspace, erp: ErpClient | None = None) -> Reconciliation:
    erp = erp or workspace.erp()
    erp_ids = {(int(b["id"]), int(b["ledger_invoice_id"])) for b in erp.bookings()}
    with workspace.ledger() as ledger:
        received = ledger.received_digests()
        submissions = ledger.submissions()
        entries = {e.sha256: e for e in ledger.entries()}
        refused = [{"name": r["name"], "kind": r["kind"], "reason": r["reason"], "action": refusal_action(r["kind"]),
                    "first_seen": r["first_seen"], "scans": r["scans"]} for r in ledger.refused()]
    counts = {"booked": 0, "needs_review": 0, "rejected_with_notice": 0, "in_flight": 0}
    unaccounted = []
    for digest in sorted(received):
        entry = entries.get(digest)
        if entry is None:
            unaccounted.append(f"{digest[:12]}: received but not in the ledger")
        elif entry.state == "booked":
            if entry.erp_booking_id is not None and (entry.erp_booking_id, entry.id) in erp_ids:
                counts["booked"] += 1
            else:
                unaccounted.append(f"#{entry.id} {entry.original_name}: marked booked, but the ERP has no such booking")
        elif entry.state in IN_FLIGHT:
            counts["in_flight"] += 1
        elif entry.state in ("needs_review", "rejected_with_notice"):
            counts[entry.state] += 1
        else:
            unaccounted.append(f"#{entry.id}: unknown state {entry.state!r}")
    return Reconciliation(len(received), counts["booked"], counts["needs_review"], counts["rejected_with_notice"],
                          counts["in_flight"], sum(1 for s in submissions if s["duplicate"]), unaccounted, refused)


def stuck_invoices(workspace: Workspace, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    now = now or utcnow()
    out = []
    with workspace.ledger() as ledger:
        for entry in ledger.entries():
            age = now - entry.state_since
            limit = IN_FLIGHT_LIMIT if entry.state in IN_FLIGHT else REVIEW_LIMIT if entry.state == "needs_review" else None
            if limit is not None and age > limit:
                out.append({"invoice_id": entry.id, "file": entry.original_name, "state": entry.state,
                            "hours": round(age.total_seconds() / 3600, 1), "reason": entry.reason})
    return out


def double_bookings(workspace: Workspace, erp: ErpClient | None = None) -> dict[str, int]:
    return (erp or workspace.erp()).duplicate_keys()


def stp_rate(workspace: Workspace) -> tuple[float | None, dict[str, int]]:
    """Share of finished invoices (booked or rejected) booked by the machine alone."""
    with workspace.ledger() as ledger:
        entries = [e for e in ledger.entries() if e.state in ("booked", "rejected_with_notice", "needs_review")]
    machine = sum(1 for e in entries if e.state == "booked" and e.booked_by == "machine")
    counts = {"machine_booked": machine, "finished_or_waiting": len(entries)}
    return (machine / len(entries) if entries else None), counts


def intake_channel(entry: LedgerEntry) -> str:
    """How an invoice came in: ``scan`` (read by OCR), ``born-digital`` (a PDF's text layer), ``e-invoice``,
    or ``other``. From the reading path; an unreadable file by its kind (an image is a scan)."""
    path = (entry.fields or {}).get("path_taken")
    if path in _CHANNEL_OF_PATH:
        return _CHANNEL_OF_PATH[path]
    suffix = Path(entry.original_name).suffix.lower()
    return "scan" if suffix in _SCAN_SUFFIXES else "e-invoice" if suffix == ".xml" else "other"


def stp_by_channel(workspace: Workspace, *, window: int = STP_WINDOW, channel_window: int = CHANNEL_WINDOW,
                   min_judged: int = CHANNEL_MIN_JUDGED) -> dict[str, Any]:
    """STP over the most recent decided invoices (arrival order), overall and per intake channel.

    ``overall``: rate, machine-booked and counted over the last ``window``; ``channels``: the same over
    the last ``channel_window`` of each channel, with ``judged`` once ``min_judged`` are in.
    """
    with workspace.ledger() as ledger:
        decided = sorted((e for e in ledger.entries() if e.state in _DECIDED), key=lambda e: e.id)

    def share(entries: list[LedgerEntry]) -> dict[str, Any]:
        machine = sum(1 for e in entries if e.state == "booked" and e.booked_by == "machine")
        return {"rate": machine / len(entries) if entries else None, "machine_booked": machine,
                "invoices": len(entries)}

    by_channel: dict[str, list[LedgerEntry]] = {}
    for entry in decided:
        by_channel.setdefault(intake_channel(entry), []).append(entry)
    channels = {}
    for name, entries in sorted(by_channel.items()):
        last = entries[-channel_window:]
        channels[name] = {**share(last), "judged": len(last) >= min_judged}
    return {"overall": share(decided[-window:]), "channels": channels, "window": window,
            "channel_window": channel_window, "min_judged": min_judged}


def accounts_out_of_date(workspace: Workspace, suppliers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Suppliers whose latest invoice asks for payment into a well-formed account the master does not have.

    Either the supplier changed its bank (the master must be updated, after a call-back) or someone asks
    for payment into another account (fraud): both must be settled before the next payment run. An IBAN
    failing its checksum is a misreading, not a change, and is left to the review queue.
    """
    from invoice_ocr.lib.iban import is_valid_iban, normalise_iban

    master = {str(s.get("supplier_id")): normalise_iban(str(s.get("iban") or "")) for s in suppliers}
    latest: dict[str, tuple[int, str, str]] = {}
    with workspace.ledger() as ledger:
        for entry in sorted(ledger.entries(), key=lambda e: e.id):
            extracted = (entry.fields or {}).get("extracted") or {}
            supplier = (extracted.get("supplier_id") or {}).get("value")
            iban = (extracted.get("iban") or {}).get("value")
            if supplier in master and iban:
                latest[supplier] = (entry.id, normalise_iban(str(iban)), entry.original_name)
    return {supplier: {"asks_for": iban, "master": master[supplier], "invoice_id": invoice_id, "file": name}
            for supplier, (invoice_id, iban, name) in sorted(latest.items())
            if iban != master[supplier] and is_valid_iban(iban)}


def ground_truth_index(folder: Path) -> dict[str, dict[str, Any]]:
    """Ground truth of the synthetic set by content hash (the scan's SHA-256 is in each truth file)."""
    index = {}
    if folder.exists():
        for path in folder.rglob("*.json"):
            try:
                truth = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            if isinstance(truth, dict) and truth.get("sha256"):
                index[truth["sha256"]] = truth
    return index


def truth_value(truth: dict[str, Any], name: str) -> str:
    return str(truth[name]).upper() if name == "invoice_number" else str(truth[name])


def field_accuracy(workspace: Workspace, truth: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Per-field exact-match accuracy of the machine's reading, on ground truth and on reviewed invoices."""
    truth = ground_truth_index(workspace.synthetic_dir) if truth is None else truth
    correct = dict.fromkeys(FIELDS, 0)
    total = dict.fromkeys(FIELDS, 0)
    sources = {"ground_truth": 0, "reviewed": 0}
    with workspace.ledger() as ledger:
        corrections: dict[int, set[str]] = {}
        for c in ledger.corrections():
            corrections.setdefault(int(c["invoice_id"]), set()).add(c["field"])
        for entry in ledger.entries():
            extracted = (entry.fields or {}).get("extracted")
            if not extracted:
                continue
            read = {f: (extracted.get(f) or {}).get("value") for f in FIELDS}
            known = truth.get(entry.sha256)
            if known is not None:
                sources["ground_truth"] += 1
                for f in FIELDS:
                    total[f] += 1
                    correct[f] += int(read[f] is not None and str(read[f]) == truth_value(known, f))
            elif entry.booked_by not in (None, "machine") and entry.state == "booked":
                sources["reviewed"] += 1
                fixed = corrections.get(entry.id, set())
                for f in FIELDS:
                    total[f] += 1
                    correct[f] += int(f not in fixed)
    per_field = {f: (correct[f] / total[f] if total[f] else None) for f in FIELDS}
    measured = [v for v in per_field.values() if v is not None]
    return {"per_field": per_field, "min": min(measured) if measured else None, "invoices": sources,
            "counts": {f: [correct[f], total[f]] for f in FIELDS}}
