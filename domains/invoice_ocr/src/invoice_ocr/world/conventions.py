"""What differs between invoices from different countries: words, dates, numbers, money, tax ids.

A :class:`Market` is a language spoken in a country (de-CH, fr-BE, en-US, ...). Each carries the
conventions its invoices follow in practice: the decimal notation (1.234,56 / 1,234.56 / 1 234,56
/ 1'234.56), where the currency goes, the date formats in use (numeric in the country's order,
with month names, ISO), the word for VAT, and several wordings for every label, because no two
issuers label an invoice number the same way.

Numeric dates whose day/month order is ambiguous (07/02/26) are only printed where the market's
language settles the order; in English, where Britain and the United States disagree, a numeric
date is printed only when its day is above 12 (then either reading is unambiguous), otherwise the
month is written out.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from schwifty import IBAN
from stdnum import get_cc_module

__all__ = [
    "LABELS",
    "MARKETS",
    "MONTHS",
    "Market",
    "format_amount",
    "format_date",
    "make_iban",
    "make_vat_id",
    "markets_for",
]

#: Month names as printed on invoices (full and abbreviated), per language.
MONTHS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        (
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    ),
    "de": (
        (
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ),
        ("Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."),
    ),
    "fr": (
        (
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ),
        ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."),
    ),
    "nl": (
        (
            "januari",
            "februari",
            "maart",
            "april",
            "mei",
            "juni",
            "juli",
            "augustus",
            "september",
            "oktober",
            "november",
            "december",
        ),
        ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
    ),
    "es": (
        (
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ),
        ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"),
    ),
    "it": (
        (
            "gennaio",
            "febbraio",
            "marzo",
            "aprile",
            "maggio",
            "giugno",
            "luglio",
            "agosto",
            "settembre",
            "ottobre",
            "novembre",
            "dicembre",
        ),
        ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"),
    ),
}

#: Label wordings per language; a document picks one wording per label (seeded), as issuers do.
LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "invoice": ("INVOICE", "Invoice", "TAX INVOICE"),
        "credit_note": ("CREDIT NOTE", "Credit Note"),
        "number": ("Invoice No.", "Invoice #", "Invoice Number", "Invoice no:"),
        "credit_number": ("Credit Note No.", "Credit note number"),
        "date": ("Invoice Date", "Date", "Date of issue", "Issue date"),
        "due": ("Due Date", "Payment due", "Date due"),
        "net": ("Subtotal", "Net amount", "Total excl. VAT"),
        "vat": ("VAT", "VAT"),
        "total": ("Total", "Amount due", "Total due", "Invoice total"),
        "vat_id": ("VAT No.", "VAT Reg. No.", "VAT number"),
        "customer": ("Customer No.", "Account No.", "Customer ref."),
        "order": ("Order No.", "PO number", "Your order"),
        "bill_to": ("Bill to", "Invoice to", "Billed to"),
        "from": ("From",),
        "desc": ("Description", "Item", "Details"),
        "qty": ("Qty", "Quantity", "Units"),
        "unit": ("Unit price", "Rate", "Price"),
        "amount": ("Amount", "Line total"),
        "bank": ("Bank details", "Payment details", "Pay by bank transfer"),
        "page": ("Page",),
        "carried": ("Carried forward",),
        "brought": ("Brought forward",),
        "delivery": ("Delivery date", "Supply date"),
        "period": ("Service period", "Billing period"),
        "thanks": ("Thank you for your business.", "Payment within 14 days of the invoice date, please."),
        "stay": ("Arrival", "Departure"),
        "room": ("Room",),
        "folio": ("Folio No.", "Invoice No."),
        "dated": ("dated",),
        "customer_vat": ("Your VAT No.",),
    },
    "de": {
        "invoice": ("RECHNUNG", "Rechnung"),
        "credit_note": ("GUTSCHRIFT", "Gutschrift", "Rechnungskorrektur"),
        "number": ("Rechnungsnummer", "Rechnungs-Nr.", "Rechnung Nr.", "Beleg-Nr."),
        "credit_number": ("Gutschrift-Nr.", "Gutschriftsnummer"),
        "date": ("Rechnungsdatum", "Datum", "Belegdatum"),
        "due": ("Fällig am", "Zahlbar bis", "Fälligkeitsdatum"),
        "net": ("Nettobetrag", "Summe netto", "Zwischensumme"),
        "vat": ("MwSt.", "USt.", "Umsatzsteuer"),
        "total": ("Gesamtbetrag", "Rechnungsbetrag", "Endbetrag", "Bruttobetrag"),
        "vat_id": ("USt-IdNr.", "USt-ID", "Umsatzsteuer-ID"),
        "customer": ("Kundennummer", "Kunden-Nr."),
        "order": ("Bestellnummer", "Ihre Bestellung", "Auftrag"),
        "bill_to": ("Rechnungsempfänger", "Rechnungsadresse", "An"),
        "from": ("Absender",),
        "desc": ("Bezeichnung", "Beschreibung", "Artikel"),
        "qty": ("Menge", "Anz."),
        "unit": ("Einzelpreis", "E-Preis"),
        "amount": ("Betrag", "Gesamt"),
        "bank": ("Bankverbindung", "Zahlung per Überweisung"),
        "page": ("Seite",),
        "carried": ("Übertrag",),
        "brought": ("Übertrag",),
        "delivery": ("Lieferdatum", "Leistungsdatum"),
        "period": ("Leistungszeitraum", "Abrechnungszeitraum"),
        "thanks": ("Vielen Dank für Ihren Auftrag.", "Zahlbar innerhalb von 14 Tagen ohne Abzug."),
        "stay": ("Anreise", "Abreise"),
        "room": ("Zimmer",),
        "folio": ("Folio-Nr.", "Rechnungs-Nr."),
        "dated": ("vom",),
        "customer_vat": ("Ihre USt-IdNr.",),
    },
    "fr": {
        "invoice": ("FACTURE", "Facture"),
        "credit_note": ("AVOIR", "Avoir", "Facture d'avoir"),
        "number": ("Facture n°", "N° de facture", "Numéro de facture", "Réf. facture"),
        "credit_number": ("Avoir n°", "N° d'avoir"),
        "date": ("Date de facture", "Date d'émission", "Date"),
        "due": ("Date d'échéance", "Échéance", "À régler avant le"),
        "net": ("Total HT", "Montant HT", "Sous-total HT"),
        "vat": ("TVA", "TVA"),
        "total": ("Total TTC", "Net à payer", "Montant TTC"),
        "vat_id": ("N° TVA intracom.", "TVA intracommunautaire", "N° TVA"),
        "customer": ("N° client", "Code client"),
        "order": ("Bon de commande", "Votre commande"),
        "bill_to": ("Facturé à", "Client", "Adresse de facturation"),
        "from": ("Émetteur",),
        "desc": ("Désignation", "Description"),
        "qty": ("Qté", "Quantité"),
        "unit": ("Prix unitaire HT", "P.U. HT"),
        "amount": ("Montant HT", "Total HT"),
        "bank": ("Coordonnées bancaires", "Règlement par virement"),
        "page": ("Page",),
        "carried": ("Report",),
        "brought": ("Report",),
        "delivery": ("Date de livraison",),
        "period": ("Période de facturation",),
        "thanks": ("Merci de votre confiance.", "Pas d'escompte pour paiement anticipé."),
        "stay": ("Arrivée", "Départ"),
        "room": ("Chambre",),
        "folio": ("Folio n°", "Facture n°"),
        "dated": ("du",),
        "customer_vat": ("Votre N° TVA",),
    },
    "nl": {
        "invoice": ("FACTUUR", "Factuur"),
        "credit_note": ("CREDITNOTA", "Creditfactuur"),
        "number": ("Factuurnummer", "Factuur nr.", "Factuurnr."),
        "credit_number": ("Creditnotanummer", "Creditnota nr."),
        "date": ("Factuurdatum", "Datum"),
        "due": ("Vervaldatum", "Uiterste betaaldatum"),
        "net": ("Subtotaal", "Totaal excl. btw", "Bedrag excl. BTW"),
        "vat": ("BTW", "btw"),
        "total": ("Totaal", "Totaal incl. btw", "Te betalen"),
        "vat_id": ("BTW-nummer", "Btw-nr.", "BTW nr"),
        "customer": ("Klantnummer", "Debiteurnummer"),
        "order": ("Ordernummer", "Uw referentie"),
        "bill_to": ("Factuuradres", "Aan"),
        "from": ("Van",),
        "desc": ("Omschrijving",),
        "qty": ("Aantal",),
        "unit": ("Prijs", "Stukprijs"),
        "amount": ("Bedrag",),
        "bank": ("Betaalgegevens", "Bankgegevens"),
        "page": ("Pagina",),
        "carried": ("Transport",),
        "brought": ("Transport",),
        "delivery": ("Leverdatum",),
        "period": ("Periode",),
        "thanks": ("Bedankt voor uw opdracht.", "Gelieve binnen 30 dagen te betalen."),
        "stay": ("Aankomst", "Vertrek"),
        "room": ("Kamer",),
        "folio": ("Folionummer", "Factuurnummer"),
        "dated": ("d.d.",),
        "customer_vat": ("Uw BTW-nummer",),
    },
    "es": {
        "invoice": ("FACTURA", "Factura"),
        "credit_note": ("FACTURA RECTIFICATIVA", "Nota de crédito"),
        "number": ("Nº de factura", "Número de factura", "Factura n.º", "Nº Factura"),
        "credit_number": ("Nº rectificativa", "Número de abono"),
        "date": ("Fecha de factura", "Fecha de emisión", "Fecha"),
        "due": ("Fecha de vencimiento", "Vencimiento"),
        "net": ("Base imponible", "Subtotal", "Importe neto"),
        "vat": ("IVA", "IVA"),
        "total": ("Total", "Total factura", "Importe total", "Total a pagar"),
        "vat_id": ("NIF", "CIF", "NIF-IVA"),
        "customer": ("Nº cliente", "Código de cliente"),
        "order": ("Nº pedido", "Su pedido"),
        "bill_to": ("Facturar a", "Cliente", "Datos del cliente"),
        "from": ("Emisor",),
        "desc": ("Concepto", "Descripción"),
        "qty": ("Cant.", "Unidades"),
        "unit": ("Precio", "Precio unitario"),
        "amount": ("Importe",),
        "bank": ("Datos bancarios", "Forma de pago: transferencia"),
        "page": ("Página",),
        "carried": ("Suma y sigue",),
        "brought": ("Suma anterior",),
        "delivery": ("Fecha de entrega",),
        "period": ("Periodo de facturación",),
        "thanks": ("Gracias por su confianza.", "Pago a 30 días fecha factura."),
        "stay": ("Llegada", "Salida"),
        "room": ("Habitación",),
        "folio": ("Folio nº", "Factura nº"),
        "dated": ("de fecha",),
        "customer_vat": ("Su NIF",),
    },
    "it": {
        "invoice": ("FATTURA", "Fattura"),
        "credit_note": ("NOTA DI CREDITO", "Nota di credito"),
        "number": ("Fattura n.", "Numero fattura", "N. fattura", "Nr. documento"),
        "credit_number": ("Nota di credito n.", "Numero nota"),
        "date": ("Data fattura", "Data", "Data documento", "Data emissione"),
        "due": ("Scadenza", "Data scadenza"),
        "net": ("Imponibile", "Totale imponibile"),
        "vat": ("IVA", "IVA"),
        "total": ("Totale", "Totale documento", "Totale fattura", "Netto a pagare"),
        "vat_id": ("Partita IVA", "P.IVA", "P. IVA"),
        "customer": ("Codice cliente", "Cod. cliente"),
        "order": ("Rif. ordine", "Vs. ordine"),
        "bill_to": ("Spett.le", "Destinatario", "Cliente"),
        "from": ("Mittente",),
        "desc": ("Descrizione",),
        "qty": ("Q.tà", "Quantità"),
        "unit": ("Prezzo unit.", "Prezzo"),
        "amount": ("Importo",),
        "bank": ("Coordinate bancarie", "Pagamento: bonifico bancario"),
        "page": ("Pagina",),
        "carried": ("A riportare",),
        "brought": ("Riporto",),
        "delivery": ("Data consegna",),
        "period": ("Periodo di fatturazione",),
        "thanks": ("Grazie per averci scelto.", "Pagamento a 30 giorni data fattura."),
        "stay": ("Arrivo", "Partenza"),
        "room": ("Camera",),
        "folio": ("Conto n.", "Fattura n."),
        "dated": ("del",),
        "customer_vat": ("Vs. Partita IVA",),
    },
}


@dataclass(frozen=True)
class Market:
    """A language as written in one country: the conventions its invoices follow."""

    code: str  # e.g. "de-CH"
    language: str
    country: str
    currency: str
    #: thousands separator and decimal mark, e.g. (".", ",") for 1.234,56
    notation: tuple[str, str]
    #: how money is shown: "{sym}{n}", "{n} {sym}", "{code} {n}", "{n} {code}"
    money: tuple[str, ...]
    symbol: str
    vat_rates: tuple[str, ...]
    #: date styles: numeric patterns with {d} {m} {y} (zero-padded), "long" (month name), "short", "iso"
    dates: tuple[str, ...]
    #: numeric dates in this market read day first (settled by the market); None where the language alone
    #: does not settle it (English)
    day_first: bool | None
    vat_word: str | None = None  # overrides the language's VAT word (Swiss "MWST")
    has_vat_id: bool = True
    has_iban: bool = True
    cities: tuple[tuple[str, str], ...] = ()
    streets: tuple[str, ...] = ()
    legal_forms: tuple[str, ...] = ()


MARKETS: dict[str, Market] = {
    m.code: m
    for m in (
        Market(
            "en-GB",
            "en",
            "GB",
            "GBP",
            (",", "."),
            ("{sym}{n}",),
            "£",
            ("0.20",),
            ("{d}/{m}/{y}", "long", "short"),
            True,
            cities=(("EC1A 1BB", "London"), ("M1 1AE", "Manchester"), ("LS1 4DY", "Leeds")),
            streets=("High Street", "Commercial Road", "Station Road"),
            legal_forms=("Ltd", "plc", "LLP"),
        ),
        Market(
            "en-IE",
            "en",
            "IE",
            "EUR",
            (",", "."),
            ("€{n}", "{n} EUR"),
            "€",
            ("0.23",),
            ("{d}/{m}/{y}", "long"),
            True,
            cities=(("D02 X285", "Dublin"), ("T12 K8AF", "Cork")),
            streets=("Harcourt Street", "Grand Parade"),
            legal_forms=("Ltd", "DAC"),
        ),
        Market(
            "en-US",
            "en",
            "US",
            "USD",
            (",", "."),
            ("{sym}{n}", "{n} USD"),
            "$",
            ("0.0875", "0.06"),
            ("us_long", "{m}/{d}/{y}", "iso"),
            False,
            has_vat_id=False,
            has_iban=False,
            cities=(("NY 10001", "New York"), ("IL 60601", "Chicago"), ("CA 94105", "San Francisco")),
            streets=("Madison Avenue", "W Monroe St", "Market Street"),
            legal_forms=("Inc.", "LLC", "Corp."),
        ),
        Market(
            "de-DE",
            "de",
            "DE",
            "EUR",
            (".", ","),
            ("{n} €", "{n} EUR", "EUR {n}"),
            "€",
            ("0.19", "0.07"),
            ("{d}.{m}.{y}", "long", "iso"),
            True,
            cities=(("10115", "Berlin"), ("80331", "München"), ("50667", "Köln"), ("04109", "Leipzig")),
            streets=("Hauptstraße", "Industriestraße", "Bahnhofstraße", "Am Hafen"),
            legal_forms=("GmbH", "AG", "GmbH & Co. KG", "e.K."),
        ),
        Market(
            "de-AT",
            "de",
            "AT",
            "EUR",
            (".", ","),
            ("€ {n}", "EUR {n}"),
            "€",
            ("0.20",),
            ("{d}.{m}.{y}", "long"),
            True,
            cities=(("1010", "Wien"), ("8010", "Graz"), ("5020", "Salzburg")),
            streets=("Mariahilfer Straße", "Landstraße", "Hauptplatz"),
            legal_forms=("GmbH", "KG", "OG"),
        ),
        Market(
            "de-CH",
            "de",
            "CH",
            "CHF",
            ("'", "."),
            ("CHF {n}", "{n} CHF", "Fr. {n}"),
            "CHF",
            ("0.081",),
            ("{d}.{m}.{y}", "long"),
            True,
            vat_word="MWST",
            cities=(("8001", "Zürich"), ("4051", "Basel"), ("3011", "Bern")),
            streets=("Bahnhofstrasse", "Industriestrasse", "Seestrasse"),
            legal_forms=("AG", "GmbH"),
        ),
        Market(
            "fr-FR",
            "fr",
            "FR",
            "EUR",
            ("\u202f", ","),
            ("{n} €", "{n} EUR"),
            "€",
            ("0.20", "0.10"),
            ("{d}/{m}/{y}", "long"),
            True,
            cities=(("75001", "Paris"), ("69001", "Lyon"), ("33000", "Bordeaux"), ("13001", "Marseille")),
            streets=("rue de la Paix", "avenue de l'Industrie", "boulevard Voltaire"),
            legal_forms=("SARL", "SAS", "SA"),
        ),
        Market(
            "fr-BE",
            "fr",
            "BE",
            "EUR",
            (".", ","),
            ("{n} €", "€ {n}"),
            "€",
            ("0.21",),
            ("{d}/{m}/{y}", "long"),
            True,
            cities=(("1000", "Bruxelles"), ("4000", "Liège")),
            streets=("rue Neuve", "boulevard d'Avroy"),
            legal_forms=("SRL", "SA"),
        ),
        Market(
            "fr-CH",
            "fr",
            "CH",
            "CHF",
            ("\u202f", "."),
            ("CHF {n}", "{n} CHF"),
            "CHF",
            ("0.081",),
            ("{d}.{m}.{y}", "long"),
            True,
            vat_word="TVA",
            cities=(("1201", "Genève"), ("1003", "Lausanne")),
            streets=("rue du Rhône", "avenue de la Gare"),
            legal_forms=("SA", "Sàrl"),
        ),
        Market(
            "nl-NL",
            "nl",
            "NL",
            "EUR",
            (".", ","),
            ("€ {n}", "EUR {n}"),
            "€",
            ("0.21", "0.09"),
            ("{d}-{m}-{y}", "long"),
            True,
            cities=(("1012 AB", "Amsterdam"), ("3011 AD", "Rotterdam"), ("3511 LX", "Utrecht")),
            streets=("Keizersgracht", "Industrieweg", "Stationsplein"),
            legal_forms=("B.V.", "N.V.", "V.O.F."),
        ),
        Market(
            "nl-BE",
            "nl",
            "BE",
            "EUR",
            (".", ","),
            ("€ {n}", "{n} EUR"),
            "€",
            ("0.21",),
            ("{d}/{m}/{y}", "long"),
            True,
            cities=(("2000", "Antwerpen"), ("9000", "Gent")),
            streets=("Meir", "Veldstraat"),
            legal_forms=("BV", "NV"),
        ),
        Market(
            "es-ES",
            "es",
            "ES",
            "EUR",
            (".", ","),
            ("{n} €", "{n} EUR"),
            "€",
            ("0.21", "0.10"),
            ("{d}/{m}/{y}", "long", "{d}-{m}-{y}"),
            True,
            cities=(("28013", "Madrid"), ("08002", "Barcelona"), ("46002", "Valencia"), ("41001", "Sevilla")),
            streets=("Calle Mayor", "Avenida de la Industria", "Paseo de Gracia"),
            legal_forms=("S.L.", "S.A."),
        ),
        Market(
            "it-IT",
            "it",
            "IT",
            "EUR",
            (".", ","),
            ("€ {n}", "{n} €", "EUR {n}"),
            "€",
            ("0.22", "0.10"),
            ("{d}/{m}/{y}", "long", "{d}.{m}.{y}"),
            True,
            cities=(("20121", "Milano"), ("00184", "Roma"), ("10121", "Torino"), ("40121", "Bologna")),
            streets=("Via Roma", "Corso Italia", "Via dell'Industria"),
            legal_forms=("S.r.l.", "S.p.A.", "S.n.c."),
        ),
        Market(
            "it-CH",
            "it",
            "CH",
            "CHF",
            ("'", "."),
            ("CHF {n}", "{n} CHF"),
            "CHF",
            ("0.081",),
            ("{d}.{m}.{y}", "long"),
            True,
            vat_word="IVA",
            cities=(("6900", "Lugano"), ("6500", "Bellinzona")),
            streets=("Via Nassa", "Viale Stazione"),
            legal_forms=("SA", "Sagl"),
        ),
    )
}


def markets_for(language: str) -> list[Market]:
    """The markets that write ``language``, home market first."""
    return [m for m in MARKETS.values() if m.language == language]


def format_amount(
    value: Decimal, market: Market, style: int, *, with_currency: bool = True, minus: str = "-"
) -> str:
    """``value`` as ``market`` prints money; ``style`` picks one of the market's currency placements."""
    sep, mark = market.notation
    quantised = value.quantize(Decimal("0.01"))
    whole, _, cents = f"{abs(quantised):f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    number = sep.join(groups) + mark + cents
    if not with_currency:
        return (minus if quantised < 0 else "") + number
    pattern = market.money[style % len(market.money)]
    sign = minus if quantised < 0 else ""
    if pattern.startswith("{sym}{n}"):  # -£1,234.56, as English writes it
        return sign + pattern.format(sym=market.symbol, n=number, code=market.currency)
    # € -1.234,56 / -1.234,56 € / CHF -1'234.50: the sign stays with the number
    return pattern.format(sym=market.symbol, n=sign + number, code=market.currency)


