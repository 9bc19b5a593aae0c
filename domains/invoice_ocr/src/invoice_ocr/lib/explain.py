"""Replay one invoice step by step: the OCR's text boxes, each field with its confidence and source, each booking rule.

``python -m invoice_ocr explain ID`` (or :func:`explain`) reads the invoice's stored bytes again,
runs the same OCR engine and extractor, applies every booking rule of the suite with the served
review policy, and compares the replayed fields and route with what the ledger recorded when the
invoice was processed. A replay that differs from the record is reported field by field: the
engine, the extractor or the policy changed since (the fingerprints say which), or the run was not
reproducible.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from inloop.readiness import rubric
from invoice_ocr.lib.extract import FIELDS, extract_fields
from invoice_ocr.lib.ledger import Ledger
from invoice_ocr.lib.ocr import OcrEngine
from invoice_ocr.lib.pipeline import load_suppliers
from invoice_ocr.lib.policy import load_policy, read_lines
from invoice_ocr.lib.storage import ContentStore
from invoice_ocr.lib.validate import FUTURE_DAYS, MAX_TOTAL, PAST_DAYS, batch_frame
from invoice_ocr.lib.workspace import Workspace

__all__ = ["explain", "rule_results"]


def rule_results(row: pd.Series, min_confidence: float) -> list[dict[str, Any]]:
    """Each booking rule of the suite on one invoice: what was measured, the bound, passed or not."""
    def rule(name: str, measured: Any, bound: str, passed: bool) -> dict[str, Any]:
        return {"rule": name, "measured": measured, "bound": bound, "passed": bool(passed)}

    return [
        rule("all_fields_read", int(row["missing_fields"]), "== 0 fields missing", row["missing_fields"] == 0),
        rule("confidence", round(float(row["min_confidence"]), 4), f">= {min_confidence} (review policy)",
             row["min_confidence"] >= min_confidence),
        rule("amounts_add_up", round(float(row["sum_gap"]), 4), "|total - (net + VAT)| <= 0.005",
             abs(row["sum_gap"]) <= 0.005),
        rule("vat_rate_matches_supplier", round(float(row["vat_rate_gap"]), 4), "<= 0.011",
             0 <= row["vat_rate_gap"] <= 0.011),
        rule("iban_checksum", bool(row["iban_checksum_ok"]), "True", row["iban_checksum_ok"]),
        rule("iban_matches_master", bool(row["iban_matches_master"]), "True", row["iban_matches_master"]),
        rule("supplier_known", bool(row["supplier_known"]), "True", row["supplier_known"]),
        rule("currency_matches_master", bool(row["currency_matches_master"]), "True", row["currency_matches_master"]),
        rule("date_plausible", float(row["date_age_days"]), f"{-FUTURE_DAYS} .. {PAST_DAYS} days old",
             -FUTURE_DAYS <= row["date_age_days"] <= PAST_DAYS),
        rule("total_in_range", float(row["total"]), f"0.01 .. {MAX_TOTAL:g}", 0.01 <= row["total"] <= MAX_TOTAL),
    ]


@rubric("infra-5", how="manual", what="`python -m invoice_ocr explain ID`: replay of one processed invoice: OCR boxes, fields with confidence and "
        "source, every booking rule's measurement and result, the route, and the diff against the ledger's record")
def explain(workspace: Workspace, invoice_id: int, *, engine: OcrEngine | None = None,
            today: dt.date | None = None) -> dict[str, Any]:
    """The step-by-step computation for one ledger invoice, replayed from its stored file."""
    with Ledger(workspace.ledger_path) as ledger:
        entry = ledger.get(invoice_id)  # KeyError with the id when there is no such invoice
        history = ledger.events(invoice_id)
    engine = engine or OcrEngine()
    data = ContentStore(workspace.store).get(entry.sha256)
    lines = read_lines(engine, data)
    suppliers = load_suppliers(workspace)
    extracted = extract_fields(lines, suppliers)
    turned = False
    if extracted.looks_upside_down:  # the pipeline turns such a page once and reads it again
        lines, turned = read_lines(engine, data, turn=True), True
        extracted = extract_fields(lines, suppliers)
    policy = load_policy(workspace)
    row = batch_frame([{"invoice_id": invoice_id, "fields": extracted.to_dict()}], suppliers,
                      today or dt.date.today()).iloc[0]
    rules = rule_results(row, policy.min_confidence)
    recorded = ((entry.fields or {}).get("extracted") or {})
    replayed = extracted.to_dict()
    differs = {f: {"recorded": recorded.get(f), "replayed": replayed[f]} for f in FIELDS
               if recorded and recorded.get(f) != replayed[f]}
    return {
        "invoice": {"id": entry.id, "file": entry.original_name, "sha256": entry.sha256, "state": entry.state,
                    "reason": entry.reason, "booked_by": entry.booked_by},
        "ocr": {"engine": OcrEngine.version, "turned_upside_down": turned,
                "boxes": [{"text": ln.text, "score": round(ln.score, 4),
                           "box": [round(ln.x0), round(ln.y0), round(ln.x1), round(ln.y1)]} for ln in lines]},
        "fields": replayed,
        "rules": rules,
        "route": "book" if all(r["passed"] for r in rules) else "review",
        "failed_rules": [r["rule"] for r in rules if not r["passed"]],
        "policy": {**policy.to_dict(), "fingerprint": policy.fingerprint()},
        "recorded": {"fingerprint": (entry.fields or {}).get("fingerprint"), "extractor": entry.extractor_version,
                     "has_fields": bool(recorded)},
        "replay_matches_record": bool(recorded) and not differs,
        "differences": differs,
        "history": history,
    }
