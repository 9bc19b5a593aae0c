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

import numpy as np
import pandas as pd

from inloop.readiness import rubric
from invoice_ocr.lib.extract import FIELDS
from invoice_ocr.lib.ocr import OcrEngine
from invoice_ocr.lib.pipeline import load_suppliers
from invoice_ocr.lib.policy import load_policy
from invoice_ocr.lib.reading import read_invoice
from invoice_ocr.lib.rules import RULES
from invoice_ocr.lib.validate import batch_frame
from invoice_ocr.lib.workspace import Workspace

__all__ = ["explain", "rule_results"]


def rule_results(row: pd.Series, min_confidence: float) -> list[dict[str, Any]]:
    """Each booking rule of the suite on one invoice: what was measured, the bound, passed or not."""
    def measured(value: Any) -> Any:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, int | np.integer):
            return int(value)
        return round(float(value), 4)

    return [{"rule": rule.name, "measured": measured(row[rule.column]), "bound": rule.bound(min_confidence),
             "passed": not bool(rule.breaks(row[rule.column], min_confidence))} for rule in RULES]


@rubric("infra-5", how="manual", what="`python -m invoice_ocr explain ID`: replay of one processed invoice: OCR boxes, fields with confidence and "
        "source, every booking rule's measurement and result, the route, and the diff against the ledger's record")
def explain(workspace: Workspace, invoice_id: int, *, engine: OcrEngine | None = None,
            today: dt.date | None = None) -> dict[str, Any]:
    """The step-by-step computation for one ledger invoice, replayed from its stored file."""
    with workspace.ledger() as ledger:
        entry = ledger.get(invoice_id)  # KeyError with the id when there is no such invoice
        history = ledger.events(invoice_id)
    engine = engine or OcrEngine()
    data = workspace.files().get(entry.sha256)
    suppliers = load_suppliers(workspace)
    # The same reading as the pipeline's: e-invoice, text layer or OCR, in that order of trust.
    reading = read_invoice(data, entry.original_name, suppliers=suppliers, engine=engine, today=today)
    if reading.extracted is None:
        raise ValueError(f"invoice #{invoice_id} cannot be read: {reading.error}")
    extracted, lines = reading.extracted, reading.lines
    turned = any("read after turning it" in note for note in reading.notes)
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
        "reading": {"path_taken": reading.path_taken, "language": reading.language, "notes": reading.notes,
                    "doubts": list(extracted.doubts),
                    "recorded_path_taken": (entry.fields or {}).get("path_taken")},
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