def format_date(day: dt.date, market: Market, style: str) -> str:
    """``day`` as ``market`` writes it in ``style`` (a numeric pattern, "long", "short", "us_long" or "iso")."""
    full, short = MONTHS[market.language]
    if style == "iso":
        return day.isoformat()
    if style == "us_long":
        return f"{full[day.month - 1]} {day.day}, {day.year}"
    if style in ("long", "short"):
        month = (full if style == "long" else short)[day.month - 1]
        return (
            {"de": f"{day.day}. {month} {day.year}", "es": f"{day.day} de {month} de {day.year}"}.get(
                market.language, f"{day.day} {month} {day.year}"
            )
            if style == "long"
            else f"{day.day} {month} {day.year}"
        )
    return style.format(d=f"{day.day:02d}", m=f"{day.month:02d}", y=f"{day.year:04d}")


def date_style_for(day: dt.date, market: Market, rng: random.Random) -> str:
    """A date style ``market`` uses, never a numeric one whose day/month order the market leaves open."""
    styles = list(market.dates)
    if market.language == "en" and day.day <= 12:
        # Britain and the US read 03/04 differently; only a day above 12 settles it on its own.
        styles = [s for s in styles if "{" not in s] or ["long"]
    return rng.choice(styles)


def make_iban(country: str, rng: random.Random) -> str:
    """A valid IBAN (check digits, national check digits and format right) for ``country``."""

    def digits(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    if country in ("GB", "IE"):
        bank = "".join(rng.choice("ABCDEFGHJKLMNPRSTUWXYZ") for _ in range(4)) + digits(6)
    elif country == "NL":
        bank = rng.choice(("ABNA", "INGB", "RABO", "TRIO"))
    else:
        spec = IBAN.generate(country, bank_code="0", account_code="0")  # learns the national lengths
        bank = digits(len(spec.bank_code) + len(spec.branch_code or ""))
    for length in range(12, 5, -1):
        try:
            iban = IBAN.generate(country, bank_code=bank, account_code=digits(length))
            return str(IBAN(str(iban)).compact)  # parsing again validates it
        except Exception:  # noqa: BLE001 - too long for this country's account field: try a shorter one
            continue
    raise ValueError(f"could not make an IBAN for {country}")


def make_vat_id(country: str, rng: random.Random) -> str:
    """A VAT id that passes ``country``'s check-digit algorithm (python-stdnum), in its compact form."""
    # Switzerland's VAT number is the enterprise UID (CHE-123.456.789) with MWST/TVA/IVA after it.
    module = get_cc_module("ch", "uid") if country == "CH" else get_cc_module(country.lower(), "vat")
    shapes = {
        "DE": "DE#########",
        "AT": "ATU########",
        "FR": "FR###########",
        "BE": "BE0#########",
        "NL": "NL#########B##",
        "ES": "ESB########",
        "IT": "IT###########",
        "GB": "GB#########",
        "IE": "IE#######W",
        "CH": "CHE#########",
    }
    for _ in range(5000):
        candidate = "".join(rng.choice("0123456789") if c == "#" else c for c in shapes[country])
        if module.is_valid(candidate):
            compact = str(module.compact(candidate))
            return compact if compact.startswith(country) else country + compact
    raise ValueError(f"could not draw a valid VAT id for {country}")
