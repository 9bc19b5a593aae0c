"""Read one received file as an invoice, in order of trust, and say which path was taken.

1. **e-invoice**: an EN 16931 XML file (UBL or CII), or the XML embedded in a PDF/A-3
   (Factur-X/ZUGFeRD) -> exact fields, confidence 1 (:mod:`invoice_ocr.lib.einvoice`);
2. **text-layer**: a born-digital PDF's characters with their positions, no OCR
   (:mod:`invoice_ocr.lib.textlayer`); a page with (almost) no characters is a scan and is OCR'd;
3. **ocr**: scans and image-only pages through the RapidOCR engine (:mod:`invoice_ocr.lib.ocr`).

Paths 2 and 3 produce the same positioned boxes, so one extractor reads both
(:mod:`invoice_ocr.lib.extract`). :func:`read_invoice` is pure: it books nothing and writes nothing;
the pipeline, ``explain`` and ``inloop invoices read`` call it. What a person would have to look at
(an ambiguous date, an XML that fails its schema, the booking rules' objections) is in
``review_reasons``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from invoice_ocr.lib.einvoice import EInvoice, NotAnEInvoice, embedded_xml, looks_like_xml, parse_einvoice
from invoice_ocr.lib.extract import ALL_FIELDS, EXTRACTOR_VERSION, Extracted, ExtractedField, extract_fields
from invoice_ocr.lib.ocr import MAX_PAGES, PDF_DPI, OcrEngine, OcrLine, UnreadableFile, decode_pages, is_blank

__all__ = ["MAX_TEXT_PAGES", "PATHS", "InvoiceReading", "read_invoice"]

PATHS = ("e-invoice", "text-layer", "ocr", "unreadable")
#: A born-digital PDF costs no OCR per page, so longer invoices (itemised telecom or hotel bills) are read.
MAX_TEXT_PAGES = 30
#: Fields the JSON names by the domain's words; ``supplier_id`` is the master data's id (None when unknown).
_MONEY = ("net", "vat", "total")


@dataclass
class InvoiceReading:
    """What the machine reads from one file: fields, the path taken, the language, and why a person should look."""

    file: str
    path_taken: str
    language: str | None = None
    fields: dict[str, ExtractedField] = field(default_factory=dict)
    review_reasons: list[str] = field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None
    #: The extraction result the pipeline validates and records (None for unreadable files).
    extracted: Extracted | None = None
    notes: list[str] = field(default_factory=list)
    lines: list[OcrLine] = field(default_factory=list)
    pages: int = 0
    ocr_seconds: float = 0.0

    def values(self) -> dict[str, str | None]:
        return {k: f.value for k, f in self.fields.items()}

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape of ``inloop invoices read --json`` (one object per file)."""
        return {
            "file": self.file,
            "path_taken": self.path_taken,
            "language": self.language,
            "fields": {
                name: {"value": f.value, "confidence": round(float(f.confidence), 4), "source": f.source}
                for name in ALL_FIELDS
                if (f := self.fields.get(name, ExtractedField(None, 0.0, "not read")))
            },
            "review_reasons": list(self.review_reasons),
            "error": self.error,
        }


def _einvoice_fields(einvoice: EInvoice, suppliers: list[dict[str, Any]], origin: str) -> Extracted:
    values = einvoice.values
    fields = {
        name: ExtractedField(
            values.get(name),
            1.0 if values.get(name) is not None else 0.0,
            f"{origin}: {einvoice.syntax} {einvoice.paths.get(name, '')}".strip(),
        )
        for name in ALL_FIELDS
        if name != "supplier_id"
    }
    fields["supplier_id"] = _match_supplier(values, suppliers)
    ordered = {name: fields[name] for name in ALL_FIELDS}
    return Extracted(
        ordered,
        anchors_found=4,
        version=f"{EXTRACTOR_VERSION}+einvoice",
        languages=(),
        credit_note=einvoice.credit_note,
    )


def _squash(text: str | None) -> str:
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def _match_supplier(values: dict[str, str | None], suppliers: list[dict[str, Any]]) -> ExtractedField:
    """The master record an e-invoice's seller VAT id or IBAN names (exact match only)."""
    if not suppliers:
        return ExtractedField(None, 0.0, "no supplier master")
    vat, iban = _squash(values.get("vat_id")), _squash(values.get("iban"))
    by_vat = [s for s in suppliers if vat and _squash(s.get("vat_id")) == vat]
    by_iban = [s for s in suppliers if iban and _squash(s.get("iban")) == iban]
    found = {s["supplier_id"] for s in by_vat} | {s["supplier_id"] for s in by_iban}
    if len(found) == 1:
        return ExtractedField(found.pop(), 1.0, "seller VAT id / IBAN in the master data")
    if len(found) > 1:
        return ExtractedField(None, 0.0, "the seller's VAT id and IBAN name different suppliers")
    name = _squash(values.get("supplier_name"))
    by_name = [s for s in suppliers if name and _squash(s.get("name")) == name]
    if len(by_name) == 1:
        return ExtractedField(by_name[0]["supplier_id"], 0.9, "seller name in the master data")
    return ExtractedField(None, 0.0, "supplier not recognised in the master data")


