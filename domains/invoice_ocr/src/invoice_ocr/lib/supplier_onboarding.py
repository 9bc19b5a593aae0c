"""Unknown suppliers: the review queue proposes a master record from the invoice; a clerk adds it.

An invoice from a supplier the master data does not know waits in review ("supplier not in the
master data"). :func:`propose_supplier` reads the invoice again through the pipeline's reading
interface (:func:`invoice_ocr.lib.reading.read_invoice`: e-invoice, text layer or OCR) and proposes
a record: name, address, VAT id, IBAN (and BIC), currency and the VAT rate the invoice applies. The
clerk checks it against the invoice, corrects what is wrong and adds it with :func:`add_supplier`;
the record says who added it, when, and from which invoice, and the invoice's history says so too.
Later invoices from that supplier are then matched (by VAT id, IBAN or name) and book straight
through.

What is *not* offered: a record for a supplier the master already knows. An invoice whose VAT id,
IBAN or name belongs to a known supplier but asks for payment into another account stays a
fraud-risk review (the IBAN rule): treasury confirms the change with the supplier by phone and
changes the master there; adding a second record with the new account would launder exactly the
fraud the rule catches, so both the proposal and :func:`add_supplier` refuse it.

Clerk-added records live in ``supplier_additions.json`` beside the generated master (the
``supplier_master`` asset rewrites the master file; the additions survive that) and
:func:`load_suppliers` (here, also served from ``invoice_ocr.lib.pipeline``) serves both.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from invoice_ocr.lib.iban import is_valid_vat_id, normalise_iban
from invoice_ocr.lib.ledger import utcnow
from invoice_ocr.lib.suppliers import Supplier, supplier_problems
from invoice_ocr.lib.workspace import Workspace

__all__ = ["RECORD_FIELDS", "SupplierProposal", "SupplierRefused", "add_supplier", "additions_path",
           "clerk_added_suppliers", "load_suppliers", "propose_supplier"]

#: What a clerk fills in (the rest of a master record, the invoice habits, stays empty for a real supplier).
RECORD_FIELDS = ("name", "street", "postcode", "city", "country", "vat_id", "iban", "bic", "currency", "vat_rate")
_DEFAULT_CURRENCY = {"CH": "CHF", "GB": "GBP", "US": "USD", "SE": "SEK", "DK": "DKK", "PL": "PLN", "CZ": "CZK",
                     "NO": "NOK", "HU": "HUF"}
# "12345 City", "A-1010 Wien", "1012 AB Amsterdam", "EC1A 1BB London", "75001 Paris"
_POSTCODE_CITY = re.compile(
    r"^(?P<postcode>(?:[A-Z]{1,2}-)?\d{4,5}(?:\s?[A-Z]{2}(?=\s))?|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})\s+"
    r"(?P<city>[^\d,·|]{2,40})$")


class SupplierRefused(ValueError):
    """The record cannot be added as asked; the message says what to fix (or why it must not be)."""


@dataclass(frozen=True)
class SupplierProposal:
    """A master record proposed from one invoice, where each value came from, and what is still missing."""

    invoice_id: int
    record: dict[str, str]
    sources: dict[str, str] = field(default_factory=dict)
    #: what a clerk must fill in or fix before the record can be added
    problems: list[str] = field(default_factory=list)
    #: set when the invoice belongs to a supplier the master knows: nothing is offered then
    known_supplier: str | None = None
    refusal: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def additions_path(workspace: Workspace) -> Path:
    """Where clerk-added supplier records are kept (beside the generated master)."""
    return workspace.root / "supplier_additions.json"


def load_suppliers(workspace: Workspace) -> list[dict[str, Any]]:
    """The supplier master, plus the suppliers clerks added from the review queue (kept apart, so a
    regenerated master does not drop them). Also served as ``invoice_ocr.lib.pipeline.load_suppliers``."""
    path = workspace.supplier_master_path
    if not path.exists():
        raise FileNotFoundError(f"no supplier master at {path}: materialize invoice_ocr/supplier_master first")
    return json.loads(path.read_text(encoding="utf-8")) + clerk_added_suppliers(workspace)


def clerk_added_suppliers(workspace: Workspace) -> list[dict[str, Any]]:
    """Supplier records clerks added from the review queue (oldest first); [] when there are none."""
    path = additions_path(workspace)
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8"))


def _squash(text: Any) -> str:
    return re.sub(r"[^0-9A-Z]", "", str(text or "").upper())


def _known(suppliers: list[dict[str, Any]], record: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """The known supplier this record would duplicate, and by what (VAT id, IBAN, name)."""
    for key, what in (("vat_id", "VAT id"), ("iban", "IBAN"), ("name", "name")):
        value = _squash(record.get(key))
        if not value:
            continue
        for supplier in suppliers:
            if _squash(supplier.get(key)) == value:
                return supplier, what
    return None


def _fraud_risk(known: dict[str, Any], what: str) -> str:
    return (f"the invoice's {what} belongs to supplier {known['supplier_id']} ({known['name']}), who is already in "
            "the master data: an invoice from a known supplier with another bank account is a fraud-risk review. "
            "Confirm the change with the supplier by phone (the number in the master, not the invoice's); treasury "
            "changes the master record. It is not added as a new supplier")


def _parts(text: str) -> list[str]:
    """A letterhead line cut at its separators ("street · 1000 City · BE"; OCR may read the dot as ".")."""
    text = re.sub(r"(?<=\d)\s*\.\s*(?=\d{4,5}\s)", " · ", text)
    return [p.strip() for p in re.split(r"\s*[·|,;]\s*", text) if p.strip()]


def _address(lines: list[Any], name: str | None) -> tuple[dict[str, str], str]:
    """Street, postcode and city near the supplier's name (same line, or the lines below it)."""
    texts = [str(getattr(ln, "text", ln)) for ln in lines]
    start = 0
    if name:
        squashed = _squash(name)
        for i, text in enumerate(texts):
            if squashed and squashed in _squash(text):
                start = i
                break
    window = texts[start:start + 8] if name else texts[:12]
    for offset, text in enumerate(window):
        parts = _parts(text)
        for i, part in enumerate(parts):
            match = _POSTCODE_CITY.match(part)
            if not match:
                continue
            street = parts[i - 1] if i > 0 else (window[offset - 1].strip() if offset > 0 else "")
            if name and _squash(street) == _squash(name):
                street = ""
            country = parts[i + 1] if i + 1 < len(parts) and re.fullmatch(r"[A-Z]{2}", parts[i + 1]) else ""
            found = {"street": street, "postcode": match["postcode"], "city": match["city"].strip()}
            if country:
                found["country"] = country
            return found, f"letterhead: {text!r}"
    return {}, "no address found near the supplier's name"


