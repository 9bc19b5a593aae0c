"""EN 16931 e-invoices: exact fields from the XML, in both syntaxes, no OCR and no guessing.

* CII (UN/CEFACT Cross Industry Invoice): Factur-X / ZUGFeRD (the XML embedded in a PDF/A-3,
  taken out with ``factur-x``'s ``get_xml_from_pdf``) and XRechnung in CII syntax;
* UBL 2.1 ``Invoice`` / ``CreditNote``: XRechnung in UBL syntax, Peppol BIS Billing 3.0.

Fields are read by the standards' element paths (the business terms of EN 16931: BT-1 invoice
number, BT-2 issue date, BT-9 due date, BT-5 currency, BT-109 net, BT-110 VAT, BT-112 total, BT-84
IBAN, BT-86 BIC, BT-31 seller VAT id, BT-27 seller name) with lxml; steps match by local name so
ZUGFeRD 1's older namespaces read too. The XML is schema-checked with ``factur-x`` where it offers
an XSD for the flavour; a failure is a review reason, never a silent pass. Credit notes (type code
381, a UBL ``CreditNote``) carry positive amounts in the XML and are returned negative.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["EInvoice", "NotAnEInvoice", "embedded_xml", "looks_like_xml", "parse_einvoice"]

_CREDIT_NOTE_CODES = {"381", "396", "532", "81", "83", "261", "262", "296", "308"}


class NotAnEInvoice(ValueError):
    """The XML is not an EN 16931 invoice in a syntax we read (or not XML at all)."""


@dataclass(frozen=True)
class EInvoice:
    """What an e-invoice states, each value with the XML path it came from."""

    syntax: str  # "CII" or "UBL"
    values: dict[str, str | None]
    paths: dict[str, str]
    credit_note: bool
    schema_problem: str | None
    country: str | None


def looks_like_xml(data: bytes) -> bool:
    """Whether ``data`` starts like an XML document (after a byte-order mark and whitespace)."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<?xml") or head.startswith(b"<")


def embedded_xml(pdf: bytes) -> tuple[str, bytes] | None:
    """The e-invoice XML embedded in a PDF (Factur-X, ZUGFeRD, XRechnung attachments), or None."""
    from facturx import get_xml_from_pdf

    # factur-x logs every PDF without XML as an error; for us that is the ordinary case.
    logger = logging.getLogger("factur-x")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        filename, xml = get_xml_from_pdf(pdf, check_xsd=False)
    except Exception:  # noqa: BLE001 - a PDF factur-x cannot open is read by the next path (text layer/OCR)
        return None
    finally:
        logger.setLevel(level)
    if not xml:
        return None
    return str(filename or ""), bytes(xml)


def _parse_xml(data: bytes) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise NotAnEInvoice(f"the XML is malformed ({exc})") from None


def _xpath(path: str) -> str:
    """``a/b[@x='y']/c`` with each step matched by local name (namespace-independent)."""
    steps = []
    for step in path.split("/"):
        if step in ("", "."):
            steps.append(step)
            continue
        m = re.fullmatch(r"([\w.-]+)(\[@([\w]+)='([^']*)'\])?", step)
        if not m:
            raise ValueError(step)
        pred = f"[@{m.group(3)}='{m.group(4)}']" if m.group(2) else ""
        steps.append(f"*[local-name()='{m.group(1)}']{pred}")
    return "/".join(steps)


def _first(root: Any, paths: tuple[str, ...]) -> tuple[str | None, str]:
    for path in paths:
        for node in root.xpath(_xpath(path)):
            text = (node.text or "").strip()
            if text:
                return text, path
    return None, paths[0]


_CII = {
    "invoice_number": ("ExchangedDocument/ID", "HeaderExchangedDocument/ID"),
    "type_code": ("ExchangedDocument/TypeCode", "HeaderExchangedDocument/TypeCode"),
    "invoice_date": (
        "ExchangedDocument/IssueDateTime/DateTimeString",
        "HeaderExchangedDocument/IssueDateTime/DateTimeString",
    ),
    "due_date": (".//SpecifiedTradePaymentTerms/DueDateDateTime/DateTimeString",),
    "currency": (".//ApplicableHeaderTradeSettlement/InvoiceCurrencyCode", ".//InvoiceCurrencyCode"),
    "net": (
        ".//SpecifiedTradeSettlementHeaderMonetarySummation/TaxBasisTotalAmount",
        ".//SpecifiedTradeSettlementMonetarySummation/TaxBasisTotalAmount",
    ),
    "vat": (
        ".//SpecifiedTradeSettlementHeaderMonetarySummation/TaxTotalAmount",
        ".//SpecifiedTradeSettlementMonetarySummation/TaxTotalAmount",
    ),
    "total": (
        ".//SpecifiedTradeSettlementHeaderMonetarySummation/GrandTotalAmount",
        ".//SpecifiedTradeSettlementMonetarySummation/GrandTotalAmount",
    ),
    "iban": (".//SpecifiedTradeSettlementPaymentMeans/PayeePartyCreditorFinancialAccount/IBANID",),
    "bic": (".//SpecifiedTradeSettlementPaymentMeans/PayeeSpecifiedCreditorFinancialInstitution/BICID",),
    "vat_id": (".//SellerTradeParty/SpecifiedTaxRegistration/ID[@schemeID='VA']",),
    "supplier_name": (".//SellerTradeParty/Name",),
    "country": (".//SellerTradeParty/PostalTradeAddress/CountryID",),
}
_UBL = {
    "invoice_number": ("ID",),
    "type_code": ("InvoiceTypeCode", "CreditNoteTypeCode"),
    "invoice_date": ("IssueDate",),
    "due_date": ("DueDate", "PaymentMeans/PaymentDueDate"),
    "currency": ("DocumentCurrencyCode",),
    "net": ("LegalMonetaryTotal/TaxExclusiveAmount",),
    "vat": ("TaxTotal/TaxAmount",),
    "total": ("LegalMonetaryTotal/TaxInclusiveAmount", "LegalMonetaryTotal/PayableAmount"),
    "iban": ("PaymentMeans/PayeeFinancialAccount/ID",),
    "bic": ("PaymentMeans/PayeeFinancialAccount/FinancialInstitutionBranch/ID",),
    "vat_id": ("AccountingSupplierParty/Party/PartyTaxScheme/CompanyID",),
    "supplier_name": (
        "AccountingSupplierParty/Party/PartyLegalEntity/RegistrationName",
        "AccountingSupplierParty/Party/PartyName/Name",
    ),
    "country": ("AccountingSupplierParty/Party/PostalAddress/Country/IdentificationCode",),
}


