"""IBANs (ISO 13616) and VAT ids: check digits, validation and formatting.

Validation is schwifty's (every country of the IBAN registry); :func:`make_iban` and
:data:`BBAN_FORMATS` generate the synthetic master data's accounts. Reading an IBAN from a page
(with OCR repairs) is :func:`invoice_ocr.lib.values.find_iban`.
"""

from __future__ import annotations

import re

__all__ = ["BBAN_FORMATS", "format_iban", "iban_check_digits", "is_valid_iban", "is_valid_vat_id", "make_iban",
           "normalise_iban"]

#: BBAN layout per country: ``n`` digits, ``a`` upper-case letters, ``c`` alphanumerics (ISO 13616 registry).
BBAN_FORMATS: dict[str, str] = {
    "DE": "8n10n",
    "AT": "5n11n",
    "NL": "4a10n",
    "BE": "3n7n2n",
    "FR": "5n5n11c2n",
    "CH": "5n12c",
    "GB": "4a6n8n",
}

#: VAT id shapes (country prefix + body) for the countries the master data uses.
_VAT_PATTERNS = {
    "DE": r"DE\d{9}",
    "AT": r"ATU\d{8}",
    "NL": r"NL\d{9}B\d{2}",
    "BE": r"BE0\d{9}",
    "FR": r"FR[0-9A-Z]{2}\d{9}",
    "CH": r"CHE\d{9}(MWST|TVA|IVA)?",
    "GB": r"GB\d{9}",
}


def normalise_iban(text: str) -> str:
    """Upper-case, without spaces or separators (``de89 3704-0044`` -> ``DE8937040044``)."""
    return re.sub(r"[^0-9A-Za-z]", "", text).upper()


def _mod97(numeric: str) -> int:
    remainder = 0
    for start in range(0, len(numeric), 9):
        remainder = int(str(remainder) + numeric[start:start + 9]) % 97
    return remainder


def _to_digits(text: str) -> str:
    return "".join(str(int(ch, 36)) for ch in text)


def iban_check_digits(country: str, bban: str) -> str:
    """The two check digits of an IBAN for ``country`` + ``bban`` (ISO 7064 MOD 97-10)."""
    return f"{98 - _mod97(_to_digits(bban + country.upper() + '00')):02d}"


def make_iban(country: str, bban: str) -> str:
    """A complete IBAN with correct check digits."""
    return f"{country.upper()}{iban_check_digits(country, bban)}{bban.upper()}"


def is_valid_iban(text: str | None) -> bool:
    """Whether ``text`` is an IBAN: a country schwifty's registry knows, its length and BBAN format, and
    correct ISO 13616 check digits. (The national check digits inside some BBANs are not required:
    the synthetic master data draws BBANs at random.)"""
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    if not text:
        return False
    try:
        IBAN(text, validate_bban=False)
    except (SchwiftyException, ValueError):
        return False
    return True


def format_iban(iban: str) -> str:
    """Print format: groups of four (``DE89 3704 0044 0532 0130 00``)."""
    iban = normalise_iban(iban)
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def is_valid_vat_id(text: str | None) -> bool:
    """Whether ``text`` has the shape of a VAT id of a country the master data knows."""
    if not text:
        return False
    vat = re.sub(r"[\s.\-]", "", text).upper()
    pattern = _VAT_PATTERNS.get(vat[:2])
    return bool(pattern and re.fullmatch(pattern, vat))
