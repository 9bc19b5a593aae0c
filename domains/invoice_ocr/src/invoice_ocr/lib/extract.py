"""Field extraction from positioned text, whatever read it (a PDF's text layer or OCR boxes).

Layout-independent rules rather than a trained model. Every label of the six-language vocabulary
(:mod:`invoice_ocr.lib.labels`) is looked for in every box; a field's value is read where invoices
print it: in the same box after the label ("Invoice no: 123"), in the boxes to its right on the
same row, or just below it (a value under its caption). The candidates of a field are ranked by
how surely their label names it; amounts are then chosen so that net + VAT = total where the page
prints all three. Values are parsed by :mod:`invoice_ocr.lib.values`, dates in the document's
language(s) and the supplier's country; a day/month order nothing settles is a review reason, not a
guess. A field's confidence is the reader's score of the boxes it came from, lowered for weaker
evidence (a value below its label, a value without a label). The supplier is matched against the
master data by VAT id, IBAN and name. Pages are de-skewed from the boxes' slope before rows are
compared.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from difflib import SequenceMatcher
from typing import Any

from invoice_ocr.lib.labels import LabelHit, credit_note_words, detect_languages, find_labels
from invoice_ocr.lib.ocr import OcrLine
from invoice_ocr.lib.values import (
    CURRENCY_CODES,
    find_amounts,
    find_bic,
    find_currency,
    find_date,
    find_iban,
    find_vat_id,
    fold,
    repair_digits,
)
from invoice_ocr.lib.values import parse_amount as _parse_amount

__all__ = [
    "ALL_FIELDS",
    "CURRENCIES",
    "EXTRACTOR_VERSION",
    "FIELDS",
    "Extracted",
    "ExtractedField",
    "extract_fields",
    "parse_amount",
    "parse_date",
]

EXTRACTOR_VERSION = "layout-free-2.0"
#: The fields a booking needs (the booking rules, evaluation and review read these).
FIELDS = ("supplier_id", "invoice_number", "invoice_date", "iban", "net", "vat", "total", "currency")
#: Everything read from an invoice: the booking fields and what a clerk or a new supplier record needs.
ALL_FIELDS = (*FIELDS, "due_date", "bic", "vat_id", "supplier_name")
CURRENCIES = tuple(sorted(CURRENCY_CODES))
#: How much a value's evidence is discounted when it is not beside its label.
BELOW_FACTOR = 0.97
UNLABELLED_FACTOR = 0.6


@dataclass(frozen=True)
class ExtractedField:
    """One field as read: its value (a string: ISO dates, decimal amounts), confidence, and where it came from."""

    value: str | None
    confidence: float
    source: str = ""


@dataclass(frozen=True)
class Extracted:
    """Every field of one document, with what was learned on the way (language, credit note, doubts)."""

    fields: dict[str, ExtractedField]
    anchors_found: int
    version: str = EXTRACTOR_VERSION
    languages: tuple[str, ...] = ()
    credit_note: bool = False
    #: Why a person should look even if every booking rule passes (an ambiguous date, ...).
    doubts: tuple[str, ...] = ()

    @property
    def looks_upside_down(self) -> bool:
        """No label found at all: the page may be upside down (or not an invoice)."""
        return self.anchors_found == 0

    @property
    def language(self) -> str | None:
        return self.languages[0] if self.languages else None

    def values(self) -> dict[str, str | None]:
        """The booking fields' values."""
        return {k: self.fields[k].value for k in FIELDS}

    def to_dict(self) -> dict[str, Any]:
        return {k: asdict(f) for k, f in self.fields.items()}


# Geometry ----------------------------------------------------------------------------------


