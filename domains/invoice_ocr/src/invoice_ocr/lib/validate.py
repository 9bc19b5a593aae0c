"""Booking rules for extracted invoices, run as a Great Expectations suite on each batch.

The batch is a DataFrame with one row per invoice and one column per rule's measurement; GX
decides which rows break the suite, and each failing row's reason is read from its columns.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from inloop.readiness import rubric
from invoice_ocr.lib.extract import FIELDS
from invoice_ocr.lib.iban import is_valid_iban
from invoice_ocr.lib.invoices import cents

__all__ = ["MAX_TOTAL", "MIN_CONFIDENCE", "RULE_INPUTS", "batch_frame", "expectations", "non_finite_rows",
           "require_allowed_inputs", "row_problems", "validate_batch"]

#: Below this confidence a field goes to a person: guessing is what the business asked us not to do.
MIN_CONFIDENCE = 0.80
MAX_TOTAL = 1_000_000.0
#: Invoice dates: at most this far in the future, and no older than this many days.
FUTURE_DAYS, PAST_DAYS = 30, 3 * 365


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except ArithmeticError:
        return None


def batch_frame(items: list[dict[str, Any]], suppliers: list[dict[str, Any]], today: dt.date) -> pd.DataFrame:
    """One row per extracted invoice: ``items`` have ``invoice_id`` and ``fields`` (value + confidence)."""
    master = {s["supplier_id"]: s for s in suppliers}
    rows = []
    for item in items:
        fields = item["fields"]
        values = {f: (fields.get(f) or {}).get("value") for f in FIELDS}
        supplier = master.get(values["supplier_id"] or "")
        net, vat, total = (_decimal(values[k]) for k in ("net", "vat", "total"))
        try:
            date = dt.date.fromisoformat(values["invoice_date"]) if values["invoice_date"] else None
        except ValueError:
            date = None
        expected_vat = cents(net * Decimal(supplier["vat_rate"])) if supplier and net is not None else None
        rows.append({
            "invoice_id": item["invoice_id"],
            "missing_fields": sum(1 for f in FIELDS if not values[f]),
            "min_confidence": min(float((fields.get(f) or {}).get("confidence") or 0.0) for f in FIELDS),
            "sum_gap": float(total - (net + vat)) if None not in (net, vat, total) else 1e9,  # type: ignore[operator]
            "vat_rate_gap": float(abs(vat - expected_vat)) if vat is not None and expected_vat is not None else 1e9,
            "iban_checksum_ok": is_valid_iban(values["iban"]),
            "iban_matches_master": bool(supplier and values["iban"] == supplier["iban"]),
            "supplier_known": supplier is not None,
            "currency_matches_master": bool(supplier and values["currency"] == supplier["currency"]),
            "date_age_days": float((today - date).days) if date else 1e9,
            "total": float(total) if total is not None else -1.0,
        })
    return pd.DataFrame(rows)


#: Each column of the batch frame (what the booking rules decide on) and the sources it is derived from;
#: held against the card's feature_policy before every batch (:func:`require_allowed_inputs`).
RULE_INPUTS: dict[str, tuple[str, ...]] = {
    "missing_fields": ("ocr_engine",),
    "min_confidence": ("ocr_engine",),
    "sum_gap": ("invoice_scans", "ocr_engine"),
    "vat_rate_gap": ("invoice_scans", "ocr_engine", "supplier_master"),
    "iban_checksum_ok": ("invoice_scans", "ocr_engine"),
    "iban_matches_master": ("invoice_scans", "ocr_engine", "supplier_master"),
    "supplier_known": ("supplier_master",),
    "currency_matches_master": ("invoice_scans", "ocr_engine", "supplier_master"),
    "date_age_days": ("invoice_scans", "ocr_engine"),
    "total": ("invoice_scans", "ocr_engine"),
}


@functools.lru_cache(maxsize=1)
def _card():  # type: ignore[no-untyped-def]
    from inloop.cards import load_card
    from invoice_ocr.domain import domain

    return load_card(domain.card_path)


@rubric("data-4", how="automated", what="before every batch's booking rules run: the batch's columns and their "
        "sources are held against the card's feature_policy (listed, approved sources, nothing about a "
        "supplier's country or language); a violation stops the batch")
def require_allowed_inputs(frame: pd.DataFrame, card: Any = None) -> None:
    """Raise :class:`inloop.feature_policy.FeaturePolicyError` if a column is not allowed by the card."""
    from inloop.feature_policy import require_allowed_features

    used = {c: RULE_INPUTS.get(c, ("unlisted",)) for c in frame.columns if c != "invoice_id"}
    require_allowed_features(card or _card(), used)


def expectations(min_confidence: float = MIN_CONFIDENCE) -> list[Any]:
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectColumnValuesToBeBetween(column="missing_fields", min_value=0, max_value=0),
        e.ExpectColumnValuesToBeBetween(column="min_confidence", min_value=min_confidence),
        e.ExpectColumnValuesToBeBetween(column="sum_gap", min_value=-0.005, max_value=0.005),
        e.ExpectColumnValuesToBeBetween(column="vat_rate_gap", min_value=0, max_value=0.011),
        e.ExpectColumnValuesToBeInSet(column="iban_checksum_ok", value_set=[True]),
        e.ExpectColumnValuesToBeInSet(column="iban_matches_master", value_set=[True]),
        e.ExpectColumnValuesToBeInSet(column="supplier_known", value_set=[True]),
        e.ExpectColumnValuesToBeInSet(column="currency_matches_master", value_set=[True]),
        e.ExpectColumnValuesToBeBetween(column="date_age_days", min_value=-FUTURE_DAYS, max_value=PAST_DAYS),
        e.ExpectColumnValuesToBeBetween(column="total", min_value=0.01, max_value=MAX_TOTAL),
    ]


def row_problems(row: pd.Series, min_confidence: float = MIN_CONFIDENCE) -> list[str]:
    """What a clerk reads for one failing invoice (the same rules the suite states)."""
    out = []
    if row["missing_fields"]:
        out.append(f"{int(row['missing_fields'])} field(s) could not be read")
    if row["min_confidence"] < min_confidence:
        out.append(f"low confidence ({row['min_confidence']:.2f} < {min_confidence})")
    if abs(row["sum_gap"]) > 0.005:
        out.append("total != net + VAT" if row["sum_gap"] < 1e8 else "amounts incomplete")
    elif row["vat_rate_gap"] > 0.011:
        out.append("VAT does not match the supplier's VAT rate")
    if not row["iban_checksum_ok"]:
        out.append("IBAN fails its checksum")
    elif not row["iban_matches_master"]:
        out.append("IBAN differs from the supplier master (possible fraud or changed bank details)")
    if not row["supplier_known"]:
        out.append("supplier not in the master data")
    elif not row["currency_matches_master"]:
        out.append("currency differs from the supplier's")
    if not -FUTURE_DAYS <= row["date_age_days"] <= PAST_DAYS:
        out.append("invoice date missing or implausible")
    if not 0.01 <= row["total"] <= MAX_TOTAL:
        out.append("total out of range")
    return out


@rubric("monitor-5", how="automated", what="every serving batch: a NaN/inf confidence or amount (an engine "
        "fault, a 'NaN' amount) sends that invoice to review with the reason and raises an alert; GX would "
        "skip NaN as missing and book it")
def non_finite_rows(frame: pd.DataFrame) -> dict[int, list[str]]:
    """Invoices of the batch whose numbers are not finite: the reason per invoice (the alert is raised)."""
    from inloop.stability import NonFiniteError, require_finite

    numbers = frame.drop(columns=["invoice_id"]).select_dtypes(include="number")
    bad = ~np.isfinite(numbers.to_numpy(dtype=float))
    if not bad.any():
        return {}
    out: dict[int, list[str]] = {}
    for i in np.flatnonzero(bad.any(axis=1)):
        row = frame.iloc[i]
        out[int(row["invoice_id"])] = [f"non-finite {c} ({row[c]})" for c in numbers.columns[bad[i]]]
    rows = frame.iloc[np.flatnonzero(bad.any(axis=1))]
    # require_finite alerts, then raises: here the invoices go to review instead of the whole batch stopping.
    with contextlib.suppress(NonFiniteError):
        require_finite("invoice_ocr", "serving", {"extracted_batch": rows.drop(columns=["invoice_id"])},
                       evidence={"invoice_ids": sorted(out)})
    return out


@rubric("monitor-2", how="automated", what="every serving batch of extracted invoices is validated by the GX "
        "suite (fields present, confidence, arithmetic, IBAN, supplier master, dates, ranges) before booking")
def validate_batch(items: list[dict[str, Any]], suppliers: list[dict[str, Any]],
                   today: dt.date | None = None, *, min_confidence: float = MIN_CONFIDENCE,
                   ) -> tuple[dict[int, list[str]], dict[str, Any]]:
    """Run the suite on a batch; returns the problems of each failing invoice and the GX summary.

    ``min_confidence`` is the review policy's cut-off (:mod:`invoice_ocr.lib.policy`).
    """
    from inloop.validation import validate

    if not items:
        return {}, {"rows": 0, "success": True}
    frame = batch_frame(items, suppliers, today or dt.date.today())
    require_allowed_inputs(frame)
    summary = validate(frame, expectations(min_confidence), "invoice_ocr_extracted_batch")
    problems: dict[int, list[str]] = non_finite_rows(frame)
    for index in summary.failing_row_indices:
        row = frame.loc[index]
        problems.setdefault(int(row["invoice_id"]), []).extend(
            row_problems(row, min_confidence) or ["failed a booking rule"])
    return problems, {"rows": summary.rows, "success": summary.success,
                      "failed_expectations": [o.description for o in summary.failed],
                      "failing_row_share": summary.failing_row_share}
