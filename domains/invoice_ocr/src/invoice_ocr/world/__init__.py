"""An evaluation set that looks like the world: invoices the reader was not built from.

Kept apart from the domain's processing core on purpose: nothing here is imported by the reader,
and nothing here imports the reader's extraction code. The modules, in the order a document is made:

- :mod:`invoice_ocr.world.conventions` — what differs by language and country: labels, month
  names, date orders, decimal notations, currency placement, VAT words, VAT ids and IBANs.
- :mod:`invoice_ocr.world.content` — one seeded invoice (supplier, buyer, lines, totals) and its
  ground truth.
- :mod:`invoice_ocr.world.layouts` — the HTML layouts (labels left, right, above, below and in
  running text; tables and key-value blocks; header and footer metadata; logos drawn as shapes).
- :mod:`invoice_ocr.world.printing` — HTML to PDF through headless Chromium, and PDFs to scans.
- :mod:`invoice_ocr.world.einvoices` — EN 16931 e-invoices: Factur-X/ZUGFeRD PDFs, XRechnung
  UBL and CII files, made with the standards' libraries.
- :mod:`invoice_ocr.world.build` — the seeded plan of the whole set and the writer
  (``python -m invoice_ocr.world``).
- :mod:`invoice_ocr.world.examination` — reading the set through the reader and scoring it
  (``python -m invoice_ocr.evaluate world``).

The simulated mailroom lives here too, apart from the processing core (a fork with real mail deletes
it with the rest of ``world/`` and sets ``INLOOP_WORLD=off``): unlike the evaluation set it is made
with ``lib``'s generators for the installation's own supplier master, so the pipeline can book it.

- :mod:`invoice_ocr.world.mailroom` — a day's invoices dropped into the real inbox (born-digital
  PDFs, scans, e-invoices at the rates of ``RATES``), and what the incidents change.
- :mod:`invoice_ocr.world.clerk` — the simulated clerk, working the review queue through the API.
- :mod:`invoice_ocr.world.incidents` — ``invoice_ocr:erp-outage``, ``invoice_ocr:scanner-degraded``,
  ``invoice_ocr:supplier-bank-change`` for ``inloop incident start``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from invoice_ocr.world.incidents import INCIDENTS

if TYPE_CHECKING:
    from inloop.world import SimulatedDay, WorldApi
    from invoice_ocr.world.mailroom import MailRates

__all__ = ["INCIDENTS", "arrive"]


def arrive(day: SimulatedDay, api: WorldApi, active: set[str], rates: MailRates | None = None) -> int:
    """One simulated day of the invoice world; returns the invoices dropped into the inbox.

    In order: the ERP is up or down as the incidents say; the clerk works the review queue the
    platform left (through the API); the day's mail is dropped into the inbox, where the platform's
    inbox sensor takes it. (Imported here, not at the top: the evaluation set's modules stay light.)
    """
    import httpx

    from invoice_ocr.lib.workspace import Workspace
    from invoice_ocr.world.clerk import work_review_queue
    from invoice_ocr.world.mailroom import RATES, day_mail, deliver, set_erp_outage, suppliers_of

    workspace = Workspace.default()
    suppliers = suppliers_of(workspace)  # no master yet (before the first run): nothing to write as
    set_erp_outage(workspace, "erp-outage" in active)
    try:
        work_review_queue(api)
    except httpx.HTTPError as exc:  # the mail still comes when the API is down; the error is said after it
        delivered = deliver(workspace, day_mail(day.index, suppliers, active, rates or RATES))
        raise RuntimeError(f"{delivered} invoices delivered, but the clerk could not work the review queue "
                           f"at {api.base_url}: {type(exc).__name__}: {exc}") from exc
    return deliver(workspace, day_mail(day.index, suppliers, active, rates or RATES))