class _Page:
    """The document's boxes with the skew taken out and the label hits of each box."""

    def __init__(self, lines: list[OcrLine]) -> None:
        self.lines = [ln for ln in lines if ln.text.strip()]
        slopes = [ln.slope for ln in self.lines if ln.x1 - ln.x0 > 120 and abs(ln.slope) < 0.1]
        self.slope = statistics.median(slopes) if slopes else 0.0
        first = [ln for ln in self.lines if ln.page == 0] or self.lines
        self.first_top = min((ln.y0 for ln in first), default=0.0)
        self.first_height = max((ln.y1 for ln in first), default=1.0) - self.first_top
        self.hits = {id(ln): find_labels(ln.text) for ln in self.lines}

    def y(self, line: OcrLine) -> float:
        """Row coordinate with the page's skew taken out."""
        return line.cy - self.slope * line.cx

    @staticmethod
    def _h(line: OcrLine) -> float:
        return max(line.height, 8.0)

    def same_row(self, a: OcrLine, b: OcrLine) -> bool:
        return abs(self.y(a) - self.y(b)) < 0.6 * max(self._h(a), self._h(b))

    def starts_with_label(self, line: OcrLine) -> bool:
        hits = self.hits[id(line)]
        return bool(hits) and not line.text[: hits[0].start].strip(" :|")

    def right_of(self, label: OcrLine) -> list[OcrLine]:
        """Boxes on the label's row to its right, nearest first, up to the next box that is a label."""
        h = self._h(label)
        found = sorted(
            (
                ln
                for ln in self.lines
                if ln is not label
                and ln.page == label.page
                and ln.x0 > label.x1 - 1.0 * h
                and ln.cx > label.x1
                and self.same_row(label, ln)
            ),
            key=lambda ln: ln.x0,
        )
        out = []
        for ln in found:
            if self.starts_with_label(ln) and any(
                hit.field is not None or hit.weight >= 1.0 for hit in self.hits[id(ln)][:1]
            ):
                break
            out.append(ln)
        return out

    def left_of(self, label: OcrLine) -> list[OcrLine]:
        """Boxes on the label's row to its left, nearest first, up to the previous box that is a label
        (right-aligned layouts print "FN-2026-02216  Invoice no.")."""
        h = self._h(label)
        found = sorted(
            (
                ln
                for ln in self.lines
                if ln is not label
                and ln.page == label.page
                and ln.x1 < label.x0 + 1.0 * h
                and ln.cx < label.x0
                and label.x0 - ln.x1 < 12 * h
                and self.same_row(label, ln)
            ),
            key=lambda ln: -ln.x1,
        )
        out = []
        for ln in found:
            if self.hits[id(ln)]:
                break
            out.append(ln)
        return out[:1]

    def below(self, label: OcrLine, *, above: bool = False) -> list[OcrLine]:
        """Boxes just below the label that overlap it horizontally (a value printed under its caption),
        nearest first, up to the next label; ``above``: just above it (a caption printed under its value)."""
        h = self._h(label)
        found = []
        for ln in self.lines:
            if ln is label or ln.page != label.page:
                continue
            dy = self.y(ln) - self.y(label)
            if above:
                dy = -dy
            overlaps = min(ln.x1, label.x1 + 2 * h) - max(ln.x0, label.x0 - 2 * h) > 0
            if (
                overlaps
                and 0.5 * h < dy < 3.2 * max(h, self._h(ln))
                and (abs(ln.x0 - label.x0) < 4 * h or abs(ln.x1 - label.x1) < 4 * h)
            ):
                found.append(ln)
        found.sort(key=lambda ln: abs(self.y(ln) - self.y(label)))
        out = []
        for ln in found[:2]:
            if self.starts_with_label(ln):
                break
            out.append(ln)
        return out

    def in_letterhead(self, line: OcrLine) -> bool:
        return line.page == 0 and line.y0 - self.first_top < 0.3 * self.first_height


@dataclass
class _Candidate:
    value: Any
    confidence: float
    source: str
    weight: float
    order: tuple[int, float, float]  # page, row, x: where on the document
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _label_hits(page: _Page, wanted: str) -> list[tuple[OcrLine, LabelHit, str]]:
    """Each hit of a ``wanted`` label with the text after it in the same box (up to the next label)."""
    out = []
    for line in page.lines:
        hits = page.hits[id(line)]
        for i, hit in enumerate(hits):
            if hit.field != wanted:
                continue
            end = hits[i + 1].start if i + 1 < len(hits) else len(line.text)
            out.append((line, hit, line.text[hit.end : end].strip(" :#|\t")))
    return out


