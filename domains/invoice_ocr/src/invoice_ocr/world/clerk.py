"""The simulated clerk: works the review queue through the real API, keying from the paper.

The clerk acts when called (once per simulated day by the world runner, once per tick in a test), never
on a timer of its own, so what it does is decided by the queue it finds. For each invoice waiting:

* ``erp_unavailable``: left alone, the pipeline retries it when the ERP is back;
* an invoice the world sent: the booking fields keyed from the paper (a changed IBAN confirmed with the
  supplier by phone, as the review reason asks), approved as :data:`CLERK` (``POST .../approve``); one
  the ERP or the ledger refuses as already booked is rejected with a notice (``POST .../reject``);
* anything else (not the world's mail): left for a person.

Corrections land in the ledger when the clerk approves, so invoice labels arrive as late as the clerk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from inloop.world import WorldApi
from invoice_ocr.world.mailroom import read_paper

__all__ = ["CLERK", "ClerkShift", "work_review_queue"]

#: The name the simulated clerk books and rejects under (``booked_by`` in the ledger and the ERP).
CLERK = "world clerk"
#: Reasons the clerk leaves alone: the machine retries them by itself.
LEFT_TO_THE_MACHINE = ("erp_unavailable",)


@dataclass
class ClerkShift:
    approved: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    left: list[int] = field(default_factory=list)
    #: approvals refused for a passing reason (ERP down): tried again on the next shift
    deferred: dict[int, str] = field(default_factory=dict)


def work_review_queue(api: WorldApi, clerk: str = CLERK) -> ClerkShift:
    """One pass over the review queue, oldest first; returns what the clerk did."""
    shift = ClerkShift()
    headers = {"Authorization": f"Bearer {api.token}"}
    with httpx.Client(base_url=api.base_url, timeout=60, headers=headers) as client:
        queue = client.get("/invoices/review")
        queue.raise_for_status()
        for item in queue.json():
            invoice_id = int(item["invoice_id"])
            paper = read_paper(str(item["original_name"]))
            if item["reason_kind"] in LEFT_TO_THE_MACHINE or paper is None:
                shift.left.append(invoice_id)
                continue
            keyed = {k: v for k, v in paper.items() if k not in ("channel", "sha256")}
            resp = client.post(f"/invoices/{invoice_id}/approve", json={"clerk": clerk, "corrections": keyed})
            if resp.status_code == 200:
                shift.approved.append(invoice_id)
                continue
            detail = str(resp.json().get("detail", resp.text)) if resp.status_code == 409 else resp.text
            if resp.status_code == 409 and "already" in detail:
                notice = ("We already booked this invoice; this copy is not booked again. "
                          "Please send reminders with a reference to the original.")
                rejected = client.post(f"/invoices/{invoice_id}/reject", json={"clerk": clerk, "notice": notice})
                rejected.raise_for_status()
                shift.rejected.append(invoice_id)
            elif resp.status_code == 409:
                shift.deferred[invoice_id] = detail
            else:
                resp.raise_for_status()
    return shift
