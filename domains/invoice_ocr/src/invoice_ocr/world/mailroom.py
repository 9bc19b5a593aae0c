"""The simulated mailroom: a day's supplier invoices dropped into the real inbox, and what can go wrong.

Made with the domain's own generators (``lib.invoices``, ``lib.render``, the e-invoice builder in
:mod:`invoice_ocr.world.einvoices`) for the installation's own supplier master, so the running
pipeline can book them. Three intake channels, at the rates of :data:`RATES`: born-digital PDFs
(read from their text layer), paper scans from the mailroom scanner (PNG/JPEG, read by OCR) and
EN 16931 e-invoices (CII XML). One regular supplier sends a born-digital invoice every day.

What the mailroom sends is also kept "on paper" (``<data>/world/invoice_ocr/paper/<file>.json``:
the printed fields): the simulated clerk keys from it, as a person keys from the original.

Running incidents (see :mod:`invoice_ocr.world.incidents`) change only the world:

* ``scanner-degraded``: the scanner's resolution setting fell to a quarter; scans arrive too coarse
  for OCR (the reader sends them to review as ``low_resolution``);
* ``supplier-bank-change``: the regular supplier moved its account; its invoices ask for payment into
  the new account (same bank, same BBAN format, valid check digits), which the master does not have;
* ``erp-outage``: the ERP stand-in refuses bookings (its ``.down`` flag, set and cleared only by the world).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from inloop.settings import get_settings
from invoice_ocr.lib.iban import BBAN_FORMATS, make_iban
from invoice_ocr.lib.invoices import BUYER, Invoice, generate_invoice
from invoice_ocr.lib.render import born_digital_pdf, render_page, scan_bytes, scan_effects
from invoice_ocr.lib.supplier_onboarding import load_suppliers
from invoice_ocr.lib.suppliers import Supplier
from invoice_ocr.lib.workspace import Workspace

__all__ = ["RATES", "SEED", "WORLD_ERP_MARK", "Letter", "MailRates", "changed_account", "day_mail", "deliver",
           "paper_dir", "read_paper", "regular_supplier", "set_erp_outage", "suppliers_of"]

#: The world's seed: the same simulated day always brings the same mail.
SEED = 17_017
#: The ``.down`` flag's text when the world took the ERP down (the world never clears a flag it did not set).
WORLD_ERP_MARK = "simulated world: ERP outage"


@dataclass(frozen=True)
class MailRates:
    """Invoices a simulated day brings, per intake channel (the one place the invoice world's rates are set)."""

    born_digital: int = 5
    scans: int = 3
    einvoices: int = 2
    #: Born-digital invoices from the regular supplier (the one whose bank details can change).
    regular: int = 1

    @property
    def per_day(self) -> int:
        return self.born_digital + self.scans + self.einvoices + self.regular


#: About a day of supplier mail at demo scale (most of it born-digital, as in most AP departments today).
RATES = MailRates()


@dataclass(frozen=True)
class Letter:
    """One document the mailroom drops: its file name, bytes, channel and what is printed on it."""

    name: str
    data: bytes
    channel: str  # "born-digital", "scan" or "e-invoice"
    printed: dict[str, str]  # the booking fields as printed (what a clerk keys from the paper)


def paper_dir() -> Path:
    return get_settings().data_dir / "world" / "invoice_ocr" / "paper"


def read_paper(name: str) -> dict[str, str] | None:
    """What is printed on the document the world sent as ``name`` (None: not the world's)."""
    path = paper_dir() / f"{Path(name).name}.json"
    if not path.is_file():
        return None
    return dict(json.loads(path.read_text(encoding="utf-8")))


def regular_supplier(suppliers: list[Supplier]) -> Supplier:
    """The supplier that writes every day: the first German one in the master (else the first)."""
    return next((s for s in suppliers if s.country == "DE"), suppliers[0])


def changed_account(iban: str) -> str:
    """A new account at the same bank: the bank code kept, the account part redrawn in the country's BBAN
    format, check digits recomputed (schwifty accepts it; it is not the old account)."""
    country, bban = iban[:2], iban[4:]
    fmt = BBAN_FORMATS.get(country)
    if fmt is None:
        raise ValueError(f"no BBAN format for {country}")
    first = int(_parts(fmt)[0][0])  # the bank code's length
    rng = random.Random(f"bank-change:{iban}")
    classes = {"n": "0123456789", "a": "ABCDEFGHJKLMNPRSTUVWXYZ", "c": "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"}
    kinds = "".join(kind * int(n) for n, kind in _parts(fmt))
    while True:
        rest = "".join(rng.choice(classes[kinds[i]]) for i in range(first, len(bban)))
        new = make_iban(country, bban[:first] + rest)
        if new != iban:
            return new


def _parts(fmt: str) -> list[tuple[str, str]]:
    out, digits = [], ""
    for ch in fmt:
        if ch.isdigit():
            digits += ch
        else:
            out.append((digits, ch))
            digits = ""
    return out


def _printed(invoice: Invoice) -> dict[str, str]:
    truth = invoice.ground_truth()
    return {k: str(truth[k]) for k in ("supplier_id", "invoice_number", "invoice_date", "iban", "net", "vat",
                                        "total", "currency")}


def _scan(invoice: Invoice, index: int, degraded: bool) -> tuple[bytes, str]:
    fmt = "jpeg" if invoice.scan["format"] == "jpeg" else "png"  # the mailroom scanner writes PNG or JPEG
    image = scan_effects(render_page(invoice), invoice.scan, seed=SEED * 1_000_003 + index)
    if degraded:
        image = image.reduce(4)  # the resolution setting fell from 300 to 75 dpi
    return scan_bytes(image, fmt, int(invoice.scan["jpeg_quality"])), ".jpg" if fmt == "jpeg" else ".png"


def _einvoice(invoice: Invoice) -> bytes:
    """The invoice as EN 16931 CII XML, built by the world's e-invoice generator (drafthorse)."""
    from invoice_ocr.world.content import LineItem, Party, WorldInvoice
    from invoice_ocr.world.conventions import MARKETS
    from invoice_ocr.world.einvoices import cii_xml

    s = invoice.supplier
    market = next((m for m in MARKETS.values() if m.country == s.country), next(iter(MARKETS.values())))
    market = dataclasses.replace(market, currency=s.currency)
    seller = Party(s.name, s.street, s.postcode, s.city, s.country, s.vat_id, iban=s.iban, bic=s.bic,
                   supplier_id=s.supplier_id)
    buyer = Party(BUYER[0], BUYER[2], BUYER[3].split()[0], BUYER[3].split()[1], "DE", None)
    lines = [LineItem(it.description, it.quantity, it.unit_price, it.amount) for it in invoice.items]
    world = WorldInvoice(
        market=market, supplier=seller, buyer=buyer, credit_note=False, number=invoice.invoice_number,
        issue_date=invoice.invoice_date, due_date=invoice.due_date, delivery_date=invoice.invoice_date,
        period=(invoice.invoice_date, invoice.invoice_date), order_ref=invoice.order_number,
        customer_no=invoice.customer_number, lines=lines, vat_rate=invoice.vat_rate, net=invoice.net,
        vat=invoice.vat, total=invoice.total, labels={}, date_style="iso", money_style=0, font="DejaVu Sans",
        show_bic=True, show_buyer_vat=False)
    return cii_xml(world)


def day_mail(day_index: int, suppliers: list[Supplier], active: Iterable[str] = (),
             rates: MailRates = RATES) -> list[Letter]:
    """The day's mail (seeded by the day), as the running incidents change it."""
    active = set(active)
    regular = regular_supplier(suppliers)
    others = [s for s in suppliers if s.supplier_id != regular.supplier_id] or suppliers
    letters: list[Letter] = []
    plan = ([("born-digital", others)] * rates.born_digital + [("scan", others)] * rates.scans
            + [("e-invoice", others)] * rates.einvoices + [("born-digital", [regular])] * rates.regular)
    for k, (channel, pool) in enumerate(plan):
        index = day_index * 1_000 + k + 1
        invoice = generate_invoice(index, pool, SEED)
        if invoice.supplier.supplier_id == regular.supplier_id and "supplier-bank-change" in active:
            invoice = dataclasses.replace(
                invoice, supplier=dataclasses.replace(regular, iban=changed_account(regular.iban)))
        stem = f"world-d{day_index:05d}-{k + 1:02d}"
        if channel == "scan":
            data, suffix = _scan(invoice, index, "scanner-degraded" in active)
        elif channel == "e-invoice":
            data, suffix = _einvoice(invoice), ".xml"
        else:
            data, suffix = born_digital_pdf(invoice), ".pdf"
        letters.append(Letter(f"{stem}-{channel}{suffix}", data, channel, _printed(invoice)))
    return letters


def deliver(workspace: Workspace, letters: list[Letter]) -> int:
    """Drop the letters into the inbox (each written aside, then renamed: complete when it appears) and
    keep their paper for the clerk; returns how many were dropped."""
    workspace.prepare()
    paper = paper_dir()
    paper.mkdir(parents=True, exist_ok=True)
    settled = time.time() - 30  # whole files: the scanner finished them before they appear
    for letter in letters:
        (paper / f"{letter.name}.json").write_text(json.dumps(
            {**letter.printed, "channel": letter.channel, "sha256": hashlib.sha256(letter.data).hexdigest()}))
        tmp = workspace.inbox / f".{letter.name}.tmp"
        tmp.write_bytes(letter.data)
        os.utime(tmp, (settled, settled))
        tmp.replace(workspace.inbox / letter.name)
    return len(letters)


def set_erp_outage(workspace: Workspace, down: bool) -> None:
    """Take the ERP stand-in down, or bring it back if (and only if) the world took it down."""
    erp = workspace.erp()
    flag = erp.down_flag
    if down:
        erp.set_available(False, WORLD_ERP_MARK)
    elif flag.is_file() and flag.read_text().strip() == WORLD_ERP_MARK:
        erp.set_available(True)


def suppliers_of(workspace: Workspace) -> list[Supplier]:
    """The installation's supplier master as the generators take it (records missing a habit are skipped)."""
    out = []
    for record in load_suppliers(workspace):
        try:
            out.append(Supplier.from_dict(record))
        except KeyError:  # a clerk-added record has no layout or font habits: the world does not write as it
            continue
    return out