def _candidates(
    page: _Page,
    wanted: str,
    parse: Callable[[str, OcrLine], Any],
    *,
    below: bool = True,
    rightmost: bool = False,
) -> list[_Candidate]:
    """Values of ``wanted`` found beside each of its labels (same box, right of it, below it)."""
    out = []
    for line, hit, remainder in _label_hits(page, wanted):
        order = (line.page, page.y(line), line.x0)
        value = parse(remainder, line) if remainder else None
        if value is not None:
            out.append(_Candidate(value, line.score, line.text, hit.weight, order, hit.label))
            continue
        neighbours = page.right_of(line)
        parsed = [(n, v) for n in neighbours if (v := parse(n.text, n)) is not None]
        if parsed:
            n, v = parsed[-1] if rightmost else parsed[0]
            out.append(_Candidate(v, min(line.score, n.score), n.text, hit.weight, order, hit.label))
            continue
        # A value printed before its label in the same box ("26-51601 Invoice #", right-aligned layouts).
        hits = page.hits[id(line)]
        index = next(i for i, h in enumerate(hits) if h is hit)
        prefix = line.text[hits[index - 1].end if index else 0 : hit.start].strip(" :#|\t")
        value = parse(prefix, line) if prefix else None
        if value is not None:
            out.append(_Candidate(value, line.score, line.text, hit.weight * 0.97, order, hit.label))
            continue
        left = [(n, v) for n in page.left_of(line) if (v := parse(n.text, n)) is not None]
        if left:
            n, v = left[0]
            out.append(_Candidate(v, min(line.score, n.score), n.text, hit.weight * 0.95, order, hit.label))
            continue
        # A title ("INVOICE", "Rechnung") is no caption: what is printed under it is not its value.
        if below and hit.weight >= 0.85:
            for above, factor in ((False, BELOW_FACTOR), (True, BELOW_FACTOR * 0.99)):
                found = [(n, v) for n in page.below(line, above=above) if (v := parse(n.text, n)) is not None]
                if found:
                    n, v = found[0]
                    weight = hit.weight * (0.95 if not above else 0.93)
                    out.append(
                        _Candidate(v, min(line.score, n.score) * factor, n.text, weight, order, hit.label)
                    )
                    break
    return out


# Parsers with the document's context ---------------------------------------------------------


def _parse_number(text: str, line: OcrLine | None = None) -> str | None:
    """An invoice number: the first word with a digit, at least three characters (``RE-2026-00017``), with
    a short upper-case prefix printed before it kept (``INV 72738/25``)."""
    tokens = re.findall(r"[A-Za-z0-9][A-Za-z0-9\-/._]*", text)
    for i, token in enumerate(tokens):
        token = token.strip(".-/_")
        if fold(token) in ("no", "nr", "n", "nummer", "number", "num", "numero", "nro"):
            continue
        if len(token) >= 3 and any(c.isdigit() for c in token):
            if find_date(token) is not None and re.fullmatch(r"[\d./\-]+", token):
                return None  # a date where the number was expected
            ocr = line is None or line.origin == "ocr"
            value = repair_digits(token).upper() if ocr else token
            prefix = tokens[i - 1] if i > 0 else ""
            if re.fullmatch(r"[A-Z]{1,4}", prefix) and re.search(
                re.escape(prefix) + r" " + re.escape(token), text
            ):
                value = f"{prefix} {value}"
            return value
        if (
            not any(c.isdigit() for c in token)
            and not (re.fullmatch(r"[A-Z]{1,4}", token) and i + 1 < len(tokens))
            and len(token) >= 3
        ):
            return None  # a word, not a number: the label was a title ("Invoice"), not a caption
    return None


def _amount(text: str, _line: OcrLine | None = None) -> tuple[Decimal, str | None] | None:
    found = find_amounts(text)
    if not found:
        return None
    last = found[-1]
    return last.value, last.currency


def _doc_text(page: _Page) -> str:
    return "\n".join(ln.text for ln in page.lines)