def _einvoice_address(data: bytes) -> dict[str, str]:
    """The seller's postal address from an e-invoice's XML (UBL or CII), or {} for other files."""
    from lxml import etree

    from invoice_ocr.lib.einvoice import embedded_xml, looks_like_xml

    if looks_like_xml(data):
        xml: bytes | None = data
    else:
        found = embedded_xml(data) if data[:1024].find(b"%PDF-") >= 0 else None
        xml = found[1] if found else None
    if not xml:
        return {}
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    except etree.XMLSyntaxError:
        return {}

    def first(*paths: str) -> str:
        for path in paths:
            hits = root.xpath(path)
            if hits:
                return " ".join(" ".join(str(h.text or "") for h in hits).split())
        return ""

    ubl = "//*[local-name()='AccountingSupplierParty']//*[local-name()='PostalAddress']/*[local-name()='{}']"
    cii = "//*[local-name()='SellerTradeParty']/*[local-name()='PostalTradeAddress']/*[local-name()='{}']"
    street = first(ubl.format("StreetName"), cii.format("LineOne"))
    number = first(ubl.format("BuildingNumber"))
    address = {"street": f"{street} {number}".strip(), "postcode": first(ubl.format("PostalZone"),
               cii.format("PostcodeCode")), "city": first(ubl.format("CityName"), cii.format("CityName")),
               "country": first(ubl.format("Country") + "/*[local-name()='IdentificationCode']",
                                cii.format("CountryID"))}
    return {k: v for k, v in address.items() if v}


