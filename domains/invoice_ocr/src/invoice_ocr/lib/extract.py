"""Field extraction from OCR lines: supplier, invoice number, date, IBAN, net, VAT, total, currency.

Layout-aware rules rather than a trained model: each field is found next to its label (same line,
to the right on the same row, or just below it, the three ways invoices print a value), parsed, and
given a confidence (the OCR score of the text it came from, lowered for weaker evidence). The
supplier is matched against the master data by name, VAT id and IBAN. Pages are de-skewed from the
text boxes' slope before rows are compared.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import unicodedata
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from typing import Any

from invoice_ocr.lib.iban import BBAN_FORMATS, is_valid_iban
from invoice_ocr.lib.ocr import OcrLine

__all__ = ["EXTRACTOR_VERSION", "FIELDS", "Extracted", "ExtractedField", "extract_fields", "parse_amount",
           "parse_date"]

EXTRACTOR_VERSION = "layout-rules-1.0"
FIELDS = ("supplier_id", "invoice_number", "invoice_date", "iban", "net", "vat", "total", "currency")
CURRENCIES = ("EUR", "CHF", "GBP", "USD")

_LABELS = {
    "invoice_number": ("invoice no", "invoice number", "invoice #", "rechnungsnummer", "rechnungsnr", "rechnungs-nr"),
    "invoice_date": ("invoice date", "rechnungsdatum"),
    "net": ("net amount", "nettobetrag", "subtotal", "net total"),
    "vat": ("vat", "mwst", "ust"),
    "total": ("total", "gesamtbetrag", "amount due"),
    "currency": ("currency", "wahrung"),
    "iban": ("iban",),
}
_NOT_VAT = re.compile(r"^\s*(vat\s*id|ust\s*-?\s*id|vat\s*reg|vat\s*no)", re.IGNORECASE)
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_MONTHS.update({"mai": 5, "okt": 10, "dez": 12, "mrz": 3, "marz": 3})


@dataclass(frozen=True)
class ExtractedField:
    value: str | None
    confidence: float
    source: str = ""


@dataclass(frozen=True)
class Extracted:
    fields: dict[str, ExtractedField]
    anchors_found: int
    version: str = EXTRACTOR_VERSION

    @property
    def looks_upside_down(self) -> bool:
        """No label found at all: the page may be upside down (or not an invoice)."""
        return self.anchors_found == 0

    def values(self) -> dict[str, str | None]:
        return {k: f.value for k, f in self.fields.items()}

    def to_dict(self) -> dict[str, Any]:
        return {k: asdict(f) for k, f in self.fields.items()}


def _fold(text: str) -> str:
    """Lower-case without accents, *one character per character* so indices still match the original."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFKD", ch)[:1] or ch
        out.append(base.lower() if len(base.lower()) == 1 else ch)
    return "".join(out)


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", _fold(text))


def _label_pattern(label: str) -> re.Pattern[str]:
    chars = [re.escape(c) for c in label if c != " "]
    return re.compile(r"^\s*" + r"\s*".join(chars) + r"\s*\.?", re.IGNORECASE)


_PATTERNS = {field: [_label_pattern(label) for label in labels] for field, labels in _LABELS.items()}


class _Page:
    def __init__(self, lines: list[OcrLine]) -> None:
        self.lines = lines
        slopes = [ln.slope for ln in lines if ln.x1 - ln.x0 > 120 and abs(ln.slope) < 0.1]
        self.slope = statistics.median(slopes) if slopes else 0.0
        self.height = max((ln.y1 for ln in lines), default=1.0)

    def y(self, line: OcrLine) -> float:
        """Row coordinate with the page's skew taken out."""
        return line.cy - self.slope * line.cx

    def same_row(self, a: OcrLine, b: OcrLine) -> bool:
        return abs(self.y(a) - self.y(b)) < 0.6 * max(a.height, b.height, 10.0)

    def right_of(self, label: OcrLine) -> list[OcrLine]:
        """Boxes on the label's row to its right, nearest first."""
        # Boxes may overlap a little when a long label nearly touches its value.
        found = [ln for ln in self.lines if ln is not label and ln.x0 > label.x1 - 30 and ln.cx > label.x1
                 and self.same_row(label, ln)]
        return sorted(found, key=lambda ln: ln.x0)

    def below(self, label: OcrLine) -> list[OcrLine]:
        """Boxes just below the label and starting near it (a value printed under its caption)."""
        found = [ln for ln in self.lines if ln is not label and abs(ln.x0 - label.x0) < 60
                 and 0.4 * label.height < self.y(ln) - self.y(label) < 3.0 * max(label.height, 20.0)]
        return sorted(found, key=lambda ln: self.y(ln))


def _labelled(page: _Page, field: str) -> list[tuple[OcrLine, str]]:
    """Lines that start with one of the field's labels, with the text after the label."""
    out = []
    for line in page.lines:
        folded = _fold(line.text)
        if field == "vat" and _NOT_VAT.match(folded):
            continue
        for pattern in _PATTERNS[field]:
            match = pattern.match(folded)
            if match:
                out.append((line, line.text[match.end():].lstrip(" :#.-")))
                break
    return out