# Fields ------------------------------------------------------------------------------------


def _best(cands: list[_Candidate], *, latest: bool = False) -> _Candidate | None:
    if not cands:
        return None
    if latest:
        return max(cands, key=lambda c: (round(c.weight, 3), c.order))
    return max(cands, key=lambda c: (round(c.weight, 3), tuple(-x for x in c.order)))


def _choose_amounts(page: _Page) -> tuple[dict[str, _Candidate | None], str | None]:
    """Net, VAT and total: the total consistent with net + VAT where the page prints both."""
    cands = {f: _candidates(page, f, _amount, below=True, rightmost=True) for f in ("net", "vat", "total")}
    totals = cands["total"]
    nonzero = [c for c in totals if c.value[0] != 0]
    totals = nonzero or totals
    chosen: dict[str, _Candidate | None] = {"net": None, "vat": None, "total": None}
    for t in sorted(totals, key=lambda c: (round(c.weight, 3), c.order), reverse=True):
        for n in cands["net"]:
            for v in cands["vat"]:
                if abs(n.value[0] + v.value[0] - t.value[0]) <= Decimal("0.011"):
                    chosen = {"net": n, "vat": v, "total": t}
                    break
            else:
                continue
            break
        if chosen["total"]:
            break
        vats = {c.order: c for c in cands["vat"]}
        if cands["net"] and len(vats) > 1:  # several VAT rates: their sum
            vat_sum = sum((c.value[0] for c in vats.values()), Decimal(0))
            for n in cands["net"]:
                if abs(n.value[0] + vat_sum - t.value[0]) <= Decimal("0.011"):
                    first = min(vats.values(), key=lambda c: c.order)
                    summed = _Candidate(
                        (vat_sum, first.value[1]),
                        min(c.confidence for c in vats.values()),
                        " + ".join(c.source for c in vats.values()),
                        first.weight,
                        first.order,
                    )
                    chosen = {"net": n, "vat": summed, "total": t}
                    break
        if chosen["total"]:
            break
    if chosen["total"] is None and not totals:
        # No total label matched (wrapped over two lines: "Total incl." / "VAT"): an amount that is
        # net + another amount read as VAT is the total.
        for n in cands["net"]:
            for v in cands["vat"]:
                for t in cands["vat"]:
                    if (
                        t is not v
                        and abs(n.value[0] + v.value[0] - t.value[0]) <= Decimal("0.011")
                        and v.value[0]
                    ):
                        chosen = {"net": n, "vat": v, "total": t}
    if chosen["total"] is None:
        chosen = {
            "total": _best(totals, latest=True),
            "net": _best(cands["net"], latest=True),
            "vat": _best(cands["vat"], latest=True),
        }
    note = None
    if chosen["total"] is None and chosen["net"] and chosen["vat"]:
        note = "no total printed: net + VAT would be " + str(chosen["net"].value[0] + chosen["vat"].value[0])
    return chosen, note


def _supplier(
    page: _Page, suppliers: list[dict[str, Any]], iban: str | None, vat_ids: list[str]
) -> tuple[dict[str, Any] | None, ExtractedField]:
    if not suppliers:
        return None, ExtractedField(None, 0.0, "no supplier master")
    squash = _squash
    page_text = squash(_doc_text(page))
    by_vat = [
        s
        for s in suppliers
        if squash(s.get("vat_id") or "")
        and (squash(s["vat_id"]) in page_text or squash(s["vat_id"]) in {squash(v) for v in vat_ids})
    ]
    by_iban = [s for s in suppliers if iban and s.get("iban") == iban]
    letterhead = [ln for ln in page.lines if page.in_letterhead(ln)] or page.lines
    squashed_lines = [(ln, squash(ln.text)) for ln in letterhead]
    scored = []
    for s in suppliers:
        name = squash(s["name"])
        best, best_line = 0.0, None
        for ln, text in squashed_lines:
            if not text or not name:
                continue
            matcher = SequenceMatcher(None, text, name, autojunk=False)
            # Upper bounds first: below 0.7 a name decides nothing (a match needs 0.8), so skip the full ratio.
            if matcher.real_quick_ratio() <= max(best, 0.7) or matcher.quick_ratio() <= max(best, 0.7):
                continue
            ratio = matcher.ratio()
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
        return supplier, ExtractedField(
            supplier["supplier_id"], round(confidence, 4), line.text if line else ""
        )
    if len(evidence) == 1:
        chosen = next(s for s in suppliers if s["supplier_id"] in evidence)
        return chosen, ExtractedField(chosen["supplier_id"], 0.8, "VAT id / IBAN (name not recognised)")
    return None, ExtractedField(None, 0.0, "supplier not recognised in the master data")