def _vat_id_in(lines: list[Any], iban: str) -> tuple[str, str] | None:
    """A VAT id printed on the invoice (the issuer's: beside a VAT label, in the IBAN's country first)."""
    found: list[tuple[int, str, str]] = []
    texts = [str(getattr(ln, "text", ln)) for ln in lines]
    for i, text in enumerate(texts):
        labelled = bool(re.search(r"VAT|USt|TVA|BTW|IVA|MWST|UID", " ".join(texts[max(0, i - 1):i + 1]), re.I))
        for token in re.findall(r"\b(?:[A-Z]{2}U?|CHE)[\s.\-]?[0-9][0-9A-Z .\-]{7,16}\b", text):
            vat = _squash(token)
            if is_valid_vat_id(vat):
                rank = (0 if labelled else 2) + (0 if iban and vat[:2] == iban[:2] else 1)
                found.append((rank, vat, text))
    if not found:
        return None
    _, vat, text = min(found)
    return vat, f"printed: {text!r}"


def _vat_rate(values: dict[str, Any]) -> str:
    try:
        net, vat = Decimal(str(values.get("net"))), Decimal(str(values.get("vat")))
    except (InvalidOperation, ValueError):
        return ""
    if net <= 0 or vat < 0:
        return ""
    return str((vat / net).quantize(Decimal("0.001")).normalize())


def propose_supplier(workspace: Workspace, invoice_id: int, *, engine: Any = None) -> SupplierProposal:
    """A supplier record proposed from an invoice waiting in review, for a clerk to check and add.

    Raises ``KeyError`` when the invoice is not in the ledger. When the invoice belongs to a known
    supplier (a changed IBAN included) the proposal has ``known_supplier`` and a ``refusal`` instead.
    """
    from invoice_ocr.lib.reading import read_invoice

    with workspace.ledger() as ledger:
        entry = ledger.get(invoice_id)
    suppliers = load_suppliers(workspace)
    recorded = {k: (v or {}).get("value") for k, v in ((entry.fields or {}).get("extracted") or {}).items()}
    if recorded.get("supplier_id"):
        known = next((s for s in suppliers if s["supplier_id"] == recorded["supplier_id"]), None)
        if known is not None:
            return SupplierProposal(invoice_id, {}, known_supplier=known["supplier_id"],
                                    refusal=_fraud_risk(known, "name, VAT id or IBAN")
                                    if recorded.get("iban") and recorded["iban"] != known.get("iban") else
                                    f"the invoice is from supplier {known['supplier_id']} ({known['name']}), "
                                    "who is already in the master data")
    data = workspace.files().get(entry.sha256)
    reading = read_invoice(data, entry.original_name, suppliers=suppliers, engine=engine)
    read = {k: f.value for k, f in reading.fields.items()}
    sources = {k: f"{reading.path_taken}: {f.source}" for k, f in reading.fields.items() if f.value}
    values = {k: recorded.get(k) or read.get(k) for k in set(recorded) | set(read)}
    record = {
        "name": str(values.get("supplier_name") or ""),
        "vat_id": _squash(values.get("vat_id")),
        "iban": normalise_iban(str(values.get("iban") or "")) if values.get("iban") else "",
        "bic": str(values.get("bic") or ""),
        "currency": str(values.get("currency") or ""),
        "vat_rate": _vat_rate(values),
    }
    if not record["vat_id"]:
        printed = _vat_id_in(reading.lines, record["iban"])
        if printed:
            record["vat_id"], sources["vat_id"] = printed
    address, where = _address(reading.lines, record["name"] or None)
    if reading.path_taken == "e-invoice":
        address, where = _einvoice_address(data), "the e-invoice's seller address"
    record.update({k: address.get(k, "") for k in ("street", "postcode", "city")})
    sources.update({k: where for k in ("street", "postcode", "city") if address.get(k)})
    country = address.get("country") or (record["vat_id"][:2] if record["vat_id"] else "") or record["iban"][:2]
    record["country"] = {"EL": "GR"}.get(country, country)
    if not record["currency"] and record["country"]:
        record["currency"] = _DEFAULT_CURRENCY.get(record["country"], "EUR")
        sources["currency"] = f"the usual currency in {record['country']} (none printed)"
    if record["vat_rate"]:
        sources["vat_rate"] = "VAT / net as printed on this invoice"
    record = {k: record.get(k, "") for k in RECORD_FIELDS}
    clash = _known(suppliers, record)
    if clash is not None:
        known, what = clash
        return SupplierProposal(invoice_id, record, sources, known_supplier=known["supplier_id"],
                                refusal=_fraud_risk(known, what))
    problems = [p for p in supplier_problems({**record, "supplier_id": "new"}) if "supplier_id" not in p]
    if not record["vat_rate"]:
        problems.append("vat_rate is missing (e.g. 0.19)")
    return SupplierProposal(invoice_id, record, sources, problems)


