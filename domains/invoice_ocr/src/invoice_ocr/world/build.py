"""The seeded plan of the world set and the writer that makes it.

``python -m invoice_ocr.world --out domains/invoice_ocr/evaluation/world`` (needs Chromium) writes:

- ``born-digital/``: every layout in every language once, printed by Chromium (text layer intact);
- ``scan/``: every layout in three languages, printed and then scanned (JPEG, or an image-only PDF
  for several pages);
- ``e-invoice/``: Factur-X PDFs (CII embedded), XRechnung UBL files and CII files;
- a ground truth ``.json`` beside every document, ``suppliers.json`` (the supplier master the
  reader is given: most suppliers, not all — unknown suppliers are part of the world) and
  ``manifest.json`` (every document with its sha256, kind, language and layout).

The same seed gives the same documents: contents, wordings and scan noise are drawn from
``random.Random`` / NumPy generators seeded per document, and the PDFs' dates are pinned.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invoice_ocr.world.content import Party, PrintedInvoice, WorldInvoice, draw_invoice, make_supplier
from invoice_ocr.world.conventions import MARKETS, Market, markets_for
from invoice_ocr.world.einvoices import EN16931, XRECHNUNG, cii_xml, facturx_pdf, ubl_xml
from invoice_ocr.world.layouts import LAYOUTS, render_html
from invoice_ocr.world.printing import ChromiumPrinter, ScanSettings, page_count, scan_pdf

__all__ = ["LANGUAGES", "PlannedDocument", "build_world", "plan_world"]

LANGUAGES = ("en", "de", "fr", "nl", "es", "it")
_FONTS = (
    "DejaVu Sans",
    "DejaVu Serif",
    "DejaVu Sans Mono",
    "Liberation Sans",
    "Liberation Serif",
    "Liberation Mono",
    "Carlito",
    "Caladea",
    "DejaVu Sans Condensed",
)
#: share of suppliers the supplier master knows; the rest arrive unknown, as in life
_KNOWN_SHARE = 0.8


@dataclass(frozen=True)
class PlannedDocument:
    """One document of the set: what it is, before it is made."""

    index: int
    kind: str  # born-digital | scan | e-invoice
    language: str
    market: str
    layout: str  # an HTML layout, or the e-invoice syntax (factur-x, xrechnung-ubl, xrechnung-cii)
    credit_note: bool
    many_lines: bool

    @property
    def stem(self) -> str:
        return f"{self.index:03d}-{self.language}-{self.layout}"


def plan_world(seed: int = 2026) -> list[PlannedDocument]:
    """The set's documents: 14 layouts x 6 languages born-digital, 14 x 3 scanned, 30 e-invoices."""
    rng = random.Random(f"world-plan:{seed}")
    plan: list[PlannedDocument] = []

    def add(kind: str, language: str, layout: str, market: Market, *, credit: bool, many: bool) -> None:
        plan.append(PlannedDocument(len(plan) + 1, kind, language, market.code, layout, credit, many))

    layouts = list(LAYOUTS)
    for li, layout in enumerate(layouts):
        for lj, language in enumerate(LANGUAGES):
            markets = markets_for(language)
            market = markets[(li + lj) % len(markets)]
            k = li * len(LANGUAGES) + lj
            add(
                "born-digital",
                language,
                layout,
                market,
                credit=k % 7 == 3,
                many=layout == "statement" or (layout != "hotel_folio" and k % 11 == 5),
            )
    for li, layout in enumerate(layouts):
        for step in range(3):
            language = LANGUAGES[(li * 3 + step) % len(LANGUAGES)]
            markets = markets_for(language)
            market = markets[rng.randrange(len(markets))]
            add(
                "scan",
                language,
                layout,
                market,
                credit=(li + step) % 6 == 2,
                many=layout == "statement" or (li + step) % 9 == 4 and layout != "hotel_folio",
            )
    einvoice_markets = [m for m in MARKETS.values() if m.has_iban]
    for k in range(30):
        syntax = ("factur-x", "xrechnung-ubl", "xrechnung-cii")[k % 3]
        if syntax == "factur-x":
            market = einvoice_markets[k * 5 % len(einvoice_markets)]
        else:  # XRechnung is Germany's CIUS, but German buyers receive it from suppliers everywhere
            market = MARKETS["de-DE"] if k % 2 == 0 else einvoice_markets[k * 7 % len(einvoice_markets)]
        add("e-invoice", market.language, syntax, market, credit=k % 4 == 1, many=k % 10 == 7)
    return plan


