"""A candidate review policy in shadow on the live invoices, compared with the served one before it may serve
(ML Test Score infra-6 for invoice_ocr).

Splitting live invoices between two cut-offs would book some of them under a policy that has not proved
itself, so the candidate never routes anything: it is *staged* (``stage``), then every invoice the served
policy read and routed is decided again by the candidate on the fields the ledger recorded (``run``) —
read only, never booked, never sent to review, nothing written to the ledger or the ERP. Each decision goes
to a shadow log beside the served policy (``review_policy.shadow.jsonl``). :func:`compare` sets the two side
by side (agreement, STP, and the invoices the candidate would have booked although a clerk had to correct a
field or the ground truth disagrees), :func:`shadow_gates` judges it, and :func:`promote` serves the candidate
only when the shadow gates pass *and* the evaluation-set gates of :func:`invoice_ocr.lib.policy.adopt` do.

The shadow re-decides the booking rules and the confidence cut-off on the recorded fields; a new extractor
version would need the stored files read again, which this shadow does not do.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from inloop.readiness import rubric
from invoice_ocr.lib.extract import FIELDS
from invoice_ocr.lib.monitoring import ground_truth_index, truth_value
from invoice_ocr.lib.policy import EvalCase, GateResult, PolicyRefused, ReviewPolicy, adopt, load_policy
from invoice_ocr.lib.supplier_onboarding import load_suppliers
from invoice_ocr.lib.validate import batch_frame, row_problems
from invoice_ocr.lib.workspace import Workspace

__all__ = ["SHADOW_FILE", "SHADOW_LOG", "ShadowReport", "compare", "promote", "run", "shadow_gates", "stage",
           "staged"]

SHADOW_FILE = "review_policy.shadow.json"
SHADOW_LOG = "review_policy.shadow.jsonl"
#: The candidate must have shadowed at least this many live invoices before it may serve.
MIN_SHADOWED = 50
#: ... and may book at most this much less straight through than the served policy did on the same invoices.
MAX_STP_DROP = 0.02


def stage(workspace: Workspace, policy: ReviewPolicy, *, by: str) -> dict[str, Any]:
    """Put ``policy`` in shadow: from now on it decides every live invoice beside the served one, booking none."""
    if not by.strip():
        raise ValueError("say who stages the candidate (by=...)")
    served = load_policy(workspace)
    if policy.fingerprint() == served.fingerprint():
        raise ValueError(f"the candidate is the served policy ({served.fingerprint()}): nothing to compare")
    record = {"policy": policy.to_dict(), "fingerprint": policy.fingerprint(), "by": by,
              "staged_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "served_fingerprint_then": served.fingerprint()}
    path = workspace.prepare().root / SHADOW_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2), encoding="utf-8")
    tmp.replace(path)
    return record


def staged(workspace: Workspace) -> ReviewPolicy | None:
    """The candidate in shadow, or None."""
    path = workspace.root / SHADOW_FILE
    if not path.exists():
        return None
    try:
        return ReviewPolicy(**json.loads(path.read_text(encoding="utf-8"))["policy"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"the shadow policy at {path} cannot be read ({exc}); stage it again or delete it") from None


def _log(workspace: Workspace) -> list[dict[str, Any]]:
    path = workspace.root / SHADOW_LOG
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@rubric("infra-6", how="automated", what="invoice_ocr: a candidate review policy decides every live invoice in shadow "
        "(read only, never booked) beside the served one; logged per invoice for the comparison")
def run(workspace: Workspace, *, today: dt.date | None = None) -> int:
    """Decide, under the staged candidate, every routed live invoice it has not seen; returns how many.

    Reads the ledger and the supplier master only: the candidate books nothing and changes no invoice.
    """
    candidate = staged(workspace)
    if candidate is None:
        return 0
    fingerprint = candidate.fingerprint()
    seen = {(r["invoice_id"], r["candidate"]) for r in _log(workspace) if "invoice_id" in r}
    suppliers = load_suppliers(workspace)
    today = today or dt.date.today()
    out = []
    with workspace.ledger() as ledger:
        for entry in ledger.entries():
            fields = entry.fields or {}
            if not fields.get("extracted") or (entry.id, fingerprint) in seen:
                continue
            if entry.state not in ("booked", "needs_review", "rejected_with_notice"):
                continue  # still in flight: the served policy has not decided it yet
            served_booked = entry.state == "booked" and entry.booked_by == "machine"
            frame = batch_frame([{"invoice_id": entry.id, "fields": fields["extracted"]}], suppliers, today)
            reasons = row_problems(frame.iloc[0], candidate.min_confidence)
            out.append({"invoice_id": entry.id, "sha256": entry.sha256, "candidate": fingerprint,
                        "served": fields.get("fingerprint"), "served_booked": served_booked,
                        "shadow_booked": not reasons, "shadow_reasons": reasons,
                        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    if out:
        with (workspace.root / SHADOW_LOG).open("a", encoding="utf-8") as log:
            for record in out:
                log.write(json.dumps(record) + "\n")
    return len(out)


@dataclass(frozen=True)
class ShadowReport:
    candidate: str
    served: str
    invoices: int
    agreement: float | None
    served_stp: float | None
    shadow_stp: float | None
    #: invoices the candidate would have booked although a clerk corrected a field or the ground truth disagrees
    shadow_wrong_bookings: tuple[int, ...]
    served_wrong_bookings: tuple[int, ...]
    #: invoices the served policy sent to a person that the candidate would have booked (and the reverse)
    more_booked: tuple[int, ...]
    fewer_booked: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        if not self.invoices:
            return f"candidate {self.candidate} has shadowed no live invoice yet"
        return (f"candidate {self.candidate} vs served {self.served} on {self.invoices} live invoices: agreement "
                f"{self.agreement:.1%}, STP {self.shadow_stp:.1%} vs {self.served_stp:.1%}, would book "
                f"{len(self.more_booked)} more and {len(self.fewer_booked)} fewer; wrong bookings "
                f"{len(self.shadow_wrong_bookings)} (served: {len(self.served_wrong_bookings)})")


def _known_wrong(workspace: Workspace) -> set[int]:
    """Invoices whose recorded reading is known to be wrong: a clerk corrected a field, or the ground truth differs."""
    truth = ground_truth_index(workspace.synthetic_dir)
    with workspace.ledger() as ledger:
        wrong = {int(c["invoice_id"]) for c in ledger.corrections()}
        for entry in ledger.entries():
            known = truth.get(entry.sha256)
            extracted = (entry.fields or {}).get("extracted") or {}
            if known is not None and any(str((extracted.get(f) or {}).get("value")) != truth_value(known, f)
                                         for f in FIELDS):
                wrong.add(entry.id)
    return wrong


def compare(workspace: Workspace) -> ShadowReport:
    """The staged candidate's shadow decisions beside what the served policy did with the same invoices."""
    candidate = staged(workspace)
    if candidate is None:
        raise LookupError("no candidate review policy is in shadow: stage one first")
    fingerprint, served = candidate.fingerprint(), load_policy(workspace).fingerprint()
    rows = [r for r in _log(workspace)
            if "invoice_id" in r and r["candidate"] == fingerprint and r["served"] == served]
    wrong = _known_wrong(workspace)
    n = len(rows)
    return ShadowReport(
        fingerprint, served, n,
        sum(r["served_booked"] == r["shadow_booked"] for r in rows) / n if n else None,
        sum(r["served_booked"] for r in rows) / n if n else None,
        sum(r["shadow_booked"] for r in rows) / n if n else None,
        tuple(r["invoice_id"] for r in rows if r["shadow_booked"] and r["invoice_id"] in wrong),
        tuple(r["invoice_id"] for r in rows if r["served_booked"] and r["invoice_id"] in wrong),
        tuple(r["invoice_id"] for r in rows if r["shadow_booked"] and not r["served_booked"]),
        tuple(r["invoice_id"] for r in rows if r["served_booked"] and not r["shadow_booked"]),
    )