@contextlib.contextmanager
def _additions_locked(workspace: Workspace) -> Iterator[None]:
    # Two clerks adding at once must not hand out the same supplier id or lose each other's record.
    with open(workspace.root / ".supplier_additions.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _next_id(additions: list[dict[str, Any]]) -> str:
    # Clerk-added suppliers have their own series (A0001, ...): a master regenerated with more records
    # (S0041, ...) can never take the id of a supplier a clerk added.
    numbers = [int(m[1]) for s in additions if (m := re.fullmatch(r"A(\d+)", str(s.get("supplier_id"))))]
    return f"A{max(numbers, default=0) + 1:04d}"


def _clean(record: dict[str, Any]) -> dict[str, str]:
    unknown = set(record) - set(RECORD_FIELDS)
    if unknown:
        raise SupplierRefused(f"unknown field(s) {sorted(unknown)}; a supplier record has {', '.join(RECORD_FIELDS)}")
    out = {k: " ".join(str(record.get(k) or "").split()) for k in RECORD_FIELDS}
    out["vat_id"] = _squash(out["vat_id"])
    out["iban"] = normalise_iban(out["iban"]) if out["iban"] else ""
    out["country"], out["currency"], out["bic"] = out["country"].upper(), out["currency"].upper(), out["bic"].upper()
    if len(out["name"]) > 200 or any(len(v) > 100 for k, v in out.items() if k != "name"):
        raise SupplierRefused("a supplier record's values are at most 100 characters (the name 200)")
    try:
        rate = Decimal(out["vat_rate"].replace(",", "."))
    except InvalidOperation:
        raise SupplierRefused(f"vat_rate {out['vat_rate']!r} is not a rate (write 0.19 for 19 %)") from None
    if not Decimal(0) <= rate < Decimal("0.5"):
        raise SupplierRefused(f"vat_rate {out['vat_rate']} is out of range (write 0.19 for 19 %)")
    out["vat_rate"] = str(rate)
    return out


def add_supplier(workspace: Workspace, invoice_id: int, record: dict[str, Any], clerk: str) -> dict[str, Any]:
    """Add a supplier to the master data from an invoice in review, recorded with the clerk's name.

    ``record`` holds :data:`RECORD_FIELDS` as the clerk checked them (start from
    :func:`propose_supplier`). The supplier id is assigned here. Raises :class:`SupplierRefused`
    when a value is invalid, when the invoice is not waiting for review, or when the record would
    duplicate a known supplier (same VAT id, IBAN or name: see the module's note on fraud risk);
    ``KeyError`` when the invoice is not in the ledger. Returns the stored record.
    """
    clerk = " ".join((clerk or "").split())
    if not clerk:
        raise SupplierRefused("say who adds the supplier (clerk name)")
    clean = _clean(record)
    problems = [p for p in supplier_problems({**clean, "supplier_id": "new"}) if "supplier_id" not in p]
    if problems:
        raise SupplierRefused("cannot add the supplier: " + "; ".join(problems))
    with workspace.ledger() as ledger:
        entry = ledger.get(invoice_id)
        if entry.state != "needs_review":
            raise SupplierRefused(f"invoice {invoice_id} is {entry.state}, not waiting for review: a supplier is "
                                  "added from an invoice in the review queue")
        with _additions_locked(workspace):
            suppliers = load_suppliers(workspace)
            clash = _known(suppliers, clean)
            if clash is not None:
                raise SupplierRefused(_fraud_risk(*clash))
            stored = {field_name: "" for field_name in Supplier.__dataclass_fields__} | clean | {
                "supplier_id": _next_id(clerk_added_suppliers(workspace)), "added_by": clerk,
                "added_at": utcnow().isoformat(timespec="seconds"), "added_from_invoice": invoice_id}
            additions = [*clerk_added_suppliers(workspace), stored]
            path = additions_path(workspace)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(additions, indent=2, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)
        ledger.note(invoice_id, f"supplier {stored['supplier_id']} ({stored['name']}) added to the master data by "
                                f"{clerk} from this invoice")
    return stored
