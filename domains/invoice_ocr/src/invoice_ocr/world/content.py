"""One seeded invoice of the world set: who sent it, to whom, what for, and the truth about it.

:func:`draw_invoice` decides everything that is printed (supplier, buyer, number, dates, lines,
totals, and which wording of each label this issuer uses); :class:`PrintedInvoice` formats it the
way its market writes it, for the layouts to arrange. :meth:`WorldInvoice.ground_truth` is what a
perfect reader would return, in the reader's normal forms (ISO dates, decimal strings, compact
IBAN and VAT id, ISO 4217 currency).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from invoice_ocr.world.conventions import (
    LABELS,
    Market,
    date_style_for,
    format_amount,
    format_date,
    make_iban,
    make_vat_id,
)

__all__ = ["BUYER", "LineItem", "Party", "PrintedInvoice", "WorldInvoice", "draw_invoice"]

_NAME_STEMS = {
    "en": (
        "Harbour",
        "Kestrel",
        "Brightline",
        "Ashford",
        "Northgate",
        "Bluebell",
        "Redwood",
        "Pinnacle",
        "Oakridge",
        "Summit",
        "Clearwater",
        "Ironbridge",
    ),
    "de": (
        "Nordlicht",
        "Rheinwerk",
        "Bergmann",
        "Alpenglück",
        "Hansa",
        "Falkenstein",
        "Elbtal",
        "Kessler",
        "Brenner",
        "Lindner",
        "Sonnenhof",
        "Zeder",
    ),
    "fr": (
        "Atelier Lumière",
        "Dubois",
        "Les Ateliers du Rhône",
        "Bastide",
        "Lefèvre",
        "Mistral",
        "Garnier",
        "Bellevue",
        "Moreau",
        "Cévennes",
        "Rivière",
        "Chevalier",
    ),
    "nl": (
        "Van Dijk",
        "De Vries",
        "Polderland",
        "Bakker",
        "Molenaar",
        "Zeeland",
        "Hoogveld",
        "Visser",
        "Van der Berg",
        "Noorderlicht",
        "Dijkstra",
        "Kanaal",
    ),
    "es": (
        "Hermanos García",
        "Iberia",
        "Solana",
        "Martínez",
        "Costa Brava",
        "Montes",
        "Navarro",
        "Levante",
        "Alhambra",
        "Ruiz",
        "Sierra Norte",
        "Castellana",
    ),
    "it": (
        "Rossi",
        "Ferri",
        "Lombarda",
        "Bianchi",
        "Adriatica",
        "Colombo",
        "Dolomiti",
        "Ricci",
        "Toscana",
        "Galli",
        "Marino",
        "Vesuvio",
    ),
}
_TRADES = {
    "en": (
        "Office Supplies",
        "Logistics",
        "Consulting",
        "Print",
        "Cleaning Services",
        "Software",
        "Catering",
    ),
    "de": ("Bürotechnik", "Logistik", "Metallbau", "Verpackung", "Elektro", "Druckerei", "Gebäudereinigung"),
    "fr": ("Fournitures", "Transports", "Conseil", "Imprimerie", "Nettoyage", "Informatique", "Traiteur"),
    "nl": (
        "Kantoorartikelen",
        "Transport",
        "Advies",
        "Drukkerij",
        "Schoonmaak",
        "Installatietechniek",
        "Catering",
    ),
    "es": (
        "Suministros",
        "Transportes",
        "Consultoría",
        "Artes Gráficas",
        "Limpiezas",
        "Informática",
        "Hostelería",
    ),
    "it": ("Forniture", "Trasporti", "Consulenza", "Tipografia", "Pulizie", "Informatica", "Ristorazione"),
}
_ITEMS = {
    "en": (
        "Printer paper A4, 80 g (box)",
        "Toner cartridge, black",
        "On-site support (hours)",
        "Courier delivery",
        "Software licence, annual",
        "Office cleaning, monthly",
        "Catering for 20 people",
        "Desk lamp LED",
        "Consulting day",
        "Shipping pallet",
        "Ergonomic chair",
        "Network cable 5 m",
    ),
    "de": (
        "Kopierpapier A4, 80 g (Karton)",
        "Tonerkartusche schwarz",
        "Vor-Ort-Service (Std.)",
        "Kurierfahrt",
        "Softwarelizenz, jährlich",
        "Unterhaltsreinigung Büro",
        "Bewirtung 20 Personen",
        "Schreibtischleuchte LED",
        "Beratungstag",
        "Palettenversand",
        "Bürodrehstuhl",
        "Netzwerkkabel 5 m",
    ),
    "fr": (
        "Ramette papier A4 80 g",
        "Cartouche de toner noir",
        "Intervention sur site (heures)",
        "Livraison coursier",
        "Licence logicielle annuelle",
        "Nettoyage des bureaux",
        "Plateau-repas (20 pers.)",
        "Lampe de bureau LED",
        "Journée de conseil",
        "Envoi palette",
        "Fauteuil de bureau",
        "Câble réseau 5 m",
    ),
    "nl": (
        "Printpapier A4 80 g (doos)",
        "Tonercartridge zwart",
        "Service op locatie (uren)",
        "Koeriersdienst",
        "Softwarelicentie, jaarlijks",
        "Kantoorschoonmaak",
        "Lunch voor 20 personen",
        "Bureaulamp LED",
        "Adviesdag",
        "Palletverzending",
        "Bureaustoel",
        "Netwerkkabel 5 m",
    ),
    "es": (
        "Papel A4 80 g (caja)",
        "Cartucho de tóner negro",
        "Asistencia técnica (horas)",
        "Mensajería urgente",
        "Licencia de software anual",
        "Limpieza de oficinas",
        "Catering 20 personas",
        "Lámpara de escritorio LED",
        "Jornada de consultoría",
        "Envío de palé",
        "Silla ergonómica",
        "Cable de red 5 m",
    ),
    "it": (
        "Carta A4 80 g (scatola)",
        "Cartuccia toner nero",
        "Assistenza tecnica (ore)",
        "Corriere espresso",
        "Licenza software annuale",
        "Pulizia uffici",
        "Catering 20 persone",
        "Lampada da scrivania LED",
        "Giornata di consulenza",
        "Spedizione bancale",
        "Sedia ergonomica",
        "Cavo di rete 5 m",
    ),
}
_NUMBER_PATTERNS = (
    "{p}-{y}-{n:05d}",
    "{p}{yy}{n:06d}",
    "{n:07d}",
    "{y}/{n:04d}",
    "{p}{y}{n:04d}",
    "{yy}-{n:05d}",
    "{n}/{y}",
    "{y}.{n:04d}",
    "{p}-{n:06d}",
    "{p} {n}/{yy}",
)
_PREFIXES = {
    "en": ("INV", "SI", "IN"),
    "de": ("RE", "R", "RG"),
    "fr": ("FA", "F", "FAC"),
    "nl": ("F", "INV", "FN"),
    "es": ("FV", "A", "FRA"),
    "it": ("FT", "FPR", "FE"),
}
_CREDIT_PREFIXES = {"en": "CN", "de": "GS", "fr": "AV", "nl": "CR", "es": "R", "it": "NC"}


@dataclass(frozen=True)
class Party:
    """A company on the invoice: the supplier who sends it or the buyer who receives it."""

    name: str
    street: str
    postcode: str
    city: str
    country: str
    vat_id: str | None
    iban: str | None = None
    bic: str | None = None
    phone: str = ""
    email: str = ""
    website: str = ""
    supplier_id: str | None = None
    language: str = "en"

    def master_record(self, currency: str, vat_rate: str, layout: str) -> dict[str, Any]:
        """The supplier master record, in the shape :class:`invoice_ocr.lib.suppliers.Supplier` writes
        (its invoice-habit fields describe the world set's sender: the layout it prints, no number or
        date pattern of the synthetic generator)."""
        return {
            "supplier_id": self.supplier_id,
            "name": self.name,
            "street": self.street,
            "postcode": self.postcode,
            "city": self.city,
            "country": self.country,
            "vat_id": self.vat_id,
            "iban": self.iban,
            "bic": self.bic,
            "currency": currency,
            "vat_rate": vat_rate,
            "layout": layout,
            "font": "",
            "language": self.language,
            "number_pattern": "",
            "date_style": "",
            "amount_style": "",
        }


#: The company receiving every invoice (the platform's user), in Berlin.
BUYER = Party("Inloop Handelsgesellschaft mbH", "Friedrichstraße 68", "10117", "Berlin", "DE", "DE287654325")


@dataclass(frozen=True)
class LineItem:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    day: dt.date | None = None  # hotel folios and statements print a date per line


@dataclass
class WorldInvoice:
    """Everything printed on one invoice, before layout."""

    market: Market
    supplier: Party
    buyer: Party
    credit_note: bool
    number: str
    issue_date: dt.date
    due_date: dt.date | None
    delivery_date: dt.date
    period: tuple[dt.date, dt.date]
    order_ref: str
    customer_no: str
    lines: list[LineItem]
    vat_rate: Decimal
    net: Decimal
    vat: Decimal
    total: Decimal
    labels: dict[str, str]
    date_style: str
    money_style: int
    font: str
    show_bic: bool
    show_buyer_vat: bool
    layout: str = ""
    seed: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def language(self) -> str:
        return self.market.language

    def ground_truth(self) -> dict[str, Any]:
        """What a perfect reader returns for this invoice (fields it does not print are null)."""
        s = self.supplier
        return {
            "invoice_number": self.number,
            "invoice_date": self.issue_date.isoformat(),
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "total": f"{self.total:.2f}",
            "net": f"{self.net:.2f}",
            "vat": f"{self.vat:.2f}",
            "currency": self.market.currency,
            "iban": s.iban,
            "bic": s.bic if self.show_bic else None,
            "vat_id": s.vat_id,
            "supplier_name": s.name,
            "supplier_id": s.supplier_id,
            "language": self.language,
            "market": self.market.code,
            "country": s.country,
            "document_type": "credit_note" if self.credit_note else "invoice",
            "layout": self.layout,
        }


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def make_supplier(market: Market, rng: random.Random, supplier_id: str | None) -> Party:
    """A supplier from ``market`` with a valid IBAN and VAT id (where its country has them)."""
    lang = market.language
    stem, trade = rng.choice(_NAME_STEMS[lang]), rng.choice(_TRADES[lang])
    name = (
        f"{stem} {trade} {rng.choice(market.legal_forms)}"
        if rng.random() < 0.6
        else f"{trade} {stem} {rng.choice(market.legal_forms)}"
    )
    postcode, city = rng.choice(market.cities)
    slug = "".join(ch for ch in stem.lower() if ch.isalnum())[:12] or "mail"
    tld = {
        "GB": "co.uk",
        "US": "com",
        "IE": "ie",
        "DE": "de",
        "AT": "at",
        "CH": "ch",
        "FR": "fr",
        "BE": "be",
        "NL": "nl",
        "ES": "es",
        "IT": "it",
    }[market.country]
    bic = None
    iban = make_iban(market.country, rng) if market.has_iban else None
    if iban:
        bank = "".join(rng.choice("ABCDEFGHKLMNPRSTUVWZ") for _ in range(4))
        bic = f"{bank}{market.country}{rng.choice(['2X', 'MM', '33', 'FF', '22'])}{rng.choice(['', 'XXX'])}"
    return Party(
        name=name,
        street=f"{rng.choice(market.streets)} {rng.randint(1, 180)}",
        postcode=postcode,
        city=city,
        country=market.country,
        vat_id=make_vat_id(market.country, rng) if market.has_vat_id else None,
        iban=iban,
        bic=bic,
        phone=f"+{rng.randint(30, 49)} {rng.randint(10, 99)} {rng.randint(100000, 9999999)}",
        email=f"billing@{slug}.{tld}",
        website=f"www.{slug}.{tld}",
        supplier_id=supplier_id,
        language=lang,
    )


def draw_invoice(
    market: Market,
    supplier: Party,
    rng: random.Random,
    *,
    credit_note: bool = False,
    many_lines: bool = False,
    hotel: bool = False,
    font: str = "DejaVu Sans",
) -> WorldInvoice:
    """One invoice from ``supplier``: number, dates, lines and totals, and the issuer's label wordings."""
    lang = market.language
    issue = dt.date(2025, 1, 2) + dt.timedelta(days=rng.randint(0, 690))
    due = issue + dt.timedelta(days=rng.choice((10, 14, 30, 30, 45))) if rng.random() < 0.85 else None
    year, n = issue.year, rng.randint(12, 98_000)
    prefix = _CREDIT_PREFIXES[lang] if credit_note else rng.choice(_PREFIXES[lang])
    number = rng.choice(_NUMBER_PATTERNS).format(p=prefix, y=year, yy=f"{year % 100:02d}", n=n)
    if credit_note and not number.startswith(prefix):
        number = f"{prefix}-{number}"
    rate = Decimal(rng.choice(market.vat_rates))
    lines: list[LineItem] = []
    if hotel:
        nights = rng.randint(2, 6)
        arrival = issue - dt.timedelta(days=nights)
        price = Decimal(rng.randint(89, 260))
        for k in range(nights):
            lines.append(
                LineItem(
                    f"{LABELS[lang]['room'][0]} {rng.randint(101, 512)}",
                    Decimal(1),
                    price,
                    price,
                    arrival + dt.timedelta(days=k),
                )
            )
            if rng.random() < 0.5:
                extra = _money(Decimal(rng.randint(900, 6500)) / 100)
                lines.append(
                    LineItem(
                        rng.choice(("Minibar", "Restaurant", "Parking", "Breakfast")),
                        Decimal(1),
                        extra,
                        extra,
                        arrival + dt.timedelta(days=k),
                    )
                )
    else:
        count = rng.randint(38, 62) if many_lines else rng.randint(1, 6)
        for _ in range(count):
            qty = (
                Decimal(rng.choice((1, 1, 2, 3, 5, 10, 12, 20)))
                if rng.random() < 0.8
                else Decimal(rng.randint(2, 30)) / 2
            )
            unit = _money(
                Decimal(rng.randint(250, 250_000)) / 100
                if rng.random() < 0.8
                else Decimal(rng.randint(1, 300))
            )
            lines.append(
                LineItem(
                    rng.choice(_ITEMS[lang]),
                    qty,
                    unit,
                    _money(qty * unit),
                    issue - dt.timedelta(days=rng.randint(0, 28)) if many_lines else None,
                )
            )
    if credit_note:
        lines = [LineItem(it.description, it.quantity, it.unit_price, -it.amount, it.day) for it in lines]
    net = sum((it.amount for it in lines), Decimal("0.00"))
    vat = _money(net * rate)
    labels = {key: rng.choice(words) for key, words in LABELS[lang].items()}
    if credit_note:
        labels["invoice"] = rng.choice(LABELS[lang]["credit_note"])
        labels["number"] = rng.choice(LABELS[lang]["credit_number"])
    if market.vat_word:
        labels["vat"] = market.vat_word
    if market.country == "US":
        labels["vat"] = "Sales Tax"
        labels["net"] = "Subtotal"
    return WorldInvoice(
        market=market,
        supplier=supplier,
        buyer=BUYER,
        credit_note=credit_note,
        number=number,
        issue_date=issue,
        due_date=due,
        delivery_date=issue - dt.timedelta(days=rng.randint(1, 12)),
        # the calendar month before the invoice (a utility's billing period)
        period=(
            (issue.replace(day=1) - dt.timedelta(days=1)).replace(day=1),
            issue.replace(day=1) - dt.timedelta(days=1),
        ),
        order_ref=f"PO-{rng.randint(10000, 99999)}",
        customer_no=f"{rng.randint(10000, 999999)}",
        lines=lines,
        vat_rate=rate,
        net=net,
        vat=vat,
        total=net + vat,
        labels=labels,
        date_style=date_style_for(issue, market, rng),
        money_style=rng.randrange(len(market.money)),
        font=font,
        show_bic=rng.random() < 0.7,
        show_buyer_vat=rng.random() < 0.4,
    )


