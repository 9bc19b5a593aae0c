"""Render a synthetic invoice as a scan: three layouts, DejaVu fonts, noise, rotation; PNG, JPEG or PDF.

Fonts come from matplotlib's bundled DejaVu set (a locked dependency), so the pixels are the same on
every machine whatever fonts the system has.
"""

from __future__ import annotations

import io
from decimal import Decimal
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from invoice_ocr.lib.iban import format_iban
from invoice_ocr.lib.invoices import BUYER, Invoice, format_amount, format_date

__all__ = ["DPI", "PAGE_SIZE", "born_digital_pdf", "font_path", "render_page", "scan_bytes", "scan_effects"]

DPI = 150
PAGE_SIZE = (1240, 1754)  # A4 at 150 dpi
_LEFT, _RIGHT = 100, 1140

_LABELS = {
    "en": {"title": "INVOICE", "number": "Invoice No.", "date": "Invoice date", "due": "Due date",
           "customer": "Customer No.", "order": "Order No.", "pos": "Pos", "desc": "Description", "qty": "Qty",
           "unit": "Unit price", "amount": "Amount", "net": "Net amount", "vat": "VAT", "total": "Total",
           "bank": "Bank details", "vat_id": "VAT ID", "currency": "Currency", "bill_to": "Bill to",
           "pay": "Please transfer the total by the due date to", "terms": "Payment terms"},
    "de": {"title": "RECHNUNG", "number": "Rechnungsnummer", "date": "Rechnungsdatum", "due": "Fällig am",
           "customer": "Kundennummer", "order": "Bestellnummer", "pos": "Pos", "desc": "Beschreibung",
           "qty": "Menge", "unit": "Einzelpreis", "amount": "Betrag", "net": "Nettobetrag", "vat": "MwSt",
           "total": "Gesamtbetrag", "bank": "Bankverbindung", "vat_id": "USt-IdNr.", "currency": "Währung",
           "bill_to": "Rechnungsempfänger", "pay": "Bitte überweisen Sie den Gesamtbetrag bis zum Fälligkeitsdatum an",
           "terms": "Zahlungsbedingungen"},
}


@cache
def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def font_path(family: str, bold: bool = False) -> Path:
    """Path of a bundled DejaVu font (``DejaVuSans``, ``DejaVuSerif``, ``DejaVuSansMono``)."""
    return _font_dir() / f"{family}{'-Bold' if bold else ''}.ttf"


@cache
def _font(family: str, size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(family, bold)), size)


class _Page:
    def __init__(self, family: str) -> None:
        self.image = Image.new("L", PAGE_SIZE, 255)
        self.draw = ImageDraw.Draw(self.image)
        self.family = family

    def text(self, xy: tuple[int, int], text: str, size: int = 22, bold: bool = False, anchor: str = "la",
             fill: int = 0) -> None:
        self.draw.text(xy, text, font=_font(self.family, size, bold), fill=fill, anchor=anchor)

    def right(self, x: int, y: int, text: str, size: int = 22, bold: bool = False) -> None:
        self.text((x, y), text, size, bold, anchor="ra")

    def line(self, y: int, x0: int = _LEFT, x1: int = _RIGHT, width: int = 2) -> None:
        self.draw.line([(x0, y), (x1, y)], fill=0, width=width)


def _vat_label(inv: Invoice, labels: dict[str, str]) -> str:
    pct = (inv.vat_rate * 100).normalize()
    pct_text = f"{pct:f}".replace(".", ",") if inv.supplier.amount_style == "de" else f"{pct:f}"
    return f"{labels['vat']} {pct_text} %" if inv.supplier.language == "de" else f"{labels['vat']} {pct_text}%"


