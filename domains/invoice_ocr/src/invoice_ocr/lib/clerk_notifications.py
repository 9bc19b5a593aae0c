"""Telling the clerk on duty that invoices wait in review: one grouped notification per review reason.

The platform's alerts carry it (console inbox, log, optional webhook), routed as the project card's
``no-stuck-invoice`` concern says: that is the clerks' concern that no invoice waits unnoticed, so
its ``alert_route`` is where a review notification goes (add ``webhook`` there to reach a chat
channel). Each review reason (``truncated``, ``low_confidence``, ``duplicate_invoice``, ...) is one
open alert listing the invoices that wait for it, with what the clerk should do:

* an invoice newly in review for a reason counts one more occurrence on that reason's alert (the
  platform announces a new alert at once and re-announces at 10, 100, ... occurrences, so a busy
  morning is one message per reason, not one per invoice);
* an invoice that leaves review (approved, rejected, retried) drops out of the list without a new
  announcement, and the alert resolves when no invoice of that reason is left;
* each invoice's history records the notification that named it ("clerk notified: ...").

Demos and tests run in their own workspaces; their notifications carry the workspace in the cause
key, so they never merge with the installation's own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from inloop.alerts import list_alerts, raise_alert, refresh_alert, resolve_alerts
from invoice_ocr.lib.ledger import LedgerEntry
from invoice_ocr.lib.workspace import Workspace

__all__ = ["NOTIFIED", "REVIEW_CONCERN", "ReviewNotification", "clerk_action", "notify_clerks", "review_routes"]

#: The card concern whose route review notifications follow.
REVIEW_CONCERN = "no-stuck-invoice"
#: How an invoice's history records that a notification named it.
NOTIFIED = "clerk notified"
_LISTED = 25  # invoices named in one message; the rest are counted (the console's queue has them all)

_UNREADABLE = "reject it with a notice asking the supplier to send the invoice again (as a PDF or a clean scan)"
_ACTIONS = {
    "empty_file": _UNREADABLE,
    "truncated": _UNREADABLE,
    "corrupt_image": _UNREADABLE,
    "corrupt_pdf": _UNREADABLE,
    "not_a_document": "check whether it is an invoice at all; if it is, ask the supplier for a PDF or a scan",
    "encrypted_pdf": "reject it with a notice asking for an unprotected PDF",
    "blank_page": "check the scanner feed (a blank page was scanned); reject with a notice if no invoice follows",
    "too_large": _UNREADABLE,
    "too_many_pages": "split the document or book it by hand from the original",
    "low_resolution": "ask for a sharper scan (at least 150 dpi) or key it from the original",
    "no_invoice_text": "check whether it is an invoice; key it by hand or reject it with a notice",
    "ocr_error": "key it by hand from the file; report it if it happens again",
    "storage_damaged": "restore the file from the original (mail or scanner) and tell the platform team",
    "crashed_repeatedly": "key it by hand from the file and report it: processing crashed on it repeatedly",
    "erp_unavailable": "nothing yet: it is retried automatically when the ERP is back",
    "duplicate_invoice": "compare with the booked invoice; reject the copy with a notice, or correct and book",
    "low_confidence": "check the fields read against the scan, correct what is wrong, and approve",
    "validation_failed": "check the reason (amounts, IBAN, supplier); correct and approve, or reject with a "
                         "notice; a changed IBAN is confirmed with the supplier by phone first",
}


def clerk_action(kind: str | None) -> str:
    """What the clerk should do about an invoice in review for reason ``kind``."""
    return _ACTIONS.get(kind or "", "open it in the review queue; correct and approve, or reject with a notice")


def review_routes() -> list[str]:
    """The routes of review notifications, from the card's ``no-stuck-invoice`` concern."""
    from inloop.cards import load_card
    from invoice_ocr.lib.workspace import DOMAIN_ROOT

    return list(load_card(DOMAIN_ROOT / "project.yaml").concern(REVIEW_CONCERN).alert_route)