_LEGAL_FORM = re.compile(
    r"(?<![A-Za-z])(GmbH|AG|KG|OHG|UG|e\.\s?K\.|GbR|Ltd\.?|Limited|LLC|LLP|Inc\.?|plc|PLC|Corp\.?|S\.?A\.?S?\.?|SARL|"
    r"SAS|EURL|SNC|S\.?L\.?U?|S\.?r\.?l\.?|S\.?p\.?A\.?|B\.?V\.?|N\.?V\.?|VOF|BV|NV|Oy|AB|ApS|A/S|AS|sp\.\s?z\s?o\.?o\.?|"
    r"s\.r\.o\.|Kft\.?|GesmbH|Sagl|SA)(?![A-Za-z])"
)


def _supplier_name(page: _Page, supplier: dict[str, Any] | None, vat_id: str | None) -> ExtractedField:
    """The issuer's name: the master's if matched; else a letterhead line with a legal form, else the top line."""
    if supplier:
        return ExtractedField(supplier["name"], 0.99, "supplier master")
    letterhead = sorted(
        (ln for ln in page.lines if page.in_letterhead(ln)), key=lambda ln: (page.y(ln), ln.x0)
    )

    def plausible(ln: OcrLine) -> bool:
        text = ln.text.strip()
        letters = sum(c.isalpha() for c in text)
        return (
            letters >= 3
            and letters >= 0.5 * len(text)
            and not page.hits[id(ln)]
            and credit_note_words(text) is None
            and not re.search(r"@|www\.|https?:", text)
        )

    with_form = [
        ln for ln in page.lines if _LEGAL_FORM.search(ln.text) and plausible(ln) and len(ln.text) < 70
    ]
    if with_form:
        top = [ln for ln in with_form if page.in_letterhead(ln)]
        line = (top or with_form)[0]
        return ExtractedField(line.text.strip(" ,·|"), round(line.score * 0.7, 4), line.text)
    for ln in letterhead:
        if plausible(ln) and not re.search(r"\d{3,}", ln.text):
            return ExtractedField(ln.text.strip(" ,·|"), round(ln.score * 0.5, 4), ln.text)
    return ExtractedField(None, 0.0, "not found")


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", fold(text))


def _field(c: _Candidate | None, value: str | None = None, factor: float = 1.0) -> ExtractedField:
    if c is None:
        return ExtractedField(None, 0.0, "not found")
    return ExtractedField(
        value if value is not None else str(c.value), round(c.confidence * factor, 4), c.source
    )


def _country(supplier: dict[str, Any] | None, vat_id: str | None, iban: str | None) -> str | None:
    """The supplier's country: from the master record, else its VAT id, else its IBAN."""
    if supplier and supplier.get("country"):
        return str(supplier["country"]).upper()
    if vat_id:
        return {"EL": "GR", "CH": "CH"}.get(vat_id[:2], vat_id[:2])
    if iban:
        return iban[:2]
    return None


