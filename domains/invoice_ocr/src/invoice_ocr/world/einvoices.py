"""EN 16931 e-invoices made with the standards' libraries, not by hand.

- :func:`cii_xml` builds the UN/CEFACT Cross Industry Invoice with ``drafthorse``, validated against
  the Factur-X EN 16931 schema on serialisation; the same XML, with the XRechnung guideline id, is
  what a German public buyer receives as an XRechnung in CII syntax.
- :func:`facturx_pdf` embeds the CII XML in the printed invoice with ``factur-x`` (the
  ``factur-x.xml`` attachment and the Factur-X XMP metadata: Factur-X / ZUGFeRD 2; the page content
  is Chromium's, not checked with a PDF/A-3 validator).
- :func:`ubl_xml` turns the same invoice into UBL 2.1 with ``factur-x``'s EN 16931 data model
  (parsed from the CII, so both syntaxes carry the same business terms), XSD-checked.
"""

from __future__ import annotations

from decimal import Decimal

from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.party import TaxRegistration
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem as CiiLine
from facturx import generate_from_binary, generate_ubl_xml, parse_ubl_cii_xml
from lxml import etree

from invoice_ocr.world.content import WorldInvoice
from invoice_ocr.world.printing import pin_pdf_dates

__all__ = ["EN16931", "XRECHNUNG", "cii_xml", "facturx_pdf", "ubl_xml"]

EN16931 = "urn:cen.eu:en16931:2017"
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"


def cii_xml(inv: WorldInvoice, guideline: str = EN16931) -> bytes:
    """The invoice as CII XML (EN 16931 profile), schema-validated by drafthorse.

    A credit note is type 381 with positive amounts, as EN 16931 has it: the type code carries the
    sign (its ground truth total stays negative, as the buyer books it).
    """
    s, b, cur = inv.supplier, inv.buyer, inv.market.currency
    sign = Decimal(-1) if inv.credit_note else Decimal(1)
    doc = Document()
    doc.context.guideline_parameter.id = guideline
    doc.header.id = inv.number
    doc.header.type_code = "381" if inv.credit_note else "380"
    doc.header.issue_date_time = inv.issue_date
    agreement = doc.trade.agreement
    agreement.buyer_reference = inv.order_ref
    agreement.seller.name = s.name
    agreement.seller.address.line_one = s.street
    agreement.seller.address.postcode = s.postcode
    agreement.seller.address.city_name = s.city
    agreement.seller.address.country_id = s.country
    if s.vat_id:
        agreement.seller.tax_registrations.add(TaxRegistration(id=("VA", s.vat_id)))
    agreement.buyer.name = b.name
    agreement.buyer.address.line_one = b.street
    agreement.buyer.address.postcode = b.postcode
    agreement.buyer.address.city_name = b.city
    agreement.buyer.address.country_id = b.country
    if b.vat_id:
        agreement.buyer.tax_registrations.add(TaxRegistration(id=("VA", b.vat_id)))
    doc.trade.delivery.event.occurrence = inv.delivery_date
    settlement = doc.trade.settlement
    settlement.currency_code = cur
    means = PaymentMeans()
    means.type_code = "58" if s.iban else "1"  # 58: SEPA credit transfer
    if s.iban:
        means.payee_account.iban = s.iban
        if inv.show_bic and s.bic:
            means.payee_institution.bic = s.bic
    settlement.payment_means.add(means)
    if inv.due_date:
        terms = PaymentTerms()
        terms.description = f"due {inv.due_date.isoformat()}"
        terms.due = inv.due_date
        settlement.terms.add(terms)
    rate_percent = (inv.vat_rate * 100).quantize(Decimal("0.01"))
    for k, it in enumerate(inv.lines, 1):
        line = CiiLine()
        line.document.line_id = str(k)
        line.product.name = it.description
        price = it.unit_price
        line.agreement.net.amount = price
        line.delivery.billed_quantity = (it.quantity, "H87")  # line amounts carry a credit note's sign
        line.settlement.trade_tax.type_code = "VAT"
        line.settlement.trade_tax.category_code = "S"
        line.settlement.trade_tax.rate_applicable_percent = rate_percent
        line.settlement.monetary_summation.total_amount = sign * it.amount
        doc.trade.items.add(line)
    tax = ApplicableTradeTax()
    tax.calculated_amount = sign * inv.vat
    tax.basis_amount = sign * inv.net
    tax.type_code = "VAT"
    tax.category_code = "S"
    tax.rate_applicable_percent = rate_percent
    settlement.trade_tax.add(tax)
    total = settlement.monetary_summation
    total.line_total = sign * inv.net
    total.charge_total = Decimal("0.00")
    total.allowance_total = Decimal("0.00")
    total.tax_basis_total = sign * inv.net
    total.tax_total = (sign * inv.vat, cur)
    total.grand_total = sign * inv.total
    total.due_amount = sign * inv.total
    return bytes(doc.serialize(schema="FACTUR-X_EN16931"))


def facturx_pdf(pdf: bytes, xml: bytes, title: str) -> bytes:
    """``pdf`` with ``xml`` embedded as a Factur-X EN 16931 invoice (XSD-checked by factur-x)."""
    data = generate_from_binary(
        pdf,
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        xmp_compression=False,
        pdf_metadata={"author": "inloop world set", "keywords": "Factur-X", "title": title, "subject": title},
    )
    return pin_pdf_dates(bytes(data))


def ubl_xml(cii: bytes, customization: str = EN16931) -> bytes:
    """The same business terms as UBL 2.1 (Invoice or CreditNote), XSD-checked by factur-x."""
    data = parse_ubl_cii_xml(cii, check_xsd=True)
    xml = bytes(generate_ubl_xml(data, level="en16931", check_xsd=True, check_schematron=False))
    if customization == EN16931:
        return xml
    # factur-x writes the plain EN 16931 id; an XRechnung names its CIUS there (BT-24).
    root = etree.fromstring(xml)
    node = root.find("{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}CustomizationID")
    if node is None:
        raise ValueError("UBL without CustomizationID")
    node.text = customization
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