@dataclass(frozen=True)
class ReviewNotification:
    """One review reason's notification after :func:`notify_clerks`."""

    reason_kind: str
    alert_id: int | None
    invoice_ids: list[int]
    #: invoices this call named for the first time (their history now says so)
    newly_notified: list[int] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)


def _prefix(workspace: Workspace) -> str:
    if workspace.root.resolve() == Workspace.default().root.resolve():
        return "review:invoice_ocr:main:"
    return f"review:invoice_ocr:{hashlib.sha256(str(workspace.root.resolve()).encode()).hexdigest()[:10]}:"


def _already_notified(events: list[dict[str, Any]]) -> bool:
    """Whether the invoice's current stay in review was already in a notification."""
    notified = False
    for event in events:
        if event["to_state"] == "needs_review" and event["from_state"] != "needs_review":
            notified = False  # a new stay in review (e.g. back after a retry) is notified anew
        elif str(event["detail"]).startswith(NOTIFIED):
            notified = True
    return notified


def _message(kind: str, waiting: list[LedgerEntry], demo: bool) -> str:
    lines = [f"- #{e.id} {e.original_name}: {e.reason or kind}" for e in waiting[:_LISTED]]
    if len(waiting) > _LISTED:
        lines.append(f"- ... and {len(waiting) - _LISTED} more in the review queue")
    where = " (a demo or test installation)" if demo else ""
    return (f"To do: {clerk_action(kind)}.\nWaiting in the review queue{where} for reason '{kind}':\n"
            + "\n".join(lines))


def notify_clerks(workspace: Workspace, *, db_url: str | None = None) -> list[ReviewNotification]:
    """Raise, update or resolve one notification per review reason from the ledger's review queue.

    Safe to call after every processing run and every clerk decision: only invoices not yet named
    count a new occurrence. Returns the open notifications, one per reason with invoices waiting.
    """
    routes = review_routes()
    prefix = _prefix(workspace)
    demo = not prefix.endswith(":main:")
    groups: dict[str, list[LedgerEntry]] = {}
    fresh: dict[str, list[int]] = {}
    with workspace.ledger() as ledger:
        for entry in ledger.entries("needs_review"):
            kind = entry.reason_kind or "review"
            groups.setdefault(kind, []).append(entry)
            if not _already_notified(ledger.events(entry.id)):
                fresh.setdefault(kind, []).append(entry.id)
        out = []
        for kind, waiting in sorted(groups.items()):
            ids = [e.id for e in waiting]
            title = (f"{len(ids)} invoice{'s' if len(ids) != 1 else ''} wait{'' if len(ids) != 1 else 's'} in "
                     f"review: {kind.replace('_', ' ')}")
            evidence = {"reason_kind": kind, "invoice_ids": ids, "action": clerk_action(kind),
                        "workspace": str(workspace.root)}
            message = _message(kind, waiting, demo)
            if fresh.get(kind):
                alert = raise_alert(domain="invoice_ocr", concern_id=REVIEW_CONCERN, source="review",
                                    cause_key=prefix + kind, title=title, message=message, severity="INFO",
                                    routes=routes, evidence=evidence, db_url=db_url)
                for invoice_id in fresh[kind]:
                    ledger.note(invoice_id, f"{NOTIFIED}: review notification #{alert.id} ({kind}) via "
                                            f"{', '.join(routes)}")
            else:
                alert = refresh_alert(prefix + kind, title=title, message=message, evidence=evidence, db_url=db_url)
            out.append(ReviewNotification(kind, alert.id if alert else None, ids, fresh.get(kind, []), routes))
    for alert in list_alerts("invoice_ocr", status="open", limit=1000, db_url=db_url):
        if alert.cause_key.startswith(prefix) and alert.cause_key[len(prefix):] not in groups:
            resolve_alerts(alert.cause_key, "no invoice waits in review for this reason any more", db_url=db_url)
    return out
