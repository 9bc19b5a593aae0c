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
from invoice_ocr.lib.rules import FUTURE_DAYS, MAX_TOTAL, PAST_DAYS, RULES, Facts

__all__ = ["FUTURE_DAYS", "MAX_TOTAL", "MIN_CONFIDENCE", "PAST_DAYS", "RULE_INPUTS", "batch_frame", "expectations", "non_finite_rows",
           "require_allowed_inputs", "row_problems", "validate_batch"]

#: Below this confidence a field goes to a person: guessing is what the business asked us not to do.
MIN_CONFIDENCE = 0.80


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except ArithmeticError:
        return None


def batch_frame(items: list[dict[str, Any]], suppliers: list[dict[str, Any]], today: dt.date) -> pd.DataFrame:
    """One row per extracted invoice (``items`` have ``invoice_id`` and ``fields``: value + confidence),
    one column per booking rule (:data:`~invoice_ocr.lib.rules.RULES`)."""
    master = {s["supplier_id"]: s for s in suppliers}
    rows = []
    for item in items:
        fields = item["fields"]
        values = {f: (fields.get(f) or {}).get("value") for f in FIELDS}
        try:
            date = dt.date.fromisoformat(values["invoice_date"]) if values["invoice_date"] else None
        except ValueError:
            date = None
        facts = Facts(values=values,
                      confidences={f: float((fields.get(f) or {}).get("confidence") or 0.0) for f in FIELDS},
                      supplier=master.get(values["supplier_id"] or ""),
                      net=_decimal(values["net"]), vat=_decimal(values["vat"]), total=_decimal(values["total"]),
                      date=date, today=today)
        rows.append({"invoice_id": item["invoice_id"], **{rule.column: rule.measure(facts) for rule in RULES}})
    return pd.DataFrame(rows, columns=["invoice_id", *(rule.column for rule in RULES)])


#: Each column of the batch frame (what the booking rules decide on) and the sources it is derived from;
#: held against the card's feature_policy before every batch (:func:`require_allowed_inputs`).
RULE_INPUTS: dict[str, tuple[str, ...]] = {rule.column: rule.sources for rule in RULES}


@functools.lru_cache(maxsize=1)
def _card():  # type: ignore[no-untyped-def]
    from inloop.cards import load_card
    from invoice_ocr.lib.workspace import CARD_PATH

    return load_card(CARD_PATH)


@rubric("data-4", how="automated", what="before every batch's booking rules run: the batch's columns and their "
        "sources are held against the card's feature_policy (listed, approved sources, nothing about a "
        "supplier's country or language); a violation stops the batch")
def require_allowed_inputs(frame: pd.DataFrame, card: Any = None) -> None:
    """Raise :class:`inloop.feature_policy.FeaturePolicyError` if a column is not allowed by the card."""
    from inloop.feature_policy import require_allowed_features

    used = {c: RULE_INPUTS.get(c, ("unlisted",)) for c in frame.columns if c != "invoice_id"}
    require_allowed_features(card or _card(), used)


def expectations(min_confidence: float = MIN_CONFIDENCE) -> list[Any]:
    """The Great Expectations suite: each booking rule's bound (the confidence cut-off is the policy's)."""
    return [rule.expectation(min_confidence) for rule in RULES]


def row_problems(row: pd.Series, min_confidence: float = MIN_CONFIDENCE) -> list[str]:
    """What a clerk reads for one failing invoice (the same rules the suite states)."""
    broken = {rule.name for rule in RULES if rule.breaks(row[rule.column], min_confidence)}
    return [rule.reason(row, min_confidence) for rule in RULES
            if rule.name in broken and not (rule.unless and rule.unless in broken)]


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
