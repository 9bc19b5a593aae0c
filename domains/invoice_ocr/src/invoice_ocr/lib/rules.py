"""The booking rules, each declared once: what it measures, its bound, its reason, its sources.

An extracted invoice is booked without a person only if it breaks none of :data:`RULES`. Each
:class:`BookingRule` is the single place a rule lives; everything else reads it:

* the batch frame (one column per rule, :func:`invoice_ocr.lib.validate.batch_frame`),
* the Great Expectations suite run on every batch (:func:`invoice_ocr.lib.validate.expectations`),
* the reason a clerk reads in the review queue (:func:`invoice_ocr.lib.validate.row_problems`),
* ``python -m invoice_ocr explain`` (the measurement and bound of every rule for one invoice),
* the leave-one-rule-out ablation (:mod:`invoice_ocr.lib.rule_ablation`),
* the inputs held against the card's ``feature_policy`` before every batch.

Adding a rule is one entry here and its input on the card's ``feature_policy``
(``domains/invoice_ocr/docs/adding-a-rule.md``; walked on a copy by
``tests/domains/invoice_ocr/test_adding_a_rule.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from invoice_ocr.lib.iban import is_valid_iban
from invoice_ocr.lib.invoices import cents

__all__ = ["FUTURE_DAYS", "MAX_TOTAL", "PAST_DAYS", "RULES", "BookingRule", "Facts"]

MAX_TOTAL = 1_000_000.0
#: Invoice dates: at most this far in the future, and no older than this many days.
FUTURE_DAYS, PAST_DAYS = 30, 3 * 365
#: What a measurement is when its inputs are missing (always outside every bound).
MISSING = 1e9


@dataclass(frozen=True)
class Facts:
    """What the rules measure one invoice on: the fields read, their confidences, the supplier's master record."""

    values: dict[str, Any]
    confidences: dict[str, float]
    supplier: dict[str, Any] | None
    net: Decimal | None
    vat: Decimal | None
    total: Decimal | None
    date: dt.date | None
    today: dt.date


@dataclass(frozen=True)
class BookingRule:
    """One booking rule.

    Attributes:
        name: the rule's name in reports (``amounts_add_up``).
        column: the batch-frame column holding its measurement.
        sources: the upstream sources the measurement derives from (the card's feature_policy names).
        source_label: the same in words, for the ablation report.
        measure: the measurement of one invoice (a number or a bool).
        breaks: whether a measurement breaks the rule, for one value or a whole column at once;
            gets the review policy's confidence cut-off as second argument.
        expectation: the Great Expectations expectation stating the same bound (gets the cut-off).
        bound: the bound in words (gets the cut-off).
        reason: what a clerk reads when an invoice breaks it (gets the row and the cut-off).
        unless: a rule whose failure already explains this one (its reason is then not repeated).
    """

    name: str
    column: str
    sources: tuple[str, ...]
    source_label: str
    measure: Callable[[Facts], Any]
    breaks: Callable[[Any, float], Any]
    expectation: Callable[[float], Any]
    bound: Callable[[float], str]
    reason: Callable[[Any, float], str]
    unless: str | None = None


def _gx() -> Any:
    import great_expectations as gx

    return gx.expectations


def _is_false(value: Any) -> Any:
    return np.logical_not(np.asarray(value, dtype=bool)) if np.ndim(value) else not bool(value)


def _outside(value: Any, low: float, high: float) -> Any:
    """Not within [low, high]; NaN is outside (never booked on a number nobody could read)."""
    inside = (value >= low) & (value <= high)
    return ~inside if np.ndim(inside) else not bool(inside)


