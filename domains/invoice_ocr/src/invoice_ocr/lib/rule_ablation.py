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
from invoice_ocr.lib.rules import RULES as BOOKING_RULES
from invoice_ocr.lib.validate import MIN_CONFIDENCE

__all__ = ["MIN_RULE_GAIN", "RULES", "rule_ablation", "rule_breaks"]

#: Each booking rule (the column of :func:`~invoice_ocr.lib.validate.batch_frame` it judges) and the
#: source it depends on, from the rule registry (:mod:`invoice_ocr.lib.rules`).
RULES: tuple[FeatureGroup, ...] = tuple(FeatureGroup(r.name, (r.column,), r.source_label) for r in BOOKING_RULES)
#: A rule must route at least one invoice of the evaluation batch right that no other rule would.
MIN_RULE_GAIN = 1e-9


def rule_breaks(frame: pd.DataFrame, min_confidence: float = MIN_CONFIDENCE) -> pd.DataFrame:
    """Per invoice and rule column: True where the invoice breaks the rule (the suite's bounds; the
    confidence cut-off is the review policy's in force)."""
    missing = [r.column for r in BOOKING_RULES if r.column not in frame.columns]
    if missing:
        raise ValueError(f"the batch frame lacks rule column(s) {missing}: build it with validate.batch_frame")
    return pd.DataFrame({r.column: np.asarray(r.breaks(frame[r.column], min_confidence), dtype=bool)
                         for r in BOOKING_RULES}, index=frame.index)


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