class _Suppliers:
    """One supplier per (layout, market): a sender keeps its layout; most are in the master."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.by_key: dict[tuple[str, str], Party] = {}

    def get(self, layout: str, market: Market) -> Party:
        key = (layout, market.code)
        if key not in self.by_key:
            rng = random.Random(f"supplier:{self.seed}:{layout}:{market.code}")
            # The master pays by IBAN; a sender without one (a US vendor) is never in it.
            known = rng.random() < _KNOWN_SHARE and market.has_iban
            supplier_id = f"W{len(self.by_key) + 1:04d}" if known else None
            self.by_key[key] = make_supplier(market, rng, supplier_id)
        return self.by_key[key]

    def master(self) -> list[dict[str, Any]]:
        return [
            party.master_record(MARKETS[code].currency, MARKETS[code].vat_rates[0], layout)
            for (layout, code), party in self.by_key.items()
            if party.supplier_id
        ]


def _draw(doc: PlannedDocument, suppliers: _Suppliers, seed: int) -> WorldInvoice:
    market = MARKETS[doc.market]
    rng = random.Random(f"invoice:{seed}:{doc.index}")
    supplier = suppliers.get(doc.layout if doc.kind != "e-invoice" else "e-invoice", market)
    layout = doc.layout if doc.kind != "e-invoice" else list(LAYOUTS)[doc.index % len(LAYOUTS)]
    if layout in ("hotel_folio", "statement") and doc.kind == "e-invoice":
        layout = "din5008"
    invoice = draw_invoice(
        market,
        supplier,
        rng,
        credit_note=doc.credit_note,
        many_lines=doc.many_lines,
        hotel=layout == "hotel_folio",
        font=rng.choice(_FONTS),
    )
    invoice.layout = layout
    invoice.seed = f"{seed}:{doc.index}"
    return invoice


def build_world(
    out: Path, seed: int = 2026, *, log: Callable[[str], object] = print, only: int | None = None
) -> list[dict[str, Any]]:
    """Make the whole set under ``out`` (replacing what is there); returns the manifest rows."""
    plan = plan_world(seed)[:only] if only else plan_world(seed)
    if out.exists():
        for sub in ("born-digital", "scan", "e-invoice"):
            shutil.rmtree(out / sub, ignore_errors=True)
    suppliers = _Suppliers(seed)
    manifest: list[dict[str, Any]] = []
    with ChromiumPrinter() as printer:
        for n, doc in enumerate(plan, 1):
            invoice = _draw(doc, suppliers, seed)
            truth = invoice.ground_truth()
            truth.update(kind=doc.kind, layout=doc.layout, seed=invoice.seed)
            folder = out / doc.kind
            folder.mkdir(parents=True, exist_ok=True)
            if doc.kind == "e-invoice":
                data, suffix, extra = _einvoice(doc, invoice, printer)
            else:
                pdf = printer.pdf(render_html(PrintedInvoice(invoice), invoice.layout))
                extra = {"pages": page_count(pdf), "font": invoice.font}
                if doc.kind == "born-digital":
                    data, suffix = pdf, ".pdf"
                else:
                    settings = ScanSettings.draw(random.Random(f"scan:{seed}:{doc.index}"))
                    data, suffix = scan_pdf(pdf, settings, seed=seed * 100_003 + doc.index)
                    extra["scan"] = settings.to_dict()
            truth.update(extra)
            path = folder / f"{doc.stem}{suffix}"
            path.write_bytes(data)
            truth = {"file": f"{doc.kind}/{path.name}", "sha256": hashlib.sha256(data).hexdigest(), **truth}
            path.with_suffix(".json").write_text(
                json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            manifest.append(
                {
                    k: truth[k]
                    for k in (
                        "file",
                        "sha256",
                        "kind",
                        "language",
                        "market",
                        "layout",
                        "document_type",
                        "pages",
                    )
                }
            )
            if n % 10 == 0 or n == len(plan):
                log(f"  {n}/{len(plan)} documents written")
    (out / "suppliers.json").write_text(
        json.dumps(suppliers.master(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / "manifest.json").write_text(
        json.dumps({"seed": seed, "documents": manifest}, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    return manifest


def _einvoice(
    doc: PlannedDocument, invoice: WorldInvoice, printer: ChromiumPrinter
) -> tuple[bytes, str, dict[str, Any]]:
    if doc.layout == "factur-x":
        pdf = printer.pdf(render_html(PrintedInvoice(invoice), invoice.layout))
        data = facturx_pdf(pdf, cii_xml(invoice, EN16931), title=f"{invoice.number}")
        return (
            data,
            ".pdf",
            {
                "pages": page_count(pdf),
                "syntax": "factur-x (CII, EN 16931)",
                "printed_layout": invoice.layout,
            },
        )
    cii = cii_xml(invoice, XRECHNUNG)
    if doc.layout == "xrechnung-cii":
        return cii, ".xml", {"pages": None, "syntax": "XRechnung CII"}
    return ubl_xml(cii, XRECHNUNG), ".xml", {"pages": None, "syntax": "XRechnung UBL 2.1"}