@rubric("infra-6", how="automated", what="invoice_ocr: the shadow comparison gates a candidate before it serves "
        "(enough live invoices, no wrong booking the served policy avoided, STP not lower)")
def shadow_gates(report: ShadowReport, *, min_invoices: int = MIN_SHADOWED,
                 max_stp_drop: float = MAX_STP_DROP) -> list[GateResult]:
    """What the shadow must show before the candidate may serve."""
    new_wrong = sorted(set(report.shadow_wrong_bookings) - set(report.served_wrong_bookings))
    stp_ok = (report.shadow_stp is not None and report.served_stp is not None
              and report.shadow_stp >= report.served_stp - max_stp_drop)
    return [
        GateResult("shadowed_enough", report.invoices >= min_invoices,
                   f"{report.invoices} live invoices shadowed (needs >= {min_invoices})"),
        GateResult("no_new_wrong_booking", not new_wrong,
                   f"would book {len(new_wrong)} invoice(s) with a field known to be wrong that the served policy "
                   f"sent to a person: {new_wrong[:10] or 'none'}"),
        GateResult("stp_not_lower", stp_ok,
                   f"shadow STP {report.shadow_stp} vs served {report.served_stp} (at most {max_stp_drop} lower)"),
    ]


def promote(workspace: Workspace, cases: Sequence[EvalCase], suppliers: list[dict[str, Any]], today: dt.date, *,
            by: str, min_invoices: int = MIN_SHADOWED, min_slice: int | None = None) -> dict[str, Any]:
    """Serve the staged candidate, only if its shadow gates and the evaluation-set gates pass (else PolicyRefused)."""
    candidate = staged(workspace)
    if candidate is None:
        raise LookupError("no candidate review policy is in shadow: stage one first")
    report = compare(workspace)
    gates = shadow_gates(report, min_invoices=min_invoices)
    if not all(g.passed for g in gates):
        raise PolicyRefused(gates)
    record = (adopt(workspace, candidate, cases, suppliers, today) if min_slice is None
              else adopt(workspace, candidate, cases, suppliers, today, min_slice=min_slice))
    (workspace.root / SHADOW_FILE).unlink(missing_ok=True)
    with (workspace.root / SHADOW_LOG).open("a", encoding="utf-8") as log:
        log.write(json.dumps({"kind": "promoted", "candidate": report.candidate, "by": by,
                              "shadow": report.to_dict(), "at": dt.datetime.now(dt.UTC).isoformat()}) + "\n")
    return {**record, "shadow": report.to_dict(), "promoted_by": by}
