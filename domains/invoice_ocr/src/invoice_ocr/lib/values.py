"""Values as invoices print them: amounts, dates, currencies, IBAN/BIC and VAT ids, in any usual notation.

Pure parsing, no layout: :mod:`invoice_ocr.lib.extract` finds *where* a value is, this module says
*what* it is. Every parser returns ``None`` (or an ambiguity) rather than guess:

* amounts in every usual notation (``1.234,56`` / ``1,234.56`` / ``1 234,56`` / ``1'234.56`` /
  ``-12,00`` / ``12,00-`` / ``(12.00)``) with the currency next to them (ISO code or symbol);
* dates with ``dateparser`` restricted to the document's languages; a numeric date whose day/month
  order neither the language nor the supplier's country settles (``07/02/23`` on an English invoice
  from an unknown country) is returned as *ambiguous*, for a person to decide;
* IBANs with ``schwifty`` (checksum and the country's BBAN format), repairing OCR letter/digit
  confusions only where the checksum confirms the repair; BICs with ``schwifty``;
* VAT ids with ``python-stdnum`` (``stdnum.eu.vat`` plus Switzerland, the UK and Norway).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = [
    "CURRENCY_CODES",
    "DMY_COUNTRIES",
    "MDY_COUNTRIES",
    "AmountFound",
    "DateFound",
    "fold",
    "find_amounts",
    "find_bic",
    "find_currency",
    "find_date",
    "find_iban",
    "find_vat_id",
    "parse_amount",
    "repair_digits",
]

#: ISO 4217 codes an invoice in Europe or from a supplier abroad plausibly carries.
CURRENCY_CODES = frozenset(
    (
        "EUR",
        "CHF",
        "GBP",
        "USD",
        "SEK",
        "DKK",
        "NOK",
        "ISK",
        "PLN",
        "CZK",
        "HUF",
        "RON",
        "BGN",
        "HRK",
        "RSD",
        "TRY",
        "UAH",
        "JPY",
        "CNY",
        "HKD",
        "SGD",
        "AUD",
        "NZD",
        "CAD",
        "MXN",
        "BRL",
        "ARS",
        "CLP",
        "COP",
        "INR",
        "ZAR",
        "AED",
        "SAR",
        "ILS",
        "KRW",
        "TWD",
        "THB",
        "MYR",
        "IDR",
        "PHP",
        "MAD",
        "TND",
        "EGP",
    )
)
#: Symbols and local spellings -> ISO code ("kr" alone is settled by the country, see :func:`find_currency`).
CURRENCY_SYMBOLS = {
    "€": "EUR",
    "£": "GBP",
    "US$": "USD",
    "$": "USD",
    "¥": "JPY",
    "zł": "PLN",
    "zl": "PLN",
    "kč": "CZK",
    "kc": "CZK",
    "ft": "HUF",
    "sfr": "CHF",
    "fr.": "CHF",
    "lei": "RON",
    "₺": "TRY",
    "₹": "INR",
    "₩": "KRW",
    "a$": "AUD",
    "au$": "AUD",
    "c$": "CAD",
    "ca$": "CAD",
    "nz$": "NZD",
    "hk$": "HKD",
    "r$": "BRL",
    "euro": "EUR",
    "euros": "EUR",
}
_KRONA = {"SE": "SEK", "DK": "DKK", "NO": "NOK", "IS": "ISK", "FO": "DKK", "GL": "DKK"}
#: Countries whose numeric dates are month-first; every other country writing dates numerically is
#: day-first (or year-first, which is unambiguous).
MDY_COUNTRIES = frozenset(("US", "PH", "FM", "MH", "PW", "AS", "GU", "MP", "PR", "VI", "UM"))
DMY_COUNTRIES = frozenset(
    (
        "GB",
        "IE",
        "AU",
        "NZ",
        "IN",
        "ZA",
        "SG",
        "MY",
        "HK",
        "DE",
        "AT",
        "CH",
        "LI",
        "LU",
        "NL",
        "BE",
        "FR",
        "MC",
        "ES",
        "PT",
        "IT",
        "SM",
        "VA",
        "MT",
        "DK",
        "SE",
        "NO",
        "FI",
        "IS",
        "PL",
        "CZ",
        "SK",
        "SI",
        "HR",
        "HU",
        "RO",
        "BG",
        "GR",
        "CY",
        "EE",
        "LV",
        "LT",
        "TR",
        "BR",
        "AR",
        "MX",
        "CL",
        "CO",
        "IL",
        "AE",
        "XI",
    )
)
#: Languages whose speakers never write a numeric date month-first.
_ALL_LANGUAGES = ("en", "de", "fr", "nl", "es", "it")
_DMY_LANGUAGES = frozenset(("de", "fr", "nl", "es", "it", "pt", "da", "sv", "no", "fi", "pl", "cs"))


def fold(text: str) -> str:
    """Lower-case without accents, *one character per character*, so indices still match the original."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFKD", ch)[:1] or ch
        low = base.lower()
        out.append(low if len(low) == 1 else ch)
    return "".join(out)