def extract_fields(
    lines: list[OcrLine], suppliers: list[dict[str, Any]], *, languages: tuple[str, ...] | None = None
) -> Extracted:
    """All fields of a document's positioned text (every page), each with its confidence."""
    page = _Page(lines)
    all_hits = [hit for ln in page.lines for hit in page.hits[id(ln)]]
    anchors = sum(
        1 for f in ("invoice_number", "total", "iban", "net") if any(h.field == f for h in all_hits)
    )
    langs = languages or detect_languages((ln.text for ln in page.lines), all_hits)
    doubts: list[str] = []

    # Bank and tax ids first: they name the supplier and its country, which settle dates and currency.
    iban_field = None
    for line, _hit, remainder in _label_hits(page, "iban"):
        for text in (
            remainder,
            " ".join([remainder, *(n.text for n in page.right_of(line)[:3])]),
            *(n.text for n in page.below(line)[:1]),
        ):
            value = find_iban(text)
            if value:
                iban_field = ExtractedField(value, line.score, line.text)
                break
        if iban_field:
            break
    if iban_field is None:
        # The label may be misread or missing ("Konto: DE89 ..."): every line long enough to hold one.
        for line in page.lines:
            value = find_iban(line.text) if len(re.sub(r"\W", "", line.text)) >= 15 else None
            if value:
                iban_field = ExtractedField(value, line.score * 0.9, line.text)
                break
    iban = iban_field.value if iban_field else None

    bic_field = None
    for c in _candidates(page, "bic", lambda t, _ln: find_bic(t, iban)):
        bic_field = _field(c)
        break
    if bic_field is None and iban:
        for line in page.lines:
            if re.search(r"(?i)\b(bic|swift)\b", line.text):
                value = find_bic(re.sub(r"(?i)\b(bic|swift)\b", " ", line.text), iban)
                if value:
                    bic_field = ExtractedField(value, line.score * 0.9, line.text)
                    break

    vat_cands = _candidates(page, "vat_id", lambda t, _ln: find_vat_id(t))
    vat_ids_seen = [c.value for c in vat_cands]
    vat_ids_seen += [v for ln in page.lines if (v := find_vat_id(ln.text)) and v not in vat_ids_seen]
    supplier, supplier_field = _supplier(page, suppliers, iban, vat_ids_seen)
    vat_id_field = None
    if (
        supplier
        and supplier.get("vat_id")
        and _squash(supplier["vat_id"]).upper() in {v.upper() for v in vat_ids_seen}
    ):
        vat_id_field = ExtractedField(re.sub(r"\W", "", supplier["vat_id"]).upper(), 0.99, "supplier master")
    elif vat_cands:
        # Buyer and supplier may both print one; the supplier's shares the country of the account paid into.
        same_country = [c for c in vat_cands if iban and c.value[:2] == iban[:2]]
        vat_id_field = _field((same_country or vat_cands)[0])
    elif vat_ids_seen:
        vat_id_field = ExtractedField(vat_ids_seen[0], 0.6, "VAT id without a label")
    vat_id = vat_id_field.value if vat_id_field else None
    country = _country(supplier, vat_id, iban)

    ambiguous: list[str] = []

    def date_parser(text: str, _line: OcrLine) -> str | None:
        found = find_date(text, langs, country)
        if found is None:
            return None
        if found.value is None:
            ambiguous.append(found.ambiguous or f"ambiguous date {found.text!r}")
            return None
        return found.value.isoformat()

    date_cands = _candidates(page, "invoice_date", date_parser)
    date_ambiguous = list(ambiguous)
    invoice_date = _field(_best(date_cands))
    if invoice_date.value is None and not date_ambiguous:
        # No labelled date: the first date on the first page, at a discount (review decides).
        for line in sorted(page.lines, key=lambda ln: (ln.page, page.y(ln), ln.x0)):
            found = find_date(line.text, langs, country)
            if found and found.value:
                invoice_date = ExtractedField(
                    found.value.isoformat(), round(line.score * UNLABELLED_FACTOR, 4), line.text
                )
                break
            if found and found.ambiguous:
                date_ambiguous.append(found.ambiguous)
                break
    if invoice_date.value is None and date_ambiguous:
        doubts.append(date_ambiguous[0])
    ambiguous.clear()
    due_date = _field(_best(_candidates(page, "due_date", date_parser)))

    number = _field(_best(_candidates(page, "invoice_number", _parse_number)))

    amounts, no_total = _choose_amounts(page)
    if no_total:
        doubts.append(no_total)
    credit_word = next(
        (w for ln in page.lines if len(ln.text.split()) <= 6 and (w := credit_note_words(ln.text))), None
    )
    sign = Decimal(1)
    if credit_word and amounts["total"] is not None and amounts["total"].value[0] > 0:
        sign = Decimal(-1)  # a credit note prints what it credits as positive amounts
    money = {f: _field(c, str(sign * c.value[0]) if c else None) for f, c in amounts.items()}

    currency = _currency(page, amounts, supplier, country)
    fields = {
        "supplier_id": supplier_field,
        "invoice_number": number,
        "invoice_date": invoice_date,
        "iban": iban_field or ExtractedField(None, 0.0, "not found"),
        "net": money["net"],
        "vat": money["vat"],
        "total": money["total"],
        "currency": currency,
        "due_date": due_date,
        "bic": bic_field or ExtractedField(None, 0.0, "not found"),
        "vat_id": vat_id_field or ExtractedField(None, 0.0, "not found"),
        # Without a single label the page is upside down or not an invoice: no name is guessed from it.
        "supplier_name": _supplier_name(page, supplier, vat_id)
        if anchors or supplier
        else ExtractedField(None, 0.0, "not found"),
    }
    return Extracted(
        fields,
        anchors,
        languages=langs,
        credit_note=sign < 0 or bool(credit_word and amounts["total"] and amounts["total"].value[0] < 0),
        doubts=tuple(doubts),
    )