# Parsers ---------------------------------------------------------------------------------


def _digits_fix(text: str) -> str:
    """OCR letter/digit confusions inside numbers (O->0, l/I->1) when a digit is adjacent."""
    chars = list(text)
    for i, ch in enumerate(chars):
        if ch in "OoDIl|":
            near = (i > 0 and chars[i - 1].isdigit()) or (i + 1 < len(chars) and chars[i + 1].isdigit())
            if near:
                chars[i] = "0" if ch in "OoD" else "1"
    return "".join(chars)


def parse_amount(text: str) -> Decimal | None:
    """``1.234,56`` / ``1,234.56`` / ``1234.56`` / ``1'234.56 EUR`` -> Decimal('1234.56'); None if not an amount."""
    cleaned = re.sub(r"(?i)(eur|chf|gbp|usd|€|£|\$)", "", text)
    cleaned = _digits_fix(re.sub(r"[\s']", "", cleaned)).strip(":")
    match = re.fullmatch(r"(-?)(\d{1,3}(?:[.,]\d{3})*|\d+)[.,](\d{2})", cleaned)
    if not match:
        return None
    try:
        return Decimal(f"{match.group(1)}{re.sub(r'[.,]', '', match.group(2))}.{match.group(3)}")
    except InvalidOperation:
        return None


def parse_date(text: str) -> dt.date | None:
    """Dates as suppliers print them (``14.03.2026``, ``2026-03-14``, ``14 Mar 2026``, ``14/03/2026``)."""
    t = text.strip()
    candidates: list[tuple[int, int, int]] = []
    for m in re.finditer(r"(\d{1,2})\s*[./]\s*(\d{1,2})\s*[./]\s*(\d{4})", t):
        candidates.append((int(m.group(3)), int(m.group(2)), int(m.group(1))))
    for m in re.finditer(r"(\d{4})\s*-\s*(\d{1,2})\s*-\s*(\d{1,2})", t):
        candidates.append((int(m.group(1)), int(m.group(2)), int(m.group(3))))
    for m in re.finditer(r"(\d{1,2})\s*\.?\s*([A-Za-z0]{3,5})\.?\s*(\d{4})", t):
        month = _MONTHS.get(_fold(m.group(2)).replace("0", "o")[:3]) or _MONTHS.get(_fold(m.group(2)).replace("0", "o"))
        if month:
            candidates.append((int(m.group(3)), month, int(m.group(1))))
    for year, month, day in candidates:
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    return None


def _parse_number(text: str) -> str | None:
    for token in re.findall(r"[A-Za-z0-9][A-Za-z0-9\-/.]*", text):
        token = _digits_fix(token.strip(".-/"))
        if len(token) >= 3 and any(c.isdigit() for c in token):
            return token.upper()
    return None


def _iban_candidate(text: str) -> str | None:
    squashed = re.sub(r"[^0-9A-Za-z]", "", text).upper()
    for start in range(len(squashed) - 1):
        country = squashed[start:start + 2]
        if country not in BBAN_FORMATS:
            continue
        length = len(country) + 2 + _bban_length(country)
        raw = squashed[start:start + length]
        if len(raw) < length:
            continue
        fixed = _fix_iban(raw)
        if is_valid_iban(fixed):
            return fixed
    return None


def _bban_length(country: str) -> int:
    return sum(int(n) for n in re.findall(r"\d+", BBAN_FORMATS[country]))


