"""Reading invoices in order of trust: e-invoice XML, a PDF's text layer, OCR; labels and values in six languages."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from invoice_ocr.lib.extract import extract_fields
from invoice_ocr.lib.ocr import OcrLine
from invoice_ocr.lib.reading import read_invoice
from invoice_ocr.lib.values import find_amounts, find_bic, find_date, find_iban, find_vat_id

# A real-shaped IBAN/BIC/VAT id (valid check digits) used across the tests.
IBAN = "DE89370400440532013000"
VAT_ID = "DE136695976"


def _line(text: str, x0: float, y0: float, x1: float, score: float = 0.98) -> OcrLine:
    return OcrLine(text, score, x0, y0, x1, y0 + 28)


# Six languages: (labels for number, date, net, VAT, total), the printed values, and what must be read.
PAGES = {
    "en": (
        "Invoice no:",
        "Invoice date",
        "Subtotal",
        "VAT 20%",
        "Amount due",
        "12 March 2026",
        "1,000.00",
        "200.00",
        "1,200.00",
        "GB",
    ),
    "de": (
        "Rechnungsnr.",
        "Rechnungsdatum",
        "Nettobetrag",
        "MwSt. 19 %",
        "Gesamtbetrag",
        "12.03.2026",
        "1.000,00",
        "190,00",
        "1.190,00",
        "DE",
    ),
    "fr": (
        "Facture n°",
        "Date de facture",
        "Montant HT",
        "TVA 20 %",
        "Total TTC",
        "12 mars 2026",
        "1 000,00",
        "200,00",
        "1 200,00",
        "FR",
    ),
    "nl": (
        "Factuurnummer",
        "Factuurdatum",
        "Subtotaal",
        "BTW 21%",
        "Totaal",
        "12-03-2026",
        "1.000,00",
        "210,00",
        "1.210,00",
        "NL",
    ),
    "es": (
        "Número de factura",
        "Fecha",
        "Base imponible",
        "IVA 21%",
        "Importe total",
        "12 de marzo de 2026",
        "1.000,00",
        "210,00",
        "1.210,00",
        "ES",
    ),
    "it": (
        "Fattura n.",
        "Data",
        "Imponibile",
        "IVA 22%",
        "Totale",
        "12/03/2026",
        "1.000,00",
        "220,00",
        "1.220,00",
        "IT",
    ),
}


def _page(lang: str) -> list[OcrLine]:
    number, date, net, vat, total, date_value, net_value, vat_value, total_value, _ = PAGES[lang]
    return [
        _line("Acme Widgets GmbH", 80, 40, 500),
        _line(f"{number} 2026-0042", 80, 300, 520),  # label and value in one box
        _line(date, 80, 340, 300),
        _line(date_value, 420, 341, 640),  # value to the right of its label
        _line(net, 700, 800, 900),
        _line(f"{net_value} EUR", 1000, 801, 1160),
        _line(vat, 700, 840, 900),
        _line(f"{vat_value} EUR", 1000, 841, 1160),
        _line(total, 700, 880, 900),
        _line(f"{total_value} EUR", 1000, 881, 1160),
        _line(
            f"IBAN {IBAN[:4]} {IBAN[4:8]} {IBAN[8:12]} {IBAN[12:16]} {IBAN[16:20]} {IBAN[20:]}", 80, 1200, 640
        ),
        _line("BIC COBADEFFXXX", 700, 1200, 1000),
    ]


@pytest.mark.parametrize("lang", sorted(PAGES))
def test_labels_and_values_are_read_in_six_languages(lang: str) -> None:
    extracted = extract_fields(_page(lang), [])
    values = {k: f.value for k, f in extracted.fields.items()}
    net, vat, total = (Decimal(find_amounts(PAGES[lang][i])[0].value) for i in (6, 7, 8))
    assert values["invoice_number"] == "2026-0042"
    assert values["invoice_date"] == "2026-03-12"
    assert (values["net"], values["vat"], values["total"]) == (str(net), str(vat), str(total))
    assert values["currency"] == "EUR" and values["iban"] == IBAN and values["bic"] == "COBADEFFXXX"
    assert extracted.language == lang
    assert not extracted.doubts


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("1.234,56 €", "1234.56", "EUR"),
        ("1,234.56 USD", "1234.56", "USD"),
        ("1 234,56", "1234.56", None),
        ("CHF 1'234.50", "1234.50", "CHF"),
        ("-12,00", "-12.00", None),
        ("12,00-", "-12.00", None),
        ("(12.00)", "-12.00", None),
        ("£99.99", "99.99", "GBP"),
        ("1\u202f234,56 zł", "1234.56", "PLN"),
        ("SEK 5 000,00", "5000.00", "SEK"),
        ("Kč 2.500,00", "2500.00", "CZK"),
        ("CHF4'803.13", "4803.13", "CHF"),  # OCR drops the space between code and amount
    ],
)
def test_amounts_in_every_usual_notation_with_their_currency(
    text: str, value: str, currency: str | None
) -> None:
    [found] = find_amounts(text)
    assert (str(found.value), found.currency) == (value, currency)


def test_percentages_and_ids_are_not_amounts() -> None:
    assert find_amounts("VAT 19,00 %") == []
    assert find_amounts("ATU12345678") == []


@pytest.mark.parametrize(
    ("text", "languages", "country", "expected"),
    [
        ("14. März 2026", ("de",), None, "2026-03-14"),
        ("14 mars 2026", ("fr",), None, "2026-03-14"),
        ("14 maart 2026", ("nl",), None, "2026-03-14"),
        ("14 de marzo de 2026", ("es",), None, "2026-03-14"),
        ("27demarzo de2026", ("es",), None, "2026-03-27"),  # OCR dropped the spaces
        ("Gent, 15 december 2025", ("nl",), None, "2025-12-15"),
        ("14 marzo 2026", ("it",), None, "2026-03-14"),
        ("March 14, 2026", ("en",), None, "2026-03-14"),
        ("07/02/23", ("de",), None, "2023-02-07"),  # German writes day first
        ("07/02/23", ("en",), "US", "2023-07-02"),  # a US supplier writes month first
        ("07/02/23", ("en",), "GB", "2023-02-07"),
        ("07.02.2023", ("en",), None, "2023-02-07"),  # nobody writes month-first with dots
        ("2023-02-07", ("en",), None, "2023-02-07"),
    ],
)
def test_dates_follow_the_language_and_the_suppliers_country(
    text: str, languages: tuple[str, ...], country: str | None, expected: str
) -> None:
    found = find_date(text, languages, country)
    assert found is not None and found.value is not None and found.value.isoformat() == expected


def test_a_day_month_order_nothing_settles_is_a_review_reason_not_a_guess() -> None:
    found = find_date("07/02/23", ("en",), None)
    assert found is not None and found.value is None and "2023-02-07" in (found.ambiguous or "")
    lines = [
        _line("Invoice no: 4711", 80, 100, 400),
        _line("Invoice date: 07/02/23", 80, 140, 400),
        _line("Total 100.00", 700, 800, 1000),
    ]
    extracted = extract_fields(lines, [])
    assert extracted.fields["invoice_date"].value is None
    assert any("day first" in d and "month first" in d for d in extracted.doubts)


def test_iban_bic_and_vat_ids_are_checked_and_ocr_confusions_repaired_only_by_checksum() -> None:
    assert find_iban("IBAN: DE89 37O4 0044 O532 0130 00") == IBAN  # O read for 0, checksum confirms
    assert find_iban("IBAN: DE88 3704 0044 0532 0130 00") is None  # wrong check digits
    assert find_bic("BIC/SWIFT: NWBKGB2L", "GB29NWBK60161331926819") == "NWBKGB2L"
    assert find_bic("BIC: COBADEFFXXX", "GB29NWBK60161331926819") is None  # another country than the account
    assert find_vat_id("USt-IdNr.: DE 136 695 976") == VAT_ID
    assert find_vat_id("N° TVA FR40303265045") == "FR40303265045"
    assert find_vat_id("Partita IVA IT00743110157") == "IT00743110157"
    assert find_vat_id("NIF ESA78304516") == "ESA78304516"
    assert find_vat_id("BTW NL004495445B01") == "NL004495445B01"
    assert find_vat_id("VAT GB 980 7806 84") == "GB980780684"
    assert find_vat_id("USt-IdNr.: DE 136 695 977") is None


@pytest.mark.parametrize(
    ("title", "lang"),
    [
        ("Credit note", "en"),
        ("Gutschrift", "de"),
        ("Avoir", "fr"),
        ("Creditnota", "nl"),
        ("Nota de crédito", "es"),
        ("Nota di credito", "it"),
    ],
)
def test_credit_notes_have_negative_totals(title: str, lang: str) -> None:
    lines = [_line(title, 80, 40, 400), *_page(lang)[1:]]
    extracted = extract_fields(lines, [])
    assert extracted.credit_note
    assert Decimal(extracted.fields["total"].value or "0") < 0


def test_totals_on_the_last_page_of_a_multi_page_invoice_and_the_consistent_total_wins() -> None:
    page1 = [
        _line("Invoice no: 77", 80, 100, 400),
        _line("Invoice date: 2026-03-01", 80, 140, 500),
        _line("Total", 700, 600, 800),
        _line("450.00", 1000, 601, 1160),
    ]  # a line item's column
    page2 = [
        OcrLine(t, 0.98, x0, y0 + 2000, x1, y0 + 2028, 0.0, 1)
        for t, x0, y0, x1 in (
            ("Net amount", 700, 800, 900),
            ("1,000.00", 1000, 800, 1160),
            ("VAT", 700, 840, 800),
            ("200.00", 1000, 840, 1160),
            ("Total", 700, 880, 800),
            ("1,200.00 GBP", 1000, 880, 1160),
        )
    ]
    extracted = extract_fields(page1 + page2, [])
    assert extracted.fields["total"].value == "1200.00"
    assert extracted.fields["currency"].value == "GBP"


# The three paths -------------------------------------------------------------------------------


def _pdf(lines: list[tuple[float, float, str]], *, pages: int = 1) -> bytes:
    """A minimal born-digital PDF (Helvetica, a standard Type1 font): ``(x, y_from_top, text)`` in points."""

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for p in range(pages):
        content = "".join(
            f"BT /F1 10 Tf {x:.1f} {842 - y:.1f} Td ({esc(t)}) Tj ET\n"
            for x, y, t in lines
            if p == pages - 1 or y < 400
        ).encode("cp1252")
        objects.append(f"<< /Length {len(content)} >>\nstream\n{content.decode('cp1252')}\nendstream")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {len(objects)} 0 R >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {pages} >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("cp1252")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


BORN_DIGITAL = [
    (50, 60, "Brauhaus Technik GmbH"),
    (50, 75, "Hauptstraße 1, 10115 Berlin"),
    (50, 160, "RECHNUNG"),
    (330, 200, "Rechnungsnummer:"),
    (450, 200, "RE-2026-0815"),
    (330, 215, "Rechnungsdatum:"),
    (450, 215, "03.02.2026"),
    (330, 230, "Fällig am:"),
    (450, 230, "05.03.2026"),
    (50, 300, "Beschreibung"),
    (450, 300, "Betrag"),
    (50, 315, "Wartung Anlage"),
    (450, 315, "2.500,00"),
    (330, 600, "Nettobetrag"),
    (450, 600, "2.500,00 EUR"),
    (330, 615, "MwSt. 19 %"),
    (450, 615, "475,00 EUR"),
    (330, 630, "Gesamtbetrag"),
    (450, 630, "2.975,00 EUR"),
    (50, 760, "IBAN: DE89 3704 0044 0532 0130 00   BIC: COBADEFFXXX"),
    (50, 775, "USt-IdNr.: DE136695976"),
]


def test_a_born_digital_pdf_is_read_through_its_text_layer_without_ocr() -> None:
    reading = read_invoice(
        _pdf(BORN_DIGITAL, pages=2), "rechnung.pdf", suppliers=[], today=dt.date(2026, 2, 10)
    )
    assert reading.path_taken == "text-layer" and reading.error is None
    assert reading.ocr_seconds == 0.0 and reading.pages == 2
    values = reading.values()
    assert values == {
        **values,
        "invoice_number": "RE-2026-0815",
        "invoice_date": "2026-02-03",
        "due_date": "2026-03-05",
        "net": "2500.00",
        "vat": "475.00",
        "total": "2975.00",
        "currency": "EUR",
        "iban": IBAN,
        "bic": "COBADEFFXXX",
        "vat_id": VAT_ID,
        "supplier_name": "Brauhaus Technik GmbH",
        "supplier_id": None,
    }
    assert reading.language == "de"
    assert reading.fields["total"].source == "2.975,00 EUR"
    assert any("supplier not in the master data" in r for r in reading.review_reasons)


def _cii(credit_note: bool = False) -> bytes:
    from drafthorse.models.accounting import ApplicableTradeTax
    from drafthorse.models.document import Document
    from drafthorse.models.party import TaxRegistration
    from drafthorse.models.payment import PaymentMeans, PaymentTerms
    from drafthorse.models.tradelines import LineItem

    doc = Document()
    doc.context.guideline_parameter.id = "urn:cen.eu:en16931:2017"
    doc.header.id = "FX-2026-7"
    doc.header.type_code = "381" if credit_note else "380"
    doc.header.issue_date_time = dt.date(2026, 4, 1)
    seller = doc.trade.agreement.seller
    seller.name = "Atelier Lumière SARL"
    seller.address.country_id = "FR"
    seller.tax_registrations.add(TaxRegistration(id=("VA", "FR40303265045")))
    doc.trade.agreement.buyer.name = "Inloop GmbH"
    settlement = doc.trade.settlement
    settlement.currency_code = "EUR"
    means = PaymentMeans()
    means.type_code = "58"
    means.payee_account.iban = "FR1420041010050500013M02606"
    settlement.payment_means.add(means)
    terms = PaymentTerms()
    terms.due = dt.date(2026, 5, 1)
    settlement.terms.add(terms)
    line = LineItem()
    line.document.line_id = "1"
    line.product.name = "Conseil"
    line.agreement.net.amount = Decimal("100.00")
    line.delivery.billed_quantity = (Decimal("1"), "H87")
    line.settlement.trade_tax.type_code = "VAT"
    line.settlement.trade_tax.category_code = "S"
    line.settlement.trade_tax.rate_applicable_percent = Decimal("20.00")
    line.settlement.monetary_summation.total_amount = Decimal("100.00")
    doc.trade.items.add(line)
    tax = ApplicableTradeTax()
    tax.calculated_amount, tax.basis_amount = Decimal("20.00"), Decimal("100.00")
    tax.type_code, tax.category_code, tax.rate_applicable_percent = "VAT", "S", Decimal("20.00")
    settlement.trade_tax.add(tax)
    total = settlement.monetary_summation
    total.line_total = total.tax_basis_total = Decimal("100.00")
    total.charge_total = total.allowance_total = Decimal("0.00")
    total.tax_total = (Decimal("20.00"), "EUR")
    total.grand_total = total.due_amount = Decimal("120.00")
    return bytes(doc.serialize(schema="FACTUR-X_EN16931"))


def test_a_factur_x_pdf_is_read_from_its_embedded_xml_exactly() -> None:
    from facturx import generate_from_binary

    pdf = bytes(
        generate_from_binary(_pdf(BORN_DIGITAL), _cii(), flavor="factur-x", level="en16931", check_xsd=True)
    )
    reading = read_invoice(pdf, "facture.pdf", suppliers=[])
    assert reading.path_taken == "e-invoice"
    values = reading.values()
    assert values == {
        **values,
        "invoice_number": "FX-2026-7",
        "invoice_date": "2026-04-01",
        "due_date": "2026-05-01",
        "net": "100.00",
        "vat": "20.00",
        "total": "120.00",
        "currency": "EUR",
        "iban": "FR1420041010050500013M02606",
        "vat_id": "FR40303265045",
        "supplier_name": "Atelier Lumière SARL",
    }
    assert all(reading.fields[k].confidence == 1.0 for k in ("invoice_number", "total", "invoice_date"))
    assert "ExchangedDocument/ID" in reading.fields["invoice_number"].source
    assert not any("schema" in r for r in reading.review_reasons)


def test_a_ubl_xml_file_and_a_cii_credit_note_are_read_as_e_invoices() -> None:
    from facturx import generate_ubl_xml, parse_ubl_cii_xml

    ubl = bytes(generate_ubl_xml(parse_ubl_cii_xml(_cii(), check_xsd=True), level="en16931", check_xsd=True))
    from invoice_ocr.lib.suppliers import generate_suppliers

    master = {**generate_suppliers(1, seed=7)[0].to_dict(), "supplier_id": "S9", "vat_id": "FR40303265045"}
    reading = read_invoice(ubl, "peppol.xml", suppliers=[master])
    assert reading.path_taken == "e-invoice"
    assert (reading.fields["invoice_number"].value, reading.fields["total"].value) == ("FX-2026-7", "120.00")
    assert reading.fields["supplier_id"].value == "S9"  # the seller's VAT id names the master record
    credit = read_invoice(_cii(credit_note=True), "credit.xml", suppliers=[])
    assert credit.path_taken == "e-invoice" and credit.fields["total"].value == "-120.00"


def test_unreadable_files_say_why_and_never_raise() -> None:
    assert read_invoice(b"", "empty.pdf", suppliers=[]).error_kind == "empty_file"
    broken = read_invoice(b"<html><body>hello</body></html>", "page.xml", suppliers=[])
    assert broken.path_taken == "unreadable" and "not a readable e-invoice" in (broken.error or "")
    assert read_invoice(b"%PDF-1.4 garbage", "x.pdf", suppliers=[]).error_kind == "corrupt_pdf"


def test_the_read_command_prints_one_json_object_per_file_and_exits_1_for_an_unreadable_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from invoice_ocr.commands import app

    good = tmp_path / "rechnung.pdf"
    good.write_bytes(_pdf(BORN_DIGITAL))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    result = CliRunner().invoke(
        app,
        ["read", str(good), str(tmp_path / "broken.pdf"), "--json", "--root", str(tmp_path / "installation")],
    )
    assert result.exit_code == 1, result.output
    first, second = json.loads(result.stdout)
    assert set(first) == {"file", "path_taken", "language", "fields", "review_reasons", "error"}
    assert first["path_taken"] == "text-layer" and first["fields"]["total"] == {
        "value": "2975.00",
        "confidence": 1.0,
        "source": "2.975,00 EUR",
    }
    assert set(first["fields"]) == {
        "invoice_number",
        "invoice_date",
        "due_date",
        "total",
        "net",
        "vat",
        "currency",
        "iban",
        "bic",
        "vat_id",
        "supplier_name",
        "supplier_id",
    }
    assert second["path_taken"] == "unreadable" and second["error"]
    ok = CliRunner().invoke(app, ["read", str(good), "--json", "--root", str(tmp_path / "installation")])
    assert ok.exit_code == 0
    assert CliRunner().invoke(app, ["read"]).exit_code == 2  # usage error


@pytest.mark.slow  # real OCR of one scan (10-20 s on a busy 2-core machine)
def test_a_scan_is_read_with_ocr(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from invoice_ocr.lib.dataset import write_invoices
    from invoice_ocr.lib.suppliers import generate_suppliers

    suppliers = generate_suppliers(40, seed=7)
    [scan] = [g for g in write_invoices(2, suppliers, tmp_path, seed=42) if g.path.suffix == ".png"][:1]
    truth = json.loads(scan.path.with_suffix(".json").read_text())
    reading = read_invoice(scan.path.read_bytes(), scan.path.name, suppliers=[s.to_dict() for s in suppliers])
    assert reading.path_taken == "ocr" and reading.ocr_seconds > 0
    assert reading.fields["total"].value == truth["total"]
    assert reading.fields["invoice_number"].value == truth["invoice_number"]


def test_a_phone_photo_is_turned_by_its_exif_orientation_and_scaled_to_an_ocr_size() -> None:
    import io

    from PIL import Image

    from invoice_ocr.lib.ocr import MAX_LONG_SIDE, decode_pages

    photo = Image.new("RGB", (6000, 4500), "white")  # a 27 Mpx landscape sensor image ...
    exif = photo.getexif()
    exif[0x0112] = 6  # ... of a portrait page: "rotate 90 degrees clockwise to display"
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", exif=exif)
    [page] = decode_pages(buffer.getvalue())
    assert page.size[1] > page.size[0]  # upright (portrait), as the camera meant it
    assert max(page.size) == MAX_LONG_SIDE