def repair_digits(text: str) -> str:
    """OCR letter/digit confusions inside numbers (O->0, l/I->1) where a digit is adjacent."""
    chars = list(text)
    for i, ch in enumerate(chars):
        if ch in "OoDIl|":
            near = (i > 0 and chars[i - 1].isdigit()) or (i + 1 < len(chars) and chars[i + 1].isdigit())
            if near:
                chars[i] = "0" if ch in "OoD" else "1"
    return "".join(chars)


# Amounts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AmountFound:
    """One amount in a text: its value (sign applied), the currency printed beside it, and where it is."""

    value: Decimal
    currency: str | None
    start: int
    end: int


_SPACES = "\u00a0\u202f\u2009 "
# A run of digits with grouping/decimal separators; the interpretation is done in _interpret.
_NUMBER = re.compile(r"\d(?:[\d.,'’" + _SPACES + r"]*\d)?(?:[.,](?:-|–|—))?")
_MINUS = "-−–"


def _interpret(number: str, *, require_cents: bool) -> Decimal | None:
    """``1.234,56`` -> 1234.56 once the separators are told apart; None if the grouping is not consistent."""
    zero_cents = re.search(r"[.,][-–—]$", number)
    if zero_cents:  # "1.250,-" / "CHF 80.–": whole units
        return _interpret(number[: zero_cents.start()], require_cents=False)
    compact = re.sub(r"[" + _SPACES + r"'’]", " ", number)
    decimals = ""
    head = compact
    match = re.search(r"[.,](\d{1,2})$", compact)
    if match:
        decimals, head = match.group(1), compact[: match.start()]
    if require_cents and not decimals:
        return None
    groups = re.split(r"[., ]", head)
    seps = set(re.findall(r"[., ]", head))
    if len(seps) > 1 or (decimals and match and match.group(0)[0] in seps):
        return None  # "1,234,5.6" or a decimal separator also used for grouping
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        return None
    if len(decimals) == 1:
        decimals += "0"
    try:
        return Decimal("".join(groups) + ("." + decimals if decimals else ""))
    except InvalidOperation:
        return None


def _currency_near(text: str, start: int, end: int) -> tuple[str | None, int, int]:
    """The currency printed right before or right after ``text[start:end]`` and the widened span."""
    before, after = text[max(0, start - 7) : start], text[end : end + 6]
    m = re.search(
        r"(?<![A-Za-z])([A-Z]{3}|[A-Za-z]{0,2}\$|[€£¥₺₹₩]|sfr\.?|Fr\.|zł|kč|kr\.?|Ft|lei)\s*[-−–]?\s*$",
        before,
        re.IGNORECASE,
    )
    if m:
        code = _currency_code(m.group(1))
        if code:
            return code, start - (len(before) - m.start()), end
    m = re.match(r"\s*([A-Z]{3}|[€£¥₺₹₩$]|zł|zl|kč|kc|Ft|lei|kr\.?|,-)", after, re.IGNORECASE)
    if m:
        code = _currency_code(m.group(1))
        if code:
            return code, start, end + m.end()
    return None, start, end