def _date(text: str | None) -> str | None:
    if not text:
        return None
    digits = re.sub(r"\D", "", text)
    try:
        if len(digits) == 8:  # CII format 102 (YYYYMMDD) and UBL's YYYY-MM-DD alike
            return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:])).isoformat()
    except ValueError:
        return None
    return None


def _amount(text: str | None, negate: bool) -> str | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return str(-value if negate and value > 0 else value)


def _schema_problem(xml: bytes, syntax: str, credit_note: bool) -> str | None:
    """What factur-x's XSD check says is wrong with the XML (None: valid, or no schema to check with)."""
    import facturx

    flavor = "autodetect" if syntax == "CII" else ("ubl-2.1-creditnote" if credit_note else "ubl-2.1-invoice")
    logger = logging.getLogger("factur-x")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        facturx.xml_check_xsd(xml, flavor=flavor)
    except Exception as exc:  # noqa: BLE001 - factur-x raises plain Exceptions for invalid XML
        message = str(exc).strip().splitlines()
        text = message[0] if message else type(exc).__name__
        if "flavor" in text.lower() or "level" in text.lower() or "not supported" in text.lower():
            return None  # a flavour factur-x has no schema for: nothing cheap to check against
        return f"the e-invoice XML does not validate against its schema ({text[:200]})"
    finally:
        logger.setLevel(level)
    return None


def parse_einvoice(xml: bytes) -> EInvoice:
    """The EN 16931 fields of a CII or UBL invoice; :class:`NotAnEInvoice` if it is neither."""
    root = _parse_xml(xml)
    local = root.tag.rsplit("}", 1)[-1] if isinstance(root.tag, str) else ""
    if local in ("CrossIndustryInvoice", "CrossIndustryDocument"):
        syntax, paths = "CII", _CII
    elif local in ("Invoice", "CreditNote"):
        syntax, paths = "UBL", _UBL
    else:
        raise NotAnEInvoice(
            f"the XML is a <{local}>, not an e-invoice (CII CrossIndustryInvoice or UBL Invoice/CreditNote)"
        )
    raw: dict[str, str | None] = {}
    where: dict[str, str] = {}
    for name, candidates in paths.items():
        if syntax == "UBL":
            candidates = tuple(f"{local}/{p}" for p in candidates)
            value, path = _first(root.getroottree().getroot(), tuple("/" + p for p in candidates))
        else:
            value, path = _first(root, candidates)
        raw[name], where[name] = value, path
    if syntax == "CII":
        # BT-110 is the TaxTotalAmount in the invoice currency (a second one may be in the accounting currency).
        currency = raw.get("currency")
        if currency:
            value, path = _first(
                root,
                (
                    f".//SpecifiedTradeSettlementHeaderMonetarySummation/TaxTotalAmount"
                    f"[@currencyID='{currency}']",
                ),
            )
            if value is not None:
                raw["vat"], where["vat"] = value, path
    credit_note = local == "CreditNote" or (raw.get("type_code") or "") in _CREDIT_NOTE_CODES
    if not raw.get("invoice_number") and not raw.get("total"):
        raise NotAnEInvoice(f"the {syntax} XML has neither an invoice number nor a total")
    values: dict[str, str | None] = {
        "invoice_number": raw.get("invoice_number"),
        "invoice_date": _date(raw.get("invoice_date")),
        "due_date": _date(raw.get("due_date")),
        "currency": (raw.get("currency") or "").upper() or None,
        "net": _amount(raw.get("net"), credit_note),
        "vat": _amount(raw.get("vat"), credit_note),
        "total": _amount(raw.get("total"), credit_note),
        "iban": re.sub(r"\s", "", raw["iban"]).upper() if raw.get("iban") else None,
        "bic": re.sub(r"\s", "", raw["bic"]).upper() if raw.get("bic") else None,
        "vat_id": re.sub(r"[\s.\-]", "", raw["vat_id"]).upper() if raw.get("vat_id") else None,
        "supplier_name": raw.get("supplier_name"),
    }
    country = (raw.get("country") or "").upper() or None
    return EInvoice(syntax, values, where, credit_note, _schema_problem(xml, syntax, credit_note), country)