def _open_pdf(data: bytes) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise UnreadableFile(
                "encrypted_pdf", "the PDF is password-protected; ask the supplier for an unprotected copy"
            ) from None
        raise UnreadableFile("corrupt_pdf", f"the PDF is damaged and cannot be opened ({exc})") from None


def _ocr_lines(
    engine: OcrEngine, page: Any, reading: InvoiceReading, page_index: int, y_offset: float
) -> list[OcrLine]:
    t0 = time.perf_counter()
    try:
        lines = engine.read(page)
    except Exception as exc:  # noqa: BLE001 - the engine's own errors (bad arrays, ONNX) make the file unreadable
        raise UnreadableFile(
            "ocr_error", f"the OCR engine failed on this page ({type(exc).__name__}: {exc})"
        ) from None
    finally:
        reading.ocr_seconds += time.perf_counter() - t0
    return [
        OcrLine(
            ln.text, ln.score, ln.x0, ln.y0 + y_offset, ln.x1, ln.y1 + y_offset, ln.slope, page_index, "ocr"
        )
        for ln in lines
    ]


def _pdf_lines(data: bytes, engine: OcrEngine | None, reading: InvoiceReading) -> tuple[list[OcrLine], bool]:
    """Boxes of every page: the text layer where there is one, OCR for scanned pages; and whether OCR ran."""
    import pypdfium2 as pdfium

    from invoice_ocr.lib.textlayer import page_phrases

    document = _open_pdf(data)
    try:
        count = len(document)
        if count == 0:
            raise UnreadableFile("corrupt_pdf", "the PDF has no pages")
        if count > MAX_TEXT_PAGES:
            raise UnreadableFile(
                "too_many_pages",
                f"the PDF has {count} pages; at most {MAX_TEXT_PAGES} are "
                "accepted (is this a batch of several invoices?)",
            )
        lines: list[OcrLine] = []
        offset = 0.0
        scanned: list[int] = []
        scale = PDF_DPI / 72
        for index in range(count):
            page = document[index]
            try:
                phrases = page_phrases(page, page_index=index, y_offset=offset)
            except pdfium.PdfiumError:
                phrases = None
            if phrases is None:
                scanned.append(index)
                if len(scanned) > MAX_PAGES:
                    raise UnreadableFile(
                        "too_many_pages",
                        f"the PDF has more than {MAX_PAGES} scanned pages; at "
                        f"most {MAX_PAGES} are read with OCR (is this a batch of several invoices?)",
                    )
                if engine is None:
                    engine = OcrEngine()
                width, height = page.get_size()
                from invoice_ocr.lib.ocr import MAX_PIXELS

                if width * height * scale * scale > MAX_PIXELS:
                    raise UnreadableFile(
                        "too_large", f"a PDF page of {width:.0f} x {height:.0f} pt is too large to render"
                    )
                try:
                    image = page.render(scale=scale).to_pil().convert("L")
                except pdfium.PdfiumError as exc:
                    raise UnreadableFile("corrupt_pdf", f"a PDF page cannot be rendered ({exc})") from None
                phrases = _ocr_lines(engine, image, reading, index, offset) if not is_blank(image) else []
            lines += phrases
            offset += page.get_height() * scale
        reading.pages = count
        if scanned:
            reading.notes.append(
                f"pages read with OCR (no text layer): {', '.join(str(i + 1) for i in scanned)}"
            )
        return lines, bool(scanned)
    finally:
        document.close()


def _image_lines(data: bytes, engine: OcrEngine, reading: InvoiceReading) -> list[OcrLine]:
    pages = decode_pages(data)
    if all(is_blank(p) for p in pages):
        raise UnreadableFile("blank_page", "the scan is a blank page (no text on it)")
    lines: list[OcrLine] = []
    offset = 0.0
    for index, page in enumerate(pages):
        lines += _ocr_lines(engine, page, reading, index, offset)
        offset += page.size[1]
    reading.pages = len(pages)
    return lines


def _turned(data: bytes, engine: OcrEngine, reading: InvoiceReading, angle: int) -> list[OcrLine]:
    """The scan's pages turned by ``angle`` degrees (counter-clockwise) and read again."""
    pages = decode_pages(data)
    out: list[OcrLine] = []
    offset = 0.0
    for index, page in enumerate(pages):
        turned = page.rotate(angle, expand=True)
        out += _ocr_lines(engine, turned, reading, index, offset)
        offset += turned.size[1]
    return out