def _currency_code(token: str) -> str | None:
    t = token.strip().rstrip(".")
    if t.upper() in CURRENCY_CODES:
        return t.upper()
    if t.lower() in ("kr",):
        return "kr"
    return CURRENCY_SYMBOLS.get(t.lower()) or CURRENCY_SYMBOLS.get(t.lower() + ".")


def find_amounts(text: str, *, require_cents: bool = True) -> list[AmountFound]:
    """Every amount in ``text`` (left to right), with its sign and the currency beside it.

    Percentages (``19,00 %``) and numbers glued to letters (``ATU12345678``) are not amounts.
    """
    text = repair_digits(text)
    out: list[AmountFound] = []
    for m in _NUMBER.finditer(text):
        start, end = m.start(), m.end()
        glued = re.search(r"([A-Za-z]{3})$", text[max(0, start - 3) : start])
        if (
            start > 0
            and text[start - 1].isalpha()
            and not (glued and glued.group(1).upper() in CURRENCY_CODES)
        ):
            continue  # part of a word or an id ("ATU12345678"), unless glued to a currency ("CHF4'803.13" in OCR)
        if (
            end < len(text)
            and text[end].isalpha()
            and not re.match(r"[A-Za-z]{3}\b|zł|kč|kr|ft|lei", text[end:], re.IGNORECASE)
        ):
            continue
        pieces = [(m.group(0), start)]
        value = _interpret(m.group(0).rstrip(_SPACES), require_cents=require_cents)
        if value is None and re.search("[" + _SPACES + "]", m.group(0)):
            # "12 1.234,56": two numbers side by side, not one with space grouping
            pieces = [
                (p.group(0), start + p.start()) for p in re.finditer(r"[^" + _SPACES + r"]+", m.group(0))
            ]
        for piece, piece_start in pieces:
            piece_end = piece_start + len(piece)
            value = (
                _interpret(piece, require_cents=require_cents) if len(pieces) > 1 or value is None else value
            )
            if value is None:
                continue
            if re.match(r"\s*%", text[piece_end:]):
                continue
            currency, span_start, span_end = _currency_near(text, piece_start, piece_end)
            negative = False
            lead = text[max(0, span_start - 2) : span_start]
            if re.search(r"[" + _MINUS + r"]\s?$", lead) and not re.search(
                r"\w[" + _MINUS + r"]\s?$", text[max(0, span_start - 3) : span_start]
            ):
                negative = True
            elif re.search(r"[" + _MINUS + r"]\s?$", text[max(0, piece_start - 2) : piece_start]):
                negative = True  # "EUR -12.00"
            elif re.match(r"[" + _MINUS + r"](?!\d)", text[span_end : span_end + 2]) or re.match(
                r"[" + _MINUS + r"](?!\d)", text[piece_end : piece_end + 2]
            ):
                negative = True  # "12,00-"
            elif re.search(r"\(\s*$", text[max(0, span_start - 2) : span_start]) and re.match(
                r"\s*\)", text[span_end:]
            ):
                negative = True  # "(12.00)"
            out.append(AmountFound(-value if negative else value, currency, span_start, span_end))
    return out


def parse_amount(text: str) -> Decimal | None:
    """The one amount ``text`` consists of (``1.234,56 EUR`` -> Decimal('1234.56')), None if it is not one."""
    found = find_amounts(text)
    if len(found) != 1:
        return None
    rest = (text[: found[0].start] + text[found[0].end :]).strip(" :()-−–\u00a0")
    if re.search(r"[0-9]", rest) or len(re.sub(r"[^A-Za-z]", "", rest)) > 3:
        return None
    return found[0].value