def _money(inv: Invoice, value: Decimal) -> str:
    return format_amount(value, inv.supplier.amount_style)


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _classic(inv: Invoice, page: _Page, labels: dict[str, str]) -> None:
    s = inv.supplier
    page.text((_LEFT, 90), s.name, 40, bold=True)
    page.text((_LEFT, 148), f"{s.street} · {s.postcode} {s.city} · {s.country}", 20)
    for i, line in enumerate(BUYER):
        page.text((_LEFT, 270 + i * 32), line, 24)
    meta = [(labels["number"], inv.invoice_number), (labels["date"], format_date(inv.invoice_date, s.date_style)),
            (labels["due"], format_date(inv.due_date, s.date_style)), (labels["customer"], inv.customer_number),
            (labels["order"], inv.order_number)]
    for i, (label, value) in enumerate(meta):
        page.text((700, 270 + i * 34), f"{label}:", 22)
        page.text((960, 270 + i * 34), value, 22, bold=i == 0)
    page.text((_LEFT, 490), labels["title"], 44, bold=True)
    y = 580
    page.text((_LEFT, y), labels["pos"], 22, bold=True)
    page.text((170, y), labels["desc"], 22, bold=True)
    page.right(800, y, labels["qty"], 22, bold=True)
    page.right(965, y, labels["unit"], 22, bold=True)
    page.right(_RIGHT, y, labels["amount"], 22, bold=True)
    page.line(y + 34)
    y += 48
    for n, item in enumerate(inv.items, 1):
        page.text((_LEFT, y), str(n), 22)
        page.text((170, y), item.description, 22)
        page.right(800, y, _qty(item.quantity), 22)
        page.right(965, y, _money(inv, item.unit_price), 22)
        page.right(_RIGHT, y, _money(inv, item.amount), 22)
        y += 38
    page.line(y + 4)
    y += 24
    for label, value, bold in ((labels["net"], inv.net, False), (_vat_label(inv, labels), inv.vat, False),
                               (labels["total"], inv.total, True)):
        page.text((700, y), label, 24, bold=bold)
        page.right(_RIGHT, y, f"{_money(inv, value)} {inv.currency}", 24, bold=bold)
        y += 40
    page.line(1560, width=1)
    page.text((_LEFT, 1580), s.name, 19)
    page.text((_LEFT, 1608), s.street, 19)
    page.text((_LEFT, 1636), f"{s.postcode} {s.city}", 19)
    page.text((430, 1580), labels["bank"], 19, bold=True)
    page.text((430, 1608), f"IBAN: {format_iban(s.iban)}", 19)
    page.text((430, 1636), f"BIC: {s.bic}", 19)
    page.text((940, 1580), f"{labels['vat_id']}:", 19)
    page.text((940, 1608), s.vat_id, 19)


