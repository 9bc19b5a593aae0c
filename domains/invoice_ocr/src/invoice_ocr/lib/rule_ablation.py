"""Which booking rules earn their keep: leave-one-rule-out on an evaluation batch (ML Test Score data-2, data-3).

The invoice domain has no trained model to retrain without a feature group; its "features" are the
booking rules (:mod:`invoice_ocr.lib.validate`) and the sources they need (the supplier master, the
OCR engine's confidence, the invoice itself). On a batch whose right outcome is known (clean invoices
must be booked, bad ones must go to a person), each rule is left out in turn and the share of
invoices routed right is measured again: the *gain* is what the rule decides that no other rule
would. A rule with no gain on the batch is a finding: either it is redundant, or the evaluation set
never exercises it (then the set needs a case for it). The platform's :func:`inloop.ablation.run_ablation`
builds the report (CSV, Markdown, bar chart).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from inloop.ablation import AblationReport, FeatureGroup, Score, run_ablation
from inloop.readiness import rubric
from invoice_ocr.lib.validate import FUTURE_DAYS, MAX_TOTAL, MIN_CONFIDENCE, PAST_DAYS

__all__ = ["MIN_RULE_GAIN", "RULES", "rule_ablation", "rule_breaks"]

#: Each booking rule (the column of :func:`~invoice_ocr.lib.validate.batch_frame` it judges) and the
#: source it depends on.
RULES: tuple[FeatureGroup, ...] = (
    FeatureGroup("all_fields_read", ("missing_fields",), "OCR + field extraction"),
    FeatureGroup("confidence", ("min_confidence",), "OCR engine confidence scores"),
    FeatureGroup("amounts_add_up", ("sum_gap",), "the invoice itself"),
    FeatureGroup("vat_rate_matches_supplier", ("vat_rate_gap",), "supplier master (VAT rate)"),
    FeatureGroup("iban_checksum", ("iban_checksum_ok",), "IBAN checksum (ISO 13616), no source"),
    FeatureGroup("iban_matches_master", ("iban_matches_master",), "supplier master (bank details)"),
    FeatureGroup("supplier_known", ("supplier_known",), "supplier master"),
    FeatureGroup("currency_matches_master", ("currency_matches_master",), "supplier master (currency)"),
    FeatureGroup("date_plausible", ("date_age_days",), "the invoice itself"),
    FeatureGroup("total_in_range", ("total",), "the invoice itself"),
)
#: A rule must route at least one invoice of the evaluation batch right that no other rule would.
MIN_RULE_GAIN = 1e-9


def rule_breaks(frame: pd.DataFrame, min_confidence: float = MIN_CONFIDENCE) -> pd.DataFrame:
    """Per invoice and rule column: True where the invoice breaks the rule (the suite's bounds; the
    confidence cut-off is the review policy's in force)."""
    missing = [g.features[0] for g in RULES if g.features[0] not in frame.columns]
    if missing:
        raise ValueError(f"the batch frame lacks rule column(s) {missing}: build it with validate.batch_frame")
    return pd.DataFrame({
        "missing_fields": frame["missing_fields"] != 0,
        "min_confidence": frame["min_confidence"] < min_confidence,
        "sum_gap": frame["sum_gap"].abs() > 0.005,
        "vat_rate_gap": frame["vat_rate_gap"] > 0.011,
        "iban_checksum_ok": ~frame["iban_checksum_ok"].astype(bool),
        "iban_matches_master": ~frame["iban_matches_master"].astype(bool),
        "supplier_known": ~frame["supplier_known"].astype(bool),
        "currency_matches_master": ~frame["currency_matches_master"].astype(bool),
        "date_age_days": ~frame["date_age_days"].between(-FUTURE_DAYS, PAST_DAYS),
        "total": ~frame["total"].between(0.01, MAX_TOTAL),
    }, index=frame.index)


@rubric("data-2", "data-3", how="manual", what="leave-one-booking-rule-out on the evaluation batch "
        "(python -m invoice_ocr.evaluate): the share of invoices routed right each rule adds, and the source it "
        "depends on; rules with no gain are findings")
def rule_ablation(frame: pd.DataFrame, should_book: Sequence[bool], *, rules: tuple[FeatureGroup, ...] = RULES,
                  min_gain: float = MIN_RULE_GAIN, min_confidence: float = MIN_CONFIDENCE) -> AblationReport:
    """Leave each rule out: the share of invoices routed right (booked iff ``should_book``) it adds."""
    expected = np.asarray(should_book, dtype=bool)
    if len(expected) != len(frame) or frame.empty:
        raise ValueError(f"need one should_book per invoice of a non-empty batch ({len(frame)} rows, "
                         f"{len(expected)} outcomes)")
    breaks = rule_breaks(frame, min_confidence)

    def score(dropped: tuple[str, ...]) -> Score:
        started = time.perf_counter()
        kept = [c for c in breaks.columns if c not in dropped]
        booked = ~breaks[kept].any(axis=1).to_numpy()
        seconds = time.perf_counter() - started
        return Score(float((booked == expected).mean()), seconds * 1_000 / len(frame), 0,
                     {"wrongly_booked": float((booked & ~expected).sum()),
                      "needless_reviews": float((~booked & expected).sum())})

    return run_ablation(rules, score, metric="share routed right", min_gain=min_gain)