def _fix_iban(raw: str) -> str:
    """Apply digit/letter confusions where the country's BBAN format says a digit must stand."""
    kinds = "aann" + "".join(kind * int(n) for n, kind in re.findall(r"(\d+)([nac])", BBAN_FORMATS[raw[:2]]))
    to_digit = {"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "B": "8", "G": "6"}
    to_letter = {"0": "O", "1": "I", "5": "S", "8": "B", "2": "Z", "6": "G"}
    out = []
    for ch, kind in zip(raw, kinds, strict=False):
        if kind == "n":
            out.append(to_digit.get(ch, ch))
        elif kind == "a":
            out.append(to_letter.get(ch, ch))
        else:
            out.append(ch)
    return "".join(out)


# Fields ----------------------------------------------------------------------------------


def _first_parsed(page: _Page, field: str, parse: Any, *, below: bool = True,
                  rightmost: bool = False) -> ExtractedField | None:
    for line, remainder in _labelled(page, field):
        if remainder:
            value = parse(remainder)
            if value is not None:
                return ExtractedField(str(value), line.score, line.text)
        neighbours = page.right_of(line)
        if rightmost:
            neighbours = list(reversed(neighbours))
        for neighbour in neighbours[: (len(neighbours) if rightmost else 1)]:
            value = parse(neighbour.text)
            if value is not None:
                return ExtractedField(str(value), min(line.score, neighbour.score), neighbour.text)
        if below:
            for neighbour in page.below(line)[:2]:
                value = parse(neighbour.text)
                if value is not None:
                    return ExtractedField(str(value), min(line.score, neighbour.score) * 0.97, neighbour.text)
    return None


def _currency(page: _Page, supplier: dict[str, Any] | None) -> ExtractedField:
    def parse(text: str) -> str | None:
        found = [c for c in CURRENCIES if c in text.upper()]
        return found[0] if len(found) == 1 else None

    labelled = _first_parsed(page, "currency", parse)
    if labelled:
        return labelled
    for line, _remainder in _labelled(page, "total"):
        for candidate in [line, *page.right_of(line)]:
            code = parse(candidate.text)
            if code:
                return ExtractedField(code, candidate.score * 0.97, candidate.text)
    if supplier:
        return ExtractedField(supplier["currency"], 0.6, "supplier master (no currency printed)")
    return ExtractedField(None, 0.0, "")


def _supplier(page: _Page, suppliers: list[dict[str, Any]], iban: str | None) -> tuple[dict[str, Any] | None, ExtractedField]:
    if not suppliers:
        return None, ExtractedField(None, 0.0, "no supplier master")
    page_text = _squash(" ".join(ln.text for ln in page.lines))
    by_vat = [s for s in suppliers if _squash(s["vat_id"]) and _squash(s["vat_id"]) in page_text]
    by_iban = [s for s in suppliers if iban and s["iban"] == iban]
    scored = []
    letterhead = [ln for ln in page.lines if ln.cy < 0.3 * page.height] or page.lines
    squashed_lines = [(ln, _squash(ln.text)) for ln in letterhead]
    for s in suppliers:
        name = _squash(s["name"])
        best, best_line = 0.0, None
        for ln, text in squashed_lines:
            if not text:
                continue
            ratio = SequenceMatcher(None, text, name, autojunk=False).ratio()
            if ratio > best:
                best, best_line = ratio, ln
        scored.append((best, s, best_line))
    scored.sort(key=lambda t: t[0], reverse=True)
    ratio, supplier, line = scored[0]
    runner_up = scored[1][0] if len(scored) > 1 else 0.0
    evidence = {x["supplier_id"] for x in by_vat + by_iban}
    if ratio >= 0.8 and (ratio - runner_up > 0.03 or supplier["supplier_id"] in evidence):
        if evidence and supplier["supplier_id"] not in evidence:
            return supplier, ExtractedField(supplier["supplier_id"], 0.3, "name and VAT id/IBAN disagree")
        confidence = (line.score if line else 0.9) * min(1.0, ratio + 0.05)
        if supplier["supplier_id"] in evidence:
            confidence = max(confidence, 0.99)
        return supplier, ExtractedField(supplier["supplier_id"], round(confidence, 4), line.text if line else "")
    if len(evidence) == 1:
        chosen = next(s for s in suppliers if s["supplier_id"] in evidence)
        return chosen, ExtractedField(chosen["supplier_id"], 0.8, "VAT id / IBAN (name not recognised)")
    return None, ExtractedField(None, 0.0, "supplier not recognised in the master data")


def extract_fields(lines: list[OcrLine], suppliers: list[dict[str, Any]]) -> Extracted:
    """All fields of one page's OCR lines, each with its confidence."""
    page = _Page(lines)
    anchors = sum(1 for f in ("invoice_number", "total", "iban", "net") if _labelled(page, f))
    iban_field = None
    for line, remainder in _labelled(page, "iban"):
        for text in (remainder, " ".join([remainder, *(n.text for n in page.right_of(line)[:3])])):
            value = _iban_candidate(text)
            if value:
                iban_field = ExtractedField(value, line.score, line.text)
                break
        if iban_field:
            break
    if iban_field is None:
        # Some layouts print "IBAN" and the number in separate boxes, or the label is misread: scan every line.
        for line in page.lines:
            value = _iban_candidate(line.text) if "IBAN" in line.text.upper() or len(line.text) > 14 else None
            if value:
                iban_field = ExtractedField(value, line.score * 0.9, line.text)
                break
    supplier, supplier_field = _supplier(page, suppliers, iban_field.value if iban_field else None)
    fields = {
        "supplier_id": supplier_field,
        "invoice_number": _first_parsed(page, "invoice_number", _parse_number),
        "invoice_date": _first_parsed(page, "invoice_date", lambda t: (d := parse_date(t)) and d.isoformat()),
        "iban": iban_field,
        "net": _first_parsed(page, "net", parse_amount, below=False, rightmost=True),
        "vat": _first_parsed(page, "vat", parse_amount, below=False, rightmost=True),
        "total": _first_parsed(page, "total", parse_amount, below=False, rightmost=True),
        "currency": _currency(page, supplier),
    }
    return Extracted({k: v or ExtractedField(None, 0.0, "not found") for k, v in fields.items()}, anchors)