def _modern(inv: Invoice, page: _Page, labels: dict[str, str]) -> None:
    s = inv.supplier
    page.draw.rectangle([(0, 0), (PAGE_SIZE[0], 190)], fill=228)
    page.text((_LEFT, 60), s.name, 42, bold=True)
    page.text((_LEFT, 122), f"{s.street}, {s.postcode} {s.city}, {s.country}", 20)
    page.right(_RIGHT, 56, labels["title"], 52, bold=True)
    boxes = [(labels["number"], inv.invoice_number), (labels["date"], format_date(inv.invoice_date, s.date_style)),
             (labels["due"], format_date(inv.due_date, s.date_style)), (labels["currency"], inv.currency)]
    width = (_RIGHT - _LEFT) // 4
    for i, (label, value) in enumerate(boxes):
        x = _LEFT + i * width
        page.draw.rectangle([(x, 250), (x + width - 16, 350)], outline=90, width=2)
        page.text((x + 14, 262), label, 19, fill=70)
        page.text((x + 14, 302), value, 26, bold=True)
    page.text((_LEFT, 410), f"{labels['bill_to']}:", 20, bold=True)
    for i, line in enumerate(BUYER):
        page.text((_LEFT, 442 + i * 30), line, 22)
    page.text((700, 442), f"{labels['customer']}: {inv.customer_number}", 22)
    page.text((700, 474), f"{labels['order']}: {inv.order_number}", 22)
    y = 660
    page.draw.rectangle([(_LEFT - 10, y - 10), (_RIGHT + 10, y + 34)], fill=215)
    page.text((_LEFT, y), labels["desc"], 22, bold=True)
    page.right(780, y, labels["qty"], 22, bold=True)
    page.right(960, y, labels["unit"], 22, bold=True)
    page.right(_RIGHT, y, labels["amount"], 22, bold=True)
    y += 50
    for n, item in enumerate(inv.items):
        if n % 2:
            page.draw.rectangle([(_LEFT - 10, y - 7), (_RIGHT + 10, y + 31)], fill=243)
        page.text((_LEFT, y), item.description, 22)
        page.right(780, y, _qty(item.quantity), 22)
        page.right(960, y, _money(inv, item.unit_price), 22)
        page.right(_RIGHT, y, _money(inv, item.amount), 22)
        y += 38
    y += 30
    for label, value, bold in ((labels["net"], inv.net, False), (_vat_label(inv, labels), inv.vat, False),
                               (f"{labels['total']} {inv.currency}", inv.total, True)):
        page.text((720, y), label, 24, bold=bold)
        page.right(_RIGHT, y, _money(inv, value), 26 if bold else 24, bold=bold)
        y += 42
    y = max(y + 40, 1380)
    page.text((_LEFT, y), labels["pay"] + ":", 20)
    page.text((_LEFT, y + 48), f"IBAN {format_iban(s.iban)}   BIC {s.bic}", 24, bold=True)
    page.line(1620, width=1)
    page.text((PAGE_SIZE[0] // 2, 1640), f"{s.name} · {labels['vat_id']} {s.vat_id}", 19, anchor="ma")


def _compact(inv: Invoice, page: _Page, labels: dict[str, str]) -> None:
    s = inv.supplier
    page.text((_LEFT, 80), s.name, 34, bold=True)
    page.text((_LEFT, 128), f"{s.street}, {s.postcode} {s.city}", 21)
    page.text((_LEFT, 160), f"{labels['vat_id']}: {s.vat_id}", 21)
    page.text((_LEFT, 192), f"IBAN: {format_iban(s.iban)}  BIC: {s.bic}", 21)
    page.line(232, width=1)
    page.text((_LEFT, 262), labels["title"], 36, bold=True)
    rows = [(labels["number"], inv.invoice_number), (labels["date"], format_date(inv.invoice_date, s.date_style)),
            (labels["customer"], inv.customer_number), (labels["order"], inv.order_number),
            (labels["currency"], inv.currency)]
    for i, (label, value) in enumerate(rows):
        page.text((_LEFT, 330 + i * 34), f"{label}: {value}", 22)
    page.text((720, 330), BUYER[0], 22)
    for i, line in enumerate(BUYER[2:4]):
        page.text((720, 364 + i * 34), line, 22)
    y = 540
    page.line(y - 10, width=1)
    for item in inv.items:
        page.text((_LEFT, y), f"{_qty(item.quantity)} x {item.description}", 22)
        page.right(_RIGHT, y, _money(inv, item.amount), 22)
        y += 36
    page.line(y + 6, width=1)
    y += 26
    for label, value, bold in ((labels["net"], inv.net, False), (_vat_label(inv, labels), inv.vat, False),
                               (f"{labels['total']} {inv.currency}", inv.total, True)):
        page.text((640, y), label, 24, bold=bold)
        page.right(_RIGHT, y, _money(inv, value), 24, bold=bold)
        y += 40
    page.text((_LEFT, y + 40), f"{labels['terms']}: {labels['due']} {format_date(inv.due_date, s.date_style)}", 21)


_LAYOUTS = {"classic": _classic, "modern": _modern, "compact": _compact}


def render_page(invoice: Invoice) -> Image.Image:
    """The clean page, before any scan effect (greyscale, 150 dpi)."""
    page = _Page(invoice.supplier.font)
    _LAYOUTS[invoice.supplier.layout](invoice, page, _LABELS[invoice.supplier.language])
    return page.image


class _RecordedPage(_Page):
    """A page that also records what the layout prints and where, for :func:`born_digital_pdf`."""

    def __init__(self, family: str) -> None:
        super().__init__(family)
        self.texts: list[tuple[float, float, str, int, bool]] = []

    def text(self, xy: tuple[int, int], text: str, size: int = 22, bold: bool = False, anchor: str = "la",
             fill: int = 0) -> None:
        width = _font(self.family, size, bold).getlength(text)
        x = xy[0] - (width if anchor[0] == "r" else width / 2 if anchor[0] == "m" else 0)
        self.texts.append((x, xy[1], text, size, bold))


def born_digital_pdf(invoice: Invoice) -> bytes:
    """The invoice as a born-digital PDF: the same layout as its scan, as text (Helvetica, a standard
    Type1 font every PDF reader has) in a text layer, the way accounting software writes invoices."""
    page = _RecordedPage(invoice.supplier.font)
    _LAYOUTS[invoice.supplier.layout](invoice, page, _LABELS[invoice.supplier.language])
    scale = 72 / DPI
    height = PAGE_SIZE[1] * scale

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "".join(
        f"BT /F{2 if bold else 1} {size * scale:.2f} Tf {x * scale:.2f} {height - (y + 0.8 * size) * scale:.2f} Td "
        f"({esc(text)}) Tj ET\n" for x, y, text, size, bold in page.texts)
    body = content.encode("cp1252", errors="replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_SIZE[0] * scale:.2f} {height:.2f}] /Resources << /Font "
        "<< /F1 5 0 R /F2 6 0 R >> >> /Contents 4 0 R >>".encode(),
        b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def scan_effects(page: Image.Image, scan: dict[str, object], seed: int) -> Image.Image:
    """Paper tone, blur, a slight rotation and sensor noise, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    paper, ink = int(scan.get("paper", 245)), 25
    arr = np.asarray(page, dtype=np.float32) / 255.0
    arr = ink + (paper - ink) * arr
    img = Image.fromarray(arr.round().clip(0, 255).astype(np.uint8), "L")
    if float(scan.get("blur", 0)) > 0:
        img = img.filter(ImageFilter.GaussianBlur(float(scan["blur"])))
    img = img.rotate(float(scan.get("rotation", 0)), resample=Image.Resampling.BICUBIC, fillcolor=paper)
    arr = np.asarray(img, dtype=np.float32)
    arr = arr + rng.normal(0.0, float(scan.get("noise", 0)), arr.shape)
    specks = rng.random(arr.shape) < 0.0004
    arr[specks] = rng.uniform(20, 120, int(specks.sum()))
    img = Image.fromarray(arr.round().clip(0, 255).astype(np.uint8), "L")
    if not scan.get("grayscale", True):
        tint = Image.merge("RGB", (img, img.point(lambda v: min(255, v + 2)), img.point(lambda v: max(0, v - 4))))
        img = tint
    return img


def scan_bytes(image: Image.Image, fmt: str, jpeg_quality: int = 80) -> bytes:
    """Encode a scanned page as a file of ``fmt`` (``png``, ``jpeg`` or ``pdf``)."""
    out = io.BytesIO()
    if fmt == "png":
        image.save(out, "PNG", dpi=(DPI, DPI), compress_level=6)
    elif fmt == "jpeg":
        image.save(out, "JPEG", quality=jpeg_quality, dpi=(DPI, DPI))
    elif fmt == "pdf":
        image.save(out, "PDF", resolution=float(DPI), quality=jpeg_quality, title="Scan",
                   creationDate=None, modDate=None)
    else:
        raise ValueError(f"unknown scan format {fmt!r}")
    return out.getvalue()