_EUROZONE = frozenset(
    (
        "AT",
        "BE",
        "CY",
        "DE",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PT",
        "SI",
        "SK",
        "MC",
        "SM",
        "VA",
        "AD",
        "ME",
        "XK",
    )
)


def _currency(
    page: _Page, amounts: dict[str, _Candidate | None], supplier: dict[str, Any] | None, country: str | None
) -> ExtractedField:
    for c in _candidates(page, "currency", lambda t, _ln: find_currency(t, country)):
        return _field(c)
    total = amounts.get("total")
    if total is not None and total.value[1]:
        code = total.value[1] if total.value[1] != "kr" else None
        code = code or find_currency(total.source, country)
        if code:
            return ExtractedField(code, total.confidence, total.source)
    if total is not None:
        for line, _hit, _rest in _label_hits(page, "total"):
            for candidate in [line, *page.right_of(line)]:
                code = find_currency(candidate.text, country)
                if code:
                    return ExtractedField(code, round(candidate.score * 0.97, 4), candidate.text)
    # The currency printed most often beside an amount anywhere in the document.
    counts: dict[str, int] = {}
    for line in page.lines:
        for amount in find_amounts(line.text):
            code = amount.currency if amount.currency != "kr" else find_currency(line.text, country)
            if code:
                counts[code] = counts.get(code, 0) + 1
    if counts:
        code = max(counts, key=lambda k: counts[k])
        if len(counts) == 1 or counts[code] >= 2 * sorted(counts.values())[-2]:
            return ExtractedField(code, 0.9, "currency printed beside the amounts")
    if supplier and supplier.get("currency"):
        return ExtractedField(supplier["currency"], 0.6, "supplier master (no currency printed)")
    if country in _EUROZONE:
        return ExtractedField(
            "EUR", 0.5, f"the supplier's country ({country}) pays in EUR (no currency printed)"
        )
    return ExtractedField(None, 0.0, "")


# Kept for the review policy's baseline and older callers ----------------------------------------


def parse_amount(text: str) -> Decimal | None:
    """``1.234,56`` / ``1,234.56`` / ``1234.56`` / ``1'234.56 EUR`` -> Decimal('1234.56'); None if not an amount."""
    return _parse_amount(text)


def parse_date(text: str) -> dt.date | None:
    """Dates as suppliers print them (``14.03.2026``, ``2026-03-14``, ``14 Mar 2026``, ``14/03/2026``), day first."""
    found = find_date(re.sub(r"(?i)\bmrz\b", "März", text), ("en", "de", "fr", "nl", "es", "it"))
    return found.value if found else None


def _iban_candidate(text: str) -> str | None:
    return find_iban(text)
