"""The evaluation set's STP and field accuracy against live STP and clerk-corrected accuracy, per policy
fingerprint (ML Test Score model-2).

Offline, every adopted review policy was gated on the evaluation set: its STP and the lowest per-field read
accuracy are in the adoption record (``review_policy.history.jsonl``), under the policy's fingerprint
(policy + extractor + OCR engine). Online, every invoice in the ledger carries the fingerprint it was read
and routed under: its live STP is the share of finished invoices the machine booked alone, and its field
accuracy is judged where the truth is known — the synthetic set's ground truth, or a clerk's review (a field
the clerk corrected was read wrong, the others right; as :func:`invoice_ocr.lib.monitoring.field_accuracy`).

:func:`relation_from_ledger` pairs them with the platform's relation (:mod:`inloop.offline_online`); the card's
``offline-online-agreement`` concern states the largest shortfall of live below offline it accepts.
"""

from __future__ import annotations

import json
from typing import Any

from inloop.cards import Concern
from inloop.offline_online import MetricPair, Relation, relation
from inloop.readiness import rubric
from invoice_ocr.lib.extract import FIELDS
from invoice_ocr.lib.monitoring import ground_truth_index, truth_value
from invoice_ocr.lib.policy import HISTORY_FILE
from invoice_ocr.lib.workspace import Workspace

__all__ = ["MIN_INVOICES", "live_by_fingerprint", "offline_by_fingerprint", "relation_from_ledger"]

#: A fingerprint's live figures are judged once this many finished (or judged) invoices carry it.
MIN_INVOICES = 30


def offline_by_fingerprint(workspace: Workspace) -> dict[str, dict[str, float]]:
    """The evaluation figures of every policy adopted (or rolled back to), by fingerprint (the latest wins)."""
    path = workspace.root / HISTORY_FILE
    out: dict[str, dict[str, float]] = {}
    if not path.exists():
        return out
    for line in filter(str.strip, path.read_text(encoding="utf-8").splitlines()):
        record = json.loads(line)
        candidate = (record.get("evaluation") or {}).get("candidate")
        if not candidate or not record.get("fingerprint"):
            continue  # a rollback to the defaults: no evaluation behind it
        read = [v for v in (candidate.get("per_field_read") or {}).values() if v is not None]
        out[str(record["fingerprint"])] = {"stp": float(candidate["stp_rate"]),
                                           "field_accuracy": min(read) if read else float("nan"),
                                           "invoices": float(candidate["invoices"])}
    return out


def live_by_fingerprint(workspace: Workspace, truth: dict[str, dict[str, Any]] | None = None
                        ) -> dict[str, dict[str, Any]]:
    """Per fingerprint: finished invoices, machine-booked ones (STP) and per-field accuracy where the truth is known."""
    truth = ground_truth_index(workspace.synthetic_dir) if truth is None else truth
    per: dict[str, dict[str, Any]] = {}
    with workspace.ledger() as ledger:
        corrected: dict[int, set[str]] = {}
        for c in ledger.corrections():
            corrected.setdefault(int(c["invoice_id"]), set()).add(c["field"])
        for entry in ledger.entries():
            fingerprint = (entry.fields or {}).get("fingerprint")
            extracted = (entry.fields or {}).get("extracted")
            if not fingerprint or not extracted:
                continue  # refused at the door or not read yet: no policy decided it
            row = per.setdefault(str(fingerprint), {"finished": 0, "machine_booked": 0, "judged": 0,
                                                    "right": dict.fromkeys(FIELDS, 0)})
            if entry.state in ("booked", "rejected_with_notice", "needs_review"):
                row["finished"] += 1
                row["machine_booked"] += int(entry.state == "booked" and entry.booked_by == "machine")
            read = {f: (extracted.get(f) or {}).get("value") for f in FIELDS}
            known = truth.get(entry.sha256)
            if known is not None:
                row["judged"] += 1
                for f in FIELDS:
                    row["right"][f] += int(read[f] is not None and str(read[f]) == truth_value(known, f))
            elif entry.state == "booked" and entry.booked_by not in (None, "machine"):
                row["judged"] += 1  # a clerk checked every field: the ones they corrected were read wrong
                for f in FIELDS:
                    row["right"][f] += int(f not in corrected.get(entry.id, set()))
    for row in per.values():
        row["stp"] = row["machine_booked"] / row["finished"] if row["finished"] else None
        per_field = {f: row["right"][f] / row["judged"] for f in FIELDS} if row["judged"] else {}
        row["field_accuracy"] = min(per_field.values()) if per_field else None
        row["per_field"] = per_field
        del row["right"]
    return per


@rubric("model-2", how="automated", what="evaluation-set STP and field accuracy vs live STP and clerk-corrected "
        "accuracy per review-policy fingerprint, judged on the card's tolerance; the concern check alerts past it")
def relation_from_ledger(workspace: Workspace, concern: Concern, *, min_invoices: int = MIN_INVOICES,
                         truth: dict[str, dict[str, Any]] | None = None) -> Relation | None:
    """Every fingerprint with an evaluation and live invoices: (offline, live) STP and field accuracy."""
    if concern.threshold is None or concern.relation is None:
        raise ValueError(f"concern {concern.id!r} states no offline/online relation (relation: and a threshold)")
    offline = offline_by_fingerprint(workspace)
    live = live_by_fingerprint(workspace, truth)
    pairs = []
    for fingerprint in sorted(set(offline) & set(live)):
        off, on = offline[fingerprint], live[fingerprint]
        details = {"finished": on["finished"], "machine_booked": on["machine_booked"], "judged": on["judged"],
                   "evaluation_invoices": int(off["invoices"])}
        stp = on["stp"] if on["finished"] >= min_invoices else None
        accuracy = on["field_accuracy"] if on["judged"] >= min_invoices else None
        pairs.append(MetricPair(fingerprint, round(off["stp"], 4), None if stp is None else round(stp, 4),
                                on["finished"], metric="stp", details=details))
        pairs.append(MetricPair(fingerprint, round(off["field_accuracy"], 4),
                                None if accuracy is None else round(accuracy, 4), on["judged"],
                                metric="field_accuracy", details={**details, "per_field": on["per_field"]}))
    return relation(pairs, concern.threshold.value) if pairs else None