RULES: tuple[BookingRule, ...] = (
    BookingRule(
        "all_fields_read", "missing_fields", ("ocr_engine",), "OCR + field extraction",
        measure=lambda f: sum(1 for v in f.values.values() if not v),
        breaks=lambda v, _: v != 0,
        expectation=lambda _: _gx().ExpectColumnValuesToBeBetween(column="missing_fields", min_value=0, max_value=0),
        bound=lambda _: "== 0 fields missing",
        reason=lambda row, _: f"{int(row['missing_fields'])} field(s) could not be read"),
    BookingRule(
        "confidence", "min_confidence", ("ocr_engine",), "OCR engine confidence scores",
        measure=lambda f: min(f.confidences.values()),
        breaks=lambda v, cut: v < cut,
        expectation=lambda cut: _gx().ExpectColumnValuesToBeBetween(column="min_confidence", min_value=cut),
        bound=lambda cut: f">= {cut} (review policy)",
        reason=lambda row, cut: f"low confidence ({row['min_confidence']:.2f} < {cut})"),
    BookingRule(
        "amounts_add_up", "sum_gap", ("invoice_scans", "ocr_engine"), "the invoice itself",
        measure=lambda f: (float(f.total - (f.net + f.vat)) if None not in (f.net, f.vat, f.total)
                           else MISSING),
        breaks=lambda v, _: abs(v) > 0.005,
        expectation=lambda _: _gx().ExpectColumnValuesToBeBetween(column="sum_gap", min_value=-0.005,
                                                                  max_value=0.005),
        bound=lambda _: "|total - (net + VAT)| <= 0.005",
        reason=lambda row, _: "total != net + VAT" if row["sum_gap"] < MISSING / 10 else "amounts incomplete"),
    BookingRule(
        "vat_rate_matches_supplier", "vat_rate_gap", ("invoice_scans", "ocr_engine", "supplier_master"),
        "supplier master (VAT rate)",
        measure=lambda f: (float(abs(f.vat - cents(f.net * Decimal(f.supplier["vat_rate"]))))
                           if f.supplier and f.net is not None and f.vat is not None else MISSING),
        breaks=lambda v, _: _outside(v, 0, 0.011),
        expectation=lambda _: _gx().ExpectColumnValuesToBeBetween(column="vat_rate_gap", min_value=0,
                                                                  max_value=0.011),
        bound=lambda _: "<= 0.011",
        reason=lambda row, _: "VAT does not match the supplier's VAT rate",
        unless="amounts_add_up"),
    BookingRule(
        "iban_checksum", "iban_checksum_ok", ("invoice_scans", "ocr_engine"), "IBAN checksum (ISO 13616), no source",
        measure=lambda f: is_valid_iban(f.values.get("iban")),
        breaks=lambda v, _: _is_false(v),
        expectation=lambda _: _gx().ExpectColumnValuesToBeInSet(column="iban_checksum_ok", value_set=[True]),
        bound=lambda _: "True",
        reason=lambda row, _: "IBAN fails its checksum"),
    BookingRule(
        "iban_matches_master", "iban_matches_master", ("invoice_scans", "ocr_engine", "supplier_master"),
        "supplier master (bank details)",
        measure=lambda f: bool(f.supplier and f.values.get("iban") == f.supplier["iban"]),
        breaks=lambda v, _: _is_false(v),
        expectation=lambda _: _gx().ExpectColumnValuesToBeInSet(column="iban_matches_master", value_set=[True]),
        bound=lambda _: "True",
        reason=lambda row, _: "IBAN differs from the supplier master (possible fraud or changed bank details)",
        unless="iban_checksum"),
    BookingRule(
        "supplier_known", "supplier_known", ("supplier_master",), "supplier master",
        measure=lambda f: f.supplier is not None,
        breaks=lambda v, _: _is_false(v),
        expectation=lambda _: _gx().ExpectColumnValuesToBeInSet(column="supplier_known", value_set=[True]),
        bound=lambda _: "True",
        reason=lambda row, _: "supplier not in the master data"),
    BookingRule(
        "currency_matches_master", "currency_matches_master", ("invoice_scans", "ocr_engine", "supplier_master"),
        "supplier master (currency)",
        measure=lambda f: bool(f.supplier and f.values.get("currency") == f.supplier["currency"]),
        breaks=lambda v, _: _is_false(v),
        expectation=lambda _: _gx().ExpectColumnValuesToBeInSet(column="currency_matches_master", value_set=[True]),
        bound=lambda _: "True",
        reason=lambda row, _: "currency differs from the supplier's",
        unless="supplier_known"),
    BookingRule(
        "date_plausible", "date_age_days", ("invoice_scans", "ocr_engine"), "the invoice itself",
        measure=lambda f: float((f.today - f.date).days) if f.date else MISSING,
        breaks=lambda v, _: _outside(v, -FUTURE_DAYS, PAST_DAYS),
        expectation=lambda _: _gx().ExpectColumnValuesToBeBetween(column="date_age_days", min_value=-FUTURE_DAYS,
                                                                  max_value=PAST_DAYS),
        bound=lambda _: f"{-FUTURE_DAYS} .. {PAST_DAYS} days old",
        reason=lambda row, _: "invoice date missing or implausible"),
    BookingRule(
        "total_in_range", "total", ("invoice_scans", "ocr_engine"), "the invoice itself",
        measure=lambda f: float(f.total) if f.total is not None else -1.0,
        breaks=lambda v, _: _outside(v, 0.01, MAX_TOTAL),
        expectation=lambda _: _gx().ExpectColumnValuesToBeBetween(column="total", min_value=0.01, max_value=MAX_TOTAL),
        bound=lambda _: f"0.01 .. {MAX_TOTAL:g}",
        reason=lambda row, _: "total out of range"),
)