class PrintedInvoice:
    """An invoice's strings as its market prints them; the layouts only arrange these."""

    def __init__(self, inv: WorldInvoice) -> None:
        self.inv = inv
        self.m = inv.market

    def label(self, key: str) -> str:
        return self.inv.labels[key]

    def money(self, value: Decimal) -> str:
        return format_amount(value, self.m, self.inv.money_style)

    def number(self, value: Decimal) -> str:
        return format_amount(value, self.m, 0, with_currency=False)

    def qty(self, value: Decimal) -> str:
        text = f"{value.normalize():f}"
        return text.replace(".", self.m.notation[1])

    def date(self, day: dt.date | None) -> str:
        if day is None:
            return ""
        style = self.inv.date_style
        if "{" in style and self.m.language == "en" and day.day <= 12:
            style = "long"  # the issue date's day settled the style; this date's may not
        return format_date(day, self.m, style)

    def vat_label(self) -> str:
        pct = (self.inv.vat_rate * 100).normalize()
        pct_text = f"{pct:f}".replace(".", self.m.notation[1] if self.m.notation[1] == "," else ".")
        space = " " if self.m.language in ("de", "fr") else ""
        return f"{self.label('vat')} {pct_text}{space}%"

    def iban(self) -> str:
        iban = self.inv.supplier.iban or ""
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))

    def vat_id(self) -> str:
        vat_id = self.inv.supplier.vat_id or ""
        if vat_id.startswith("CHE"):
            digits = vat_id[3:]
            word = {"de": "MWST", "fr": "TVA", "it": "IVA"}.get(self.m.language, "MWST")
            return f"CHE-{digits[:3]}.{digits[3:6]}.{digits[6:]} {word}"
        return vat_id

    def address_lines(self, party: Party) -> list[str]:
        country = {"DE": "Deutschland", "GB": "United Kingdom", "US": "USA"}.get(party.country, party.country)
        if party.country == "US":
            return [party.name, party.street, f"{party.city}, {party.postcode}", country]
        if party.country in ("GB", "IE"):
            return [party.name, party.street, party.city, party.postcode, country]
        return [party.name, party.street, f"{party.postcode} {party.city}", country]