def read_invoice(
    data: bytes,
    filename: str,
    *,
    suppliers: list[dict[str, Any]],
    engine: OcrEngine | None = None,
    today: dt.date | None = None,
    min_confidence: float | None = None,
) -> InvoiceReading:
    """Read one file in order of trust (e-invoice, text layer, OCR). Never raises for a bad file:
    an unreadable one comes back with ``path_taken == "unreadable"`` and the ``error`` saying why.

    ``suppliers`` is the master data (a list of supplier records; may be empty). ``review_reasons``
    are what would send the invoice to a person: the reading's own doubts plus the booking rules
    (at ``min_confidence``, the served policy's cut-off when the pipeline calls).
    """
    reading = InvoiceReading(file=filename, path_taken="unreadable")
    try:
        _read(data, filename, suppliers, engine, reading)
    except UnreadableFile as exc:
        reading.path_taken, reading.error, reading.error_kind = "unreadable", exc.message, exc.kind
        reading.review_reasons = [f"{exc.kind}: {exc.message}"]
        return reading
    assert reading.extracted is not None
    reading.fields = {
        name: reading.extracted.fields.get(name, ExtractedField(None, 0.0, "not found"))
        for name in ALL_FIELDS
    }
    reading.language = reading.extracted.language
    reading.review_reasons = [
        *reading.review_reasons,
        *reading.extracted.doubts,
        *_rule_reasons(reading.extracted, suppliers, today, min_confidence),
    ]
    return reading


def _read(
    data: bytes,
    filename: str,
    suppliers: list[dict[str, Any]],
    engine: OcrEngine | None,
    reading: InvoiceReading,
) -> None:
    if not data:
        raise UnreadableFile("empty_file", "the file is empty (0 bytes): the scan or upload did not complete")
    is_pdf = data[:1024].lstrip().startswith(b"%PDF")
    if not is_pdf and looks_like_xml(data):
        try:
            einvoice = parse_einvoice(data)
        except NotAnEInvoice as exc:
            raise UnreadableFile(
                "not_an_einvoice", f"an XML file that is not a readable e-invoice: {exc}"
            ) from None
        _take_einvoice(einvoice, suppliers, reading, "XML file")
        return
    if is_pdf:
        embedded = embedded_xml(data)
        if embedded is not None:
            name, xml = embedded
            try:
                einvoice = parse_einvoice(xml)
            except NotAnEInvoice as exc:
                reading.notes.append(f"embedded XML {name!r} not read ({exc}); the PDF itself was read")
            else:
                _take_einvoice(einvoice, suppliers, reading, f"XML {name!r} embedded in the PDF")
                return
        lines, used_ocr = _pdf_lines(data, engine, reading)
        reading.path_taken = (
            "ocr" if used_ocr and not any(ln.origin == "text-layer" for ln in lines) else "text-layer"
        )
        if used_ocr and reading.path_taken == "text-layer":
            reading.notes.append("mixed PDF: text layer and OCR")
    else:
        engine = engine or OcrEngine()
        lines = _image_lines(data, engine, reading)
        reading.path_taken = "ocr"
    if not lines:
        raise UnreadableFile("blank_page", "the document has no text on it (blank pages)")
    extracted = extract_fields(lines, suppliers)
    if extracted.looks_upside_down and reading.path_taken == "ocr" and not is_pdf:
        assert engine is not None
        # Upside down (a sheet fed the wrong way) first, then sideways (a photo taken in landscape).
        for angle, how in ((180, "upside down"), (90, "sideways"), (270, "sideways")):
            turned_lines = _turned(data, engine, reading, angle)
            turned = extract_fields(turned_lines, suppliers)
            if not turned.looks_upside_down:
                reading.notes.append(f"the scan was {how}; it was read after turning it")
                extracted, lines = turned, turned_lines
                break
        else:
            raise UnreadableFile(
                "no_invoice_text", "no invoice fields found on the page (not an invoice, or unreadable)"
            )
    elif extracted.looks_upside_down and all(
        f.value is None
        for k, f in extracted.fields.items()
        if k in ("invoice_number", "total", "invoice_date")
    ):
        raise UnreadableFile(
            "no_invoice_text", "no invoice fields found in the document (not an invoice, or unreadable)"
        )
    reading.lines = lines
    reading.extracted = extracted


def _take_einvoice(
    einvoice: EInvoice, suppliers: list[dict[str, Any]], reading: InvoiceReading, origin: str
) -> None:
    reading.path_taken = "e-invoice"
    reading.extracted = _einvoice_fields(einvoice, suppliers, origin)
    reading.notes.append(f"e-invoice ({einvoice.syntax}) read from the {origin}")
    if einvoice.schema_problem:
        reading.review_reasons.append(einvoice.schema_problem)


def _rule_reasons(
    extracted: Extracted, suppliers: list[dict[str, Any]], today: dt.date | None, min_confidence: float | None
) -> list[str]:
    """The booking rules' objections to this reading (what the review queue would say)."""
    from invoice_ocr.lib.validate import MIN_CONFIDENCE, batch_frame, row_problems

    frame = batch_frame(
        [{"invoice_id": 0, "fields": extracted.to_dict()}], suppliers, today or dt.date.today()
    )
    return row_problems(frame.iloc[0], MIN_CONFIDENCE if min_confidence is None else min_confidence)
