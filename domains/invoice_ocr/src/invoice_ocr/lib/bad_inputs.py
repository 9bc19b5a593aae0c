"""Deliberately bad files, one maker per way an invoice can arrive broken (for tests, demos, evaluation)."""

from __future__ import annotations

import dataclasses
import io
import re
import struct
import zlib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from PIL import Image

from invoice_ocr.lib.invoices import generate_invoice
from invoice_ocr.lib.render import render_page, scan_bytes, scan_effects
from invoice_ocr.lib.suppliers import Supplier

__all__ = ["BAD_KINDS", "EXPECTED_OUTCOMES", "EXPECTED_REVIEW_KIND", "make_bad_file"]


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _clean(index: int, suppliers: list[Supplier], seed: int, fmt: str = "png") -> tuple[Image.Image, bytes]:
    invoice = generate_invoice(index, suppliers, seed)
    image = scan_effects(render_page(invoice), invoice.scan, seed=seed * 1_000_003 + index)
    return image, scan_bytes(image, fmt, 80)


def _bomb() -> bytes:
    """A PNG whose header claims 50,000 x 50,000 pixels (2.5 Gpx, about 2.5 GB decoded) in a few hundred bytes."""
    data = bytearray(_png(Image.new("1", (64, 64), 1)))
    # IHDR starts at byte 8: length(4) "IHDR"(4) width(4) height(4) ... crc(4) over type+data.
    data[16:24] = struct.pack(">II", 50_000, 50_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _encrypted_pdf(index: int, suppliers: list[Supplier], seed: int) -> bytes:
    from pypdf import PdfReader, PdfWriter

    _, pdf = _clean(index, suppliers, seed, "pdf")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt("supplier-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _misprinted_total(index: int, suppliers: list[Supplier], seed: int) -> bytes:
    invoice = dataclasses.replace(generate_invoice(index, suppliers, seed), total_misprint=Decimal("10.00"))
    return scan_bytes(scan_effects(render_page(invoice), invoice.scan, seed=index), "png")


def _foreign_iban(index: int, suppliers: list[Supplier], seed: int) -> bytes:
    """The supplier's invoice, but asking for payment into another (valid) account: fraud or changed bank details."""
    from invoice_ocr.lib.iban import make_iban

    invoice = generate_invoice(index, suppliers, seed)
    country = invoice.supplier.iban[:2]
    # Another account at the same bank (digits reversed, bank letters kept): well-formed, checksum right.
    other = make_iban(country, re.sub(r"\d+", lambda m: m.group(0)[::-1], invoice.supplier.iban[4:]))
    invoice = dataclasses.replace(invoice, supplier=dataclasses.replace(invoice.supplier, iban=other))
    return scan_bytes(scan_effects(render_page(invoice), invoice.scan, seed=index), "png")


#: kind -> (file name suffix, maker(index, suppliers, seed) -> bytes)
_MAKERS: dict[str, tuple[str, Callable[[int, list[Supplier], int], bytes]]] = {
    "zero_bytes": (".pdf", lambda i, s, seed: b""),
    "truncated_image": (".png", lambda i, s, seed: (lambda b: b[: len(b) // 2])(_clean(i, s, seed)[1])),
    "not_an_image": (".jpg", lambda i, s, seed: b"Hello,\nplease find our invoice attached.\nRegards\n" * 20),
    "blank_page": (".png", lambda i, s, seed: _png(Image.new("L", (1240, 1754), 246))),
    "broken_pdf": (".pdf", lambda i, s, seed: (lambda b: b[:200] + b"\x00garbage" * 50)(_clean(i, s, seed, "pdf")[1])),
    "encrypted_pdf": (".pdf", _encrypted_pdf),
    "decompression_bomb": (".png", lambda i, s, seed: _bomb()),
    "upside_down": (".png", lambda i, s, seed: _png(_clean(i, s, seed)[0].rotate(180))),
    "low_resolution": (".png", lambda i, s, seed: _png(_clean(i, s, seed)[0].reduce(4))),
    "totals_do_not_add_up": (".png", _misprinted_total),
    "iban_not_in_master": (".png", _foreign_iban),
}
BAD_KINDS = tuple(_MAKERS) + ("duplicate",)

#: How each kind must end: the review reason kind, or "booked" (an upside-down scan is read after turning
#: it; if a field is still unreadable then, it goes to review like any other scan).
EXPECTED_OUTCOMES: dict[str, set[str]] = {}
EXPECTED_REVIEW_KIND = {
    "zero_bytes": "empty_file",
    "truncated_image": "truncated",
    "not_an_image": "not_a_document",
    "blank_page": "blank_page",
    "broken_pdf": "corrupt_pdf",
    "encrypted_pdf": "encrypted_pdf",
    "decompression_bomb": "too_large",
    "upside_down": "booked",
    "low_resolution": "low_resolution",
    "totals_do_not_add_up": "validation_failed",
    "iban_not_in_master": "validation_failed",
}
EXPECTED_OUTCOMES.update({kind: {outcome} for kind, outcome in EXPECTED_REVIEW_KIND.items()})
EXPECTED_OUTCOMES["upside_down"] = {"booked", "validation_failed", "low_confidence"}
EXPECTED_OUTCOMES["duplicate"] = {"duplicate submission"}


def make_bad_file(kind: str, index: int, suppliers: list[Supplier], out_dir: Path, seed: int = 42) -> Path:
    """Write one bad file of ``kind`` (built from invoice ``index`` where it needs one) into ``out_dir``."""
    if kind not in _MAKERS:
        raise ValueError(f"unknown bad-file kind {kind!r}; kinds: {', '.join(_MAKERS)}")
    suffix, maker = _MAKERS[kind]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"bad-{kind}-{index:05d}{suffix}"
    path.write_bytes(maker(index, suppliers, seed))
    return path