def find_currency(text: str, country: str | None = None) -> str | None:
    """The one currency ``text`` names (ISO code or symbol); None if none or several different ones."""
    codes = {c for c in re.findall(r"\b[A-Z]{3}\b", text) if c in CURRENCY_CODES}
    for symbol, code in CURRENCY_SYMBOLS.items():
        if symbol in ("$",):
            if re.search(r"(?<![A-Za-z])\$", text):
                codes.add(code)
            continue
        if len(symbol) == 1 and not symbol.isalpha():
            if symbol in text:
                codes.add(code)
        elif re.search(r"(?<![A-Za-z])" + re.escape(symbol) + r"(?![A-Za-z])", text, re.IGNORECASE):
            if (
                symbol.rstrip(".").isalpha()
                and len(symbol.rstrip(".")) <= 3
                and not re.search(
                    r"\d\s*" + re.escape(symbol) + r"|" + re.escape(symbol) + r"\s*\d", text, re.IGNORECASE
                )
            ):
                continue  # "Ft", "lei", "Fr." count only beside a number
            codes.add(code)
    if re.search(r"\d\s*kr\b|\bkr\.?\s*\d|\bSEK|\bDKK|\bNOK", text, re.IGNORECASE) and country in _KRONA:
        codes.add(_KRONA[country])
    if "USD" in codes and codes & {"AUD", "CAD", "NZD", "HKD", "BRL"}:
        codes.discard("USD")  # "A$" also matched "$"
    return codes.pop() if len(codes) == 1 else None


# Dates -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateFound:
    """A date read from a text, or the reason it could not be settled (``ambiguous`` day/month order)."""

    value: dt.date | None
    text: str
    ambiguous: str | None = None


_NUMERIC_DATE = re.compile(r"(?<![\d.,/])(\d{1,4})\s?([./\-])\s?(\d{1,2})\s?\2\s?(\d{2,4})(?![\d,]|\.\d)")
_MONTH_WORD = r"[A-Za-zÀ-ÿ]{3,}\.?"
# Day, month name, year (and month, day, year); OCR may drop the spaces ("27demarzo de2026").
_TEXT_DATES = (
    re.compile(
        r"(?<!\d)(?P<day>\d{1,2})(?:st|nd|rd|th|er|º|°|\.)?\s*(?:de\s+|di\s+)?(?P<month>[A-Za-zÀ-ÿ0]{3,}\.?)"
        r",?\s*(?:de\s*|del\s*)?(?P<year>\d{2,4})(?!\d)"
    ),
    re.compile(r"(?P<month>[A-Za-zÀ-ÿ]{3,}\.?)\s*(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s*(?P<year>\d{4})(?!\d)"),
)


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year


def _order(languages: tuple[str, ...], country: str | None, separator: str) -> str | None:
    """``dmy`` or ``mdy`` as far as the language, the supplier's country and the separator settle it."""
    if country in MDY_COUNTRIES:
        return "mdy"
    if country in DMY_COUNTRIES:
        return "dmy"
    if separator == ".":  # nobody writes month-first with dots
        return "dmy"
    if languages and all(lang in _DMY_LANGUAGES for lang in languages):
        return "dmy"
    return None


def _numeric(m: re.Match[str], languages: tuple[str, ...], country: str | None) -> DateFound | None:
    a, sep, b, c = m.group(1), m.group(2), m.group(3), m.group(4)
    try:
        if len(a) == 4:  # ISO order
            return DateFound(dt.date(int(a), int(b), int(c)), m.group(0))
        if len(a) == 3 or len(c) == 3:
            return None
        first, second, year = int(a), int(b), _year(c)
    except ValueError:
        return None
    options = []
    for day, month, order in ((first, second, "dmy"), (second, first, "mdy")):
        try:
            options.append((order, dt.date(year, month, day)))
        except ValueError:
            continue
    if not options:
        return None
    if len(options) == 1 or options[0][1] == options[1][1]:
        return DateFound(options[0][1], m.group(0))
    order = _order(languages, country, sep)
    if order is None:
        return DateFound(
            None,
            m.group(0),
            ambiguous=(
                f"the date {m.group(0)!r} reads as {options[0][1].isoformat()} (day first) or "
                f"{options[1][1].isoformat()} (month first); neither the language nor the supplier's country settles it"
            ),
        )
    return DateFound(dict(options)[order], m.group(0))


