"""The supplier master: who may send us invoices, and the bank account we pay them on.

Synthetic and seeded. Each supplier also carries the habits of its invoices (layout, font, label
language, number and date format), because in real life the layout is a property of the sender.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

from invoice_ocr.lib.iban import BBAN_FORMATS, is_valid_iban, is_valid_vat_id, make_iban

__all__ = ["Supplier", "generate_suppliers", "supplier_problems"]

LAYOUTS = ("classic", "modern", "compact")
FONTS = ("DejaVuSans", "DejaVuSerif", "DejaVuSansMono")
NUMBER_PATTERNS = ("RE-{year}-{n:05d}", "INV{yy}{n:06d}", "{n:07d}", "F{year}/{n:04d}", "R{n:06d}-{yy}",
                   "{year}{n:05d}")
DATE_STYLES = ("dmy_dot", "iso", "d_mon_y", "dmy_slash")
AMOUNT_STYLES = ("de", "en", "plain")

# country: (weight, VAT rate, currency, legal forms, cities, streets, label language)
_COUNTRIES: dict[str, tuple[float, str, str, tuple[str, ...], tuple[tuple[str, str], ...], tuple[str, ...], str]] = {
    "DE": (0.55, "0.19", "EUR", ("GmbH", "AG", "GmbH & Co. KG", "e.K."),
           (("10115", "Berlin"), ("20095", "Hamburg"), ("80331", "München"), ("50667", "Köln"),
            ("60311", "Frankfurt am Main"), ("70173", "Stuttgart"), ("04109", "Leipzig"), ("28195", "Bremen")),
           ("Hauptstraße", "Industriestraße", "Am Hafen", "Bahnhofstraße", "Gewerbepark", "Lindenallee"), "de"),
    "AT": (0.15, "0.20", "EUR", ("GmbH", "KG"),
           (("1010", "Wien"), ("8010", "Graz"), ("5020", "Salzburg"), ("6020", "Innsbruck")),
           ("Mariahilfer Straße", "Landstraße", "Industriezeile", "Hauptplatz"), "de"),
    "NL": (0.10, "0.21", "EUR", ("B.V.", "N.V."),
           (("1012 AB", "Amsterdam"), ("3011 AD", "Rotterdam"), ("3511 LX", "Utrecht")),
           ("Keizersgracht", "Industrieweg", "Stationsplein"), "en"),
    "BE": (0.05, "0.21", "EUR", ("BV", "NV"),
           (("1000", "Brussel"), ("2000", "Antwerpen")), ("Nieuwstraat", "Havenlaan"), "en"),
    "FR": (0.05, "0.20", "EUR", ("SARL", "SAS"),
           (("75001", "Paris"), ("69001", "Lyon")), ("Rue de la Paix", "Avenue de l'Industrie"), "en"),
    "CH": (0.05, "0.081", "CHF", ("AG", "GmbH"),
           (("8001", "Zürich"), ("4051", "Basel")), ("Bahnhofstrasse", "Industriestrasse"), "de"),
    "GB": (0.05, "0.20", "GBP", ("Ltd", "plc"),
           (("EC1A 1BB", "London"), ("M1 1AE", "Manchester")), ("High Street", "Commercial Road"), "en"),
}

_NAME_STEMS = ("Nordlicht", "Rheinwerk", "Bergmann", "Alpen", "Hansa", "Falken", "Elbtal", "Kessler", "Meridian",
               "Polaris", "Atlas", "Brenner", "Lindner", "Vogel", "Sonnen", "Weber", "Delta", "Orion", "Kranich",
               "Seeblick", "Hofmann", "Tandem", "Vireo", "Quadra", "Lumen", "Helios", "Fjord", "Granit", "Merkur",
               "Zeder", "Blauwal", "Horizont", "Ostwind", "Taunus", "Vektor", "Wagner", "Zentral", "Ahorn")
_TRADES = ("Bürotechnik", "Logistik", "Metallbau", "Verpackung", "Elektro", "Druck", "IT Services", "Reinigung",
           "Catering", "Werkzeuge", "Office Supplies", "Transport", "Facility", "Software", "Industriebedarf")


@dataclass(frozen=True)
class Supplier:
    """One supplier master record (what the ERP knows) plus the habits of its invoices."""

    supplier_id: str
    name: str
    street: str
    postcode: str
    city: str
    country: str
    vat_id: str
    iban: str
    bic: str
    currency: str
    vat_rate: str
    layout: str
    font: str
    language: str
    number_pattern: str
    date_style: str
    amount_style: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Supplier:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def _bban(rng: random.Random, country: str) -> str:
    out = ""
    for length, kind in _bban_parts(BBAN_FORMATS[country]):
        if kind == "n":
            out += "".join(rng.choice("0123456789") for _ in range(length))
        elif kind == "a":
            out += "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(length))
        else:
            out += "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(length))
    return out


def _bban_parts(fmt: str) -> list[tuple[int, str]]:
    parts, digits = [], ""
    for ch in fmt:
        if ch.isdigit():
            digits += ch
        else:
            parts.append((int(digits), ch))
            digits = ""
    return parts


def _vat_id(rng: random.Random, country: str) -> str:
    def digits(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    return {
        "DE": lambda: "DE" + rng.choice("123456789") + digits(8),
        "AT": lambda: "ATU" + digits(8),
        "NL": lambda: "NL" + digits(9) + "B" + digits(2),
        "BE": lambda: "BE0" + digits(9),
        "FR": lambda: "FR" + digits(2) + digits(9),
        "CH": lambda: "CHE" + digits(9) + "MWST",
        "GB": lambda: "GB" + digits(9),
    }[country]()


def generate_suppliers(count: int = 40, seed: int = 7) -> list[Supplier]:
    """``count`` synthetic suppliers with valid IBANs and VAT ids; the same seed gives the same master."""
    if count < 1:
        raise ValueError("count must be at least 1")
    rng = random.Random(f"suppliers:{seed}")
    countries = list(_COUNTRIES)
    weights = [_COUNTRIES[c][0] for c in countries]
    used_names: set[str] = set()
    suppliers = []
    for i in range(count):
        # Every country (and layout) appears at least once, however small the master.
        country = countries[i] if i < len(countries) else rng.choices(countries, weights)[0]
        _, rate, currency, forms, cities, streets, language = _COUNTRIES[country]
        while True:
            name = f"{rng.choice(_NAME_STEMS)} {rng.choice(_TRADES)} {rng.choice(forms)}"
            if name not in used_names or len(used_names) > 500:
                break
        used_names.add(name)
        postcode, city = rng.choice(cities)
        bank = "".join(rng.choice("ABCDEFGHKLMNPRSTUVWZ") for _ in range(4))
        suppliers.append(Supplier(
            supplier_id=f"S{i + 1:04d}",
            name=name,
            street=f"{rng.choice(streets)} {rng.randint(1, 180)}",
            postcode=postcode,
            city=city,
            country=country,
            vat_id=_vat_id(rng, country),
            iban=make_iban(country, _bban(rng, country)),
            bic=f"{bank}{country}{rng.choice(['2X', 'MM', '33', 'FF'])}{rng.choice(['', 'XXX'])}",
            currency=currency,
            vat_rate=rate,
            layout=LAYOUTS[i % len(LAYOUTS)] if i < len(LAYOUTS) else rng.choice(LAYOUTS),
            font=rng.choice(FONTS),
            language=language,
            number_pattern=rng.choice(NUMBER_PATTERNS),
            date_style=rng.choice(DATE_STYLES),
            amount_style="de" if language == "de" and rng.random() < 0.7 else rng.choice(AMOUNT_STYLES),
        ))
    return suppliers


def supplier_problems(record: dict[str, Any]) -> list[str]:
    """What is wrong with one supplier master record (empty when it is clean)."""
    problems = []
    if not is_valid_iban(record.get("iban")):
        problems.append(f"IBAN {record.get('iban')!r} fails its check digits or length")
    if not is_valid_vat_id(record.get("vat_id")):
        problems.append(f"VAT id {record.get('vat_id')!r} is malformed")
    for name in ("supplier_id", "name", "street", "postcode", "city", "country", "currency"):
        if not str(record.get(name) or "").strip():
            problems.append(f"{name} is missing")
    return problems
