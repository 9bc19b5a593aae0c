"""Serving vs evaluation skew: do live scans read like the evaluation set the review policy was tuned on?

The review policy's cut-off was chosen (:mod:`invoice_ocr.lib.policy`) on the confidence profile of
the evaluation set's OCR readings. A new scanner, a fax gateway or a supplier's new layout shifts
that profile on live invoices, and the tuned cut-off then trades STP against wrong bookings at a
point nobody chose. :func:`check_serving_skew` compares the OCR-quality profile of the invoices the
pipeline served (per-field confidence, the lowest confidence, fields not found — computed from what
the ledger recorded) with the same profile of the evaluation set stored with the adopted policy,
column by column with the platform's pinned drift test (KS), and alerts on a shift.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from inloop.readiness import rubric
from invoice_ocr.lib.extract import FIELDS
from invoice_ocr.lib.workspace import Workspace

__all__ = ["MIN_ROWS", "PROFILE_COLUMNS", "check_serving_skew", "profile"]

PROFILE_COLUMNS = ("min_confidence", "missing_fields", *(f"confidence_{f}" for f in FIELDS))
#: Two-sample Kolmogorov-Smirnov per column, drift below this p-value: 0.01 over the ten columns
#: (Bonferroni). PSI was tried and rejected: on evaluation sets of tens of invoices its ten bins
#: flag two samples of the same distribution as shifted.
METHOD, P_VALUE = "ks", 0.001
#: Fewer served invoices than this are not judged (a test on a handful of rows is noise).
MIN_ROWS = 20


def profile(extracted: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The OCR-quality profile of extracted invoices (``Extracted.to_dict()`` shape: field -> value, confidence)."""
    rows = []
    for fields in extracted:
        conf = {f: float((fields.get(f) or {}).get("confidence") or 0.0) for f in FIELDS}
        rows.append({"min_confidence": min(conf.values()),
                     "missing_fields": sum(1 for f in FIELDS if not (fields.get(f) or {}).get("value")),
                     **{f"confidence_{f}": c for f, c in conf.items()}})
    return pd.DataFrame(rows, columns=list(PROFILE_COLUMNS))


@rubric("monitor-3", how="automated", what="every processing run: the OCR-quality profile of served invoices vs "
        "the evaluation set the review policy was tuned on (KS per column); a shift raises an alert")
def check_serving_skew(workspace: Workspace, reference: pd.DataFrame | None = None, *, last: int = 500,
                       alert: bool = True) -> dict[str, Any]:
    """Compare the last ``last`` served invoices' profile with ``reference`` (default: the adopted policy's)."""
    if reference is None:
        import json

        path = workspace.review_policy_path
        stored = json.loads(path.read_text(encoding="utf-8")).get("reference_profile") if path.exists() else None
        if not stored:
            return {"status": "no reference", "detail": "no adopted review policy with an evaluation profile yet "
                    "(python -m invoice_ocr tune-policy)"}
        reference = pd.DataFrame(stored)
    with workspace.ledger() as ledger:
        served = [e.fields["extracted"] for e in ledger.entries() if (e.fields or {}).get("extracted")][-last:]
    if len(served) < MIN_ROWS:
        return {"status": "too few", "detail": f"{len(served)} served invoices with fields (judged from {MIN_ROWS})"}
    from inloop.drift import drift_report

    summary = drift_report(reference, profile(served), columns=list(PROFILE_COLUMNS), method=METHOD,
                           threshold=P_VALUE, name="invoice_ocr-serving-skew", save_html=False)
    result = {"status": "skewed" if summary.drifted_columns else "ok", "detail": summary.describe(),
              "drifted": summary.drifted_columns, "reference_rows": len(reference), "served_rows": len(served)}
    if summary.drifted_columns and alert:
        from inloop.alerts import raise_alert

        raise_alert(domain="invoice_ocr", source="skew", cause_key="invoice_ocr:serving-skew", severity="WARN",
                    title=f"Live scans read unlike the evaluation set: {', '.join(summary.drifted_columns)}"[:300],
                    message=f"{summary.describe()}. The review cut-off was tuned on the evaluation set's profile; "
                            "re-run python -m invoice_ocr tune-policy on scans like today's.",
                    evidence=result)
    return result