@functools.lru_cache(maxsize=4096)
def _dateparser(text: str, languages: tuple[str, ...]) -> dt.date | None:
    import dateparser

    settings = {
        "STRICT_PARSING": True,
        "REQUIRE_PARTS": ["day", "month", "year"],
        "DATE_ORDER": "DMY",
        "PREFER_LOCALE_DATE_ORDER": False,
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    try:
        parsed = dateparser.parse(text, languages=list(languages) or None, settings=settings)  # type: ignore[arg-type]
    except (ValueError, OverflowError, TypeError):
        return None
    return parsed.date() if parsed else None


def find_date(text: str, languages: tuple[str, ...] = (), country: str | None = None) -> DateFound | None:
    """The first date in ``text``: numeric (``14.03.2026``, ``2026-03-14``, ``03/14/2026``) or with a month
    name in one of ``languages`` (``14 Mar 2026``, ``14. März 2026``, ``14 de marzo de 2026``).

    A numeric day/month order that neither ``languages`` nor ``country`` settles gives a
    :class:`DateFound` with ``value=None`` and the ``ambiguous`` reason.
    """
    found: list[tuple[int, DateFound]] = []
    for m in _NUMERIC_DATE.finditer(text):
        date = _numeric(m, languages, country)
        if date:
            found.append((m.start(), date))
            break
    for pattern in _TEXT_DATES:
        for m in pattern.finditer(text):
            if found and m.start() >= found[0][0]:
                break
            month = m.group("month")
            if sum(c.isalpha() for c in month) < 2:
                continue
            month = re.sub(r"0", "o", month)  # OCR reads "Oct" as "0ct"
            if fold(month).rstrip(".") in ("rechnung", "invoice", "facture", "date", "datum"):
                continue
            value = None
            # "27demarzo": the Spanish/Italian "de"/"di" glued to the month by OCR.
            for name in (month, *([month[2:]] if fold(month[:2]) in ("de", "di") else [])):
                clean = f"{m.group('day')} {name} {m.group('year')}"
                # Month names rarely mean different months in two languages: try the document's first.
                value = _dateparser(clean, tuple(languages)) or _dateparser(clean, _ALL_LANGUAGES)
                if value:
                    break
            if value:
                found.append((m.start(), DateFound(value, m.group(0))))
                break
    if not found:
        return None
    return min(found, key=lambda t: t[0])[1]


# Bank and tax ids --------------------------------------------------------------------------

_TO_DIGIT = {"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "B": "8", "G": "6"}
_TO_LETTER = {"0": "O", "1": "I", "5": "S", "8": "B", "2": "Z", "6": "G"}


def _valid_iban(text: str) -> str | None:
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    try:
        return str(IBAN(text, validate_bban=False).compact)
    except (SchwiftyException, ValueError):
        return None


@functools.lru_cache(maxsize=512)
def _iban_spec(country: str) -> tuple[int, str] | None:
    """(IBAN length, per-position kind ``n``/``a``/``c``) of ``country`` from schwifty's registry, or None."""
    from schwifty import registry
    from schwifty.exceptions import SchwiftyException

    try:
        spec = registry.get_iban_spec(country)
    except (SchwiftyException, KeyError):
        return None
    kinds = "aann" + "".join(kind * int(n) for n, kind in re.findall(r"(\d+)!?([nac])", spec.bban_spec))
    return spec.iban_length, kinds


def _repair_iban(raw: str) -> str:
    """Digit/letter confusions where the country's BBAN format says a digit (or a letter) must stand."""
    spec = _iban_spec(raw[:2])
    if spec is None:
        return raw
    out = []
    for ch, kind in zip(raw, spec[1], strict=False):
        out.append(_TO_DIGIT.get(ch, ch) if kind == "n" else _TO_LETTER.get(ch, ch) if kind == "a" else ch)
    return "".join(out)


def find_iban(text: str) -> str | None:
    """The first valid IBAN in ``text`` (compact), repairing OCR confusions only where the checksum confirms it."""
    squashed = re.sub(r"[^0-9A-Za-z]", "", text).upper()
    for start in range(max(0, len(squashed) - 13)):
        spec = _iban_spec(squashed[start : start + 2])
        if spec is None or not re.fullmatch(r"[0-9ODQILZSBG]{2}", squashed[start + 2 : start + 4]):
            continue
        raw = squashed[start : start + spec[0]]
        if len(raw) < spec[0]:
            continue
        for candidate in (raw, _repair_iban(raw)):
            valid = _valid_iban(candidate)
            if valid:
                return valid
    return None


def find_bic(text: str, iban: str | None = None) -> str | None:
    """The first BIC (ISO 9362) in ``text``: 8 or 11 characters with a real country code."""
    from schwifty import BIC
    from schwifty.exceptions import SchwiftyException

    for m in re.finditer(
        r"(?<![A-Z0-9])([A-Z]{4})\s?([A-Z]{2})\s?([A-Z0-9]{2})(?:\s?([A-Z0-9]{3}))?(?![A-Z0-9])", text.upper()
    ):
        code = "".join(g or "" for g in m.groups())
        if (
            iban
            and code[4:6] != iban[:2]
            and not (iban[:2] in ("MC", "SM", "VA") and code[4:6] in ("FR", "IT"))
        ):
            continue
        try:
            return str(BIC(code))
        except (SchwiftyException, ValueError):
            continue
    return None


_VAT_CANDIDATE = re.compile(
    r"(?<![A-Z0-9])(?=(CHE[\s.\-]?\d{3}[\s.\-]?\d{3}[\s.\-]?\d{3}(?:\s?(?:MWST|TVA|IVA|VAT))?"
    r"|(?:ATU|[A-Z]{2})[\s.\-]?[0-9A-Z][0-9A-Z\s.\-]{6,16}[0-9A-Z]))",
    re.IGNORECASE,
)


def _valid_vat(candidate: str) -> str | None:
    from stdnum.ch import uid as ch_uid
    from stdnum.eu import vat as eu_vat
    from stdnum.gb import vat as gb_vat
    from stdnum.no import mva

    compact = re.sub(r"[\s.\-]", "", candidate).upper()
    if compact.startswith("CHE"):
        compact = re.sub(r"(MWST|TVA|IVA|VAT)$", "", compact)
        return compact if ch_uid.is_valid(compact) else None
    if compact.startswith("GB"):
        return compact if gb_vat.is_valid(compact) else None
    if compact.startswith("NO"):
        return compact if mva.is_valid(compact) else None
    if compact.startswith("EL"):  # Greece prints EL
        return compact if eu_vat.is_valid(compact) else None
    if compact[:2].lower() in eu_vat.MEMBER_STATES and eu_vat.is_valid(compact):
        return compact
    return None


def find_vat_id(text: str) -> str | None:
    """The first VAT id in ``text`` whose check digits are right (``DE 123 456 789`` -> ``DE123456789``)."""
    for m in _VAT_CANDIDATE.finditer(text.upper()):
        raw = m.group(1)
        # The candidate may have swallowed the next word; shorten from the right until it validates.
        for end in range(len(raw), 7, -1):
            valid = _valid_vat(raw[:end])
            if valid:
                return valid
    return None
