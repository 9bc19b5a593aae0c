"""The review policy: the one tunable setting that decides *book* vs *a person looks*, tuned, gated, recorded.

invoice_ocr trains no model. What plays the model's part is the OCR engine (fixed, versioned) + the
layout-aware field extraction (versioned) + the booking rules (:mod:`invoice_ocr.lib.validate`) +
the **review policy**: the field-confidence cut-off below which an invoice goes to a clerk. A lower
cut-off books more invoices straight through (the KPI) and risks booking a misread field; a higher
one sends more to review. This module

* evaluates a policy on an evaluation set of OCR readings with ground truth (:func:`evaluate`): the
  STP rate, the per-field accuracy of what was booked without a person, wrong bookings, and the
  *value* (invoices booked right, less :data:`WRONG_BOOKING_COST` per invoice booked wrong);
* tunes the cut-off with the platform's bounded search, every trial an MLflow child run (:func:`tune`);
* compares it with a simpler system, regular expressions over the raw OCR text without layout,
  confidence or validation (:func:`baseline_fields`), and refuses a policy that is not better;
* gates a candidate against the card's thresholds before it serves (:func:`gate`, :func:`adopt`):
  only a policy that passes is written to the workspace, where the pipeline reads it
  (:func:`load_policy`); its fingerprint (policy + extractor + OCR engine) is recorded with every run.

The OCR is read once per file (:func:`read_cases`); every policy and the baseline are scored on the
same readings, so a tuning run costs the OCR of the set once and milliseconds per trial.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inloop.readiness import rubric
from invoice_ocr.lib.extract import (
    CURRENCIES,
    EXTRACTOR_VERSION,
    FIELDS,
    Extracted,
    _iban_candidate,
    _parse_number,
    _squash,
    extract_fields,
    parse_amount,
    parse_date,
)
from invoice_ocr.lib.monitoring import truth_value
from invoice_ocr.lib.ocr import OcrEngine, OcrLine, decode_pages
from invoice_ocr.lib.skew import profile
from invoice_ocr.lib.validate import MIN_CONFIDENCE, batch_frame, row_problems
from invoice_ocr.lib.workspace import REVIEW_POLICY_FILE, Workspace

__all__ = ["POLICY_FILE", "SEARCH_SPACE", "WRONG_BOOKING_COST", "EvalCase", "GateResult", "PolicyMetrics",
           "PolicyRefused", "ReviewPolicy", "adopt", "baseline_fields", "evaluate", "evaluate_baseline", "gate",
           "load_policy", "read_cases", "read_lines", "rollback", "tune"]

POLICY_FILE = REVIEW_POLICY_FILE
#: Every adoption and rollback, one JSON record a line (what was served when, and who rolled back).
HISTORY_FILE = "review_policy.history.jsonl"
#: A wrong booking (a misread amount or IBAN paid) costs about ten reviews: the clerk's minute on a
#: review against a payment to recover, a supplier to call and the correction to book.
WRONG_BOOKING_COST = 10.0
#: The cut-offs the tuning step may choose from (bounded: a fixed grid, a fixed budget and seed).
SEARCH_SPACE = {"min_confidence": [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97]}


class PolicyRefused(ValueError):
    """A candidate policy failed a gate; ``gates`` says which and by how much."""

    def __init__(self, gates: list[GateResult]) -> None:
        self.gates = gates
        super().__init__("review policy refused: " + "; ".join(g.detail for g in gates if not g.passed))


@dataclass(frozen=True)
class ReviewPolicy:
    min_confidence: float = MIN_CONFIDENCE

    def __post_init__(self) -> None:
        if not isinstance(self.min_confidence, int | float) or not 0.0 <= float(self.min_confidence) <= 1.0:
            raise ValueError(f"min_confidence must be a number in [0, 1], not {self.min_confidence!r}")

    def fingerprint(self) -> str:
        """What decides an invoice's fields and route: the policy, the extractor and the OCR engine."""
        return fingerprint(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fingerprint(policy: ReviewPolicy) -> str:
    payload = json.dumps({"policy": policy.to_dict(), "extractor": EXTRACTOR_VERSION, "ocr": OcrEngine.version},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_policy(workspace: Workspace) -> ReviewPolicy:
    """The policy the pipeline serves: the last adopted one, else the defaults. A broken file is an error."""
    path = workspace.root / POLICY_FILE
    if not path.exists():
        return ReviewPolicy()
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return ReviewPolicy(**record["policy"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"the review policy at {path} cannot be read ({exc}); fix it or delete it to serve the "
                         "defaults") from None


# The evaluation set -----------------------------------------------------------------------


@dataclass(frozen=True)
class EvalCase:
    name: str
    lines: tuple[OcrLine, ...]
    truth: dict[str, Any]

    def slice(self, by: str) -> str:
        """The invoice's group: ``layout``, ``language``, ``format`` or ``country`` (of the supplier's IBAN)."""
        if by == "country":
            return str(self.truth.get("iban") or "?")[:2]
        if by == "format":
            return str((self.truth.get("scan") or {}).get("format") or "?")
        return str(self.truth.get(by) or "?")


def read_lines(engine: OcrEngine, data: bytes, *, turn: bool = False) -> list[OcrLine]:
    """Every page's OCR lines, stacked (page 2 below page 1), as the pipeline reads them (``turn``: by 180 deg)."""
    lines: list[OcrLine] = []
    offset = 0.0
    for page in decode_pages(data):
        page = page.rotate(180) if turn else page
        lines += [OcrLine(ln.text, ln.score, ln.x0, ln.y0 + offset, ln.x1, ln.y1 + offset, ln.slope)
                  for ln in engine.read(page)]
        offset += page.size[1]
    return lines


def read_cases(scans: Sequence[Path], engine: OcrEngine | None = None) -> list[EvalCase]:
    """OCR each scan once; its ground truth is the ``.json`` beside it (written by the synthetic set)."""
    engine = engine or OcrEngine()
    cases = []
    for path in scans:
        truth_path = path.with_suffix(".json")
        if not truth_path.exists():
            raise FileNotFoundError(f"{path} has no ground truth beside it ({truth_path.name})")
        cases.append(EvalCase(path.name, tuple(read_lines(engine, path.read_bytes())),
                              json.loads(truth_path.read_text(encoding="utf-8"))))
    if not cases:
        raise ValueError("the evaluation set is empty: give at least one scan")
    return cases


# Scoring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyMetrics:
    system: str
    invoices: int
    booked: int
    booked_wrong: int
    per_field_booked: dict[str, float | None]
    per_field_read: dict[str, float]
    slices: dict[str, dict[str, dict[str, float | int | None]]] = field(default_factory=dict)

    @property
    def stp_rate(self) -> float:
        return self.booked / self.invoices

    @property
    def booked_accuracy(self) -> float | None:
        """The lowest per-field exact-match accuracy over the invoices booked without a person."""
        values = [v for v in self.per_field_booked.values() if v is not None]
        return min(values) if values else None

    @property
    def value(self) -> float:
        """Share of invoices booked right, less WRONG_BOOKING_COST per invoice booked wrong."""
        return (self.booked - self.booked_wrong - WRONG_BOOKING_COST * self.booked_wrong) / self.invoices

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stp_rate": self.stp_rate, "booked_accuracy": self.booked_accuracy,
                "value": self.value}


def _score(system: str, cases: Sequence[EvalCase], decisions: Sequence[tuple[bool, dict[str, Any]]],
           slice_by: Sequence[str]) -> PolicyMetrics:
    right_booked = dict.fromkeys(FIELDS, 0)
    right_read = dict.fromkeys(FIELDS, 0)
    booked = wrong = 0
    groups: dict[str, dict[str, list[tuple[bool, bool]]]] = {by: {} for by in slice_by}
    for case, (is_booked, values) in zip(cases, decisions, strict=True):
        correct = {f: values.get(f) is not None and str(values[f]) == truth_value(case.truth, f) for f in FIELDS}
        for f in FIELDS:
            right_read[f] += correct[f]
            right_booked[f] += correct[f] and is_booked
        booked += is_booked
        wrong += is_booked and not all(correct.values())
        for by in slice_by:
            groups[by].setdefault(case.slice(by), []).append((is_booked, all(correct.values())))
    slices: dict[str, dict[str, dict[str, float | int | None]]] = {
        by: {name: {"invoices": len(rows), "stp_rate": sum(b for b, _ in rows) / len(rows),
                          "booked_wrong": sum(1 for b, ok in rows if b and not ok)}
                   for name, rows in sorted(groups[by].items())} for by in slice_by}
    return PolicyMetrics(system, len(cases), booked, wrong,
                         {f: (right_booked[f] / booked if booked else None) for f in FIELDS},
                         {f: right_read[f] / len(cases) for f in FIELDS}, slices)


def decide(extracted: Extracted, suppliers: list[dict[str, Any]], policy: ReviewPolicy,
           today: dt.date) -> tuple[bool, list[str]]:
    """Book or review under ``policy``: the suite's rules on one invoice (the reasons when it goes to review)."""
    frame = batch_frame([{"invoice_id": 0, "fields": extracted.to_dict()}], suppliers, today)
    reasons = row_problems(frame.iloc[0], policy.min_confidence)
    return not reasons, reasons


@rubric("model-6", "model-7", how="manual", what="`tune-policy`: per-slice STP and wrong bookings (layout, language, supplier "
        "country) of every evaluated policy; the gate refuses a policy that books a slice wrong or leaves a "
        "supplier group far behind the others' STP")
def evaluate(cases: Sequence[EvalCase], suppliers: list[dict[str, Any]], policy: ReviewPolicy, today: dt.date,
             slice_by: Sequence[str] = ("layout", "language", "country")) -> PolicyMetrics:
    """The pipeline (layout extraction + booking rules + ``policy``) on the evaluation set."""
    decisions = []
    for case in cases:
        extracted = extract_fields(list(case.lines), suppliers)
        booked, _ = decide(extracted, suppliers, policy, today)
        decisions.append((booked, extracted.values()))
    return _score(f"pipeline min_confidence={policy.min_confidence}", cases, decisions, slice_by)


# The simpler system ------------------------------------------------------------------------

_AMOUNT = r"(-?\d{1,3}(?:[.,' ]\d{3})*[.,]\d{2}|-?\d+[.,]\d{2})"


def baseline_fields(lines: Sequence[OcrLine], suppliers: list[dict[str, Any]]) -> dict[str, str | None]:
    """Regular expressions over the page's raw text, in reading order: no layout, no confidence, no master checks.

    A label's value is the first match after the label anywhere in the text; the supplier is the
    first master record whose name appears in the text.
    """
    text = "\n".join(ln.text for ln in sorted(lines, key=lambda ln: (round(ln.cy / 20), ln.x0)))

    def after(labels: str, pattern: str) -> str | None:
        m = re.search(rf"(?is)(?:{labels})[^\n]{{0,40}}?\s*{pattern}", text)
        return m.group(1) if m else None

    def amount(labels: str) -> str | None:
        raw = after(labels, _AMOUNT)
        value = parse_amount(raw) if raw else None
        return str(value) if value is not None else None

    squashed = _squash(text)
    supplier = next((s for s in suppliers if _squash(s["name"]) and _squash(s["name"]) in squashed), None)
    raw_date = after("invoice date|rechnungsdatum", r"([0-9]{1,4}[./\- ][0-9A-Za-z]{1,5}[./\- ][0-9]{2,4})")
    date = parse_date(raw_date) if raw_date else None
    number = after("invoice no|invoice number|rechnungsnummer|rechnungsnr", r"([A-Za-z0-9][A-Za-z0-9\-/]{2,})")
    currency = next((c for c in CURRENCIES if re.search(rf"(?<![A-Z]){c}(?![A-Z])", text)), None)
    return {
        "supplier_id": supplier["supplier_id"] if supplier else None,
        "invoice_number": _parse_number(number) if number else None,
        "invoice_date": date.isoformat() if date else None,
        "iban": _iban_candidate(text.replace("\n", " ")),
        "net": amount("net amount|nettobetrag|subtotal|net total"),
        "vat": amount(r"vat|mwst|ust"),
        "total": amount("total|gesamtbetrag|amount due"),
        "currency": currency,
    }


def evaluate_baseline(cases: Sequence[EvalCase], suppliers: list[dict[str, Any]],
                      slice_by: Sequence[str] = ("layout", "language", "country")) -> PolicyMetrics:
    """The simpler system books every invoice on which it found all eight fields."""
    decisions = []
    for case in cases:
        values = baseline_fields(case.lines, suppliers)
        decisions.append((all(values.values()), values))
    return _score("baseline: regex over raw OCR text, no validation", cases, decisions, slice_by)


# Tuning, gate, adoption ---------------------------------------------------------------------


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    detail: str


def _card_thresholds() -> tuple[float, float]:
    """(per-field accuracy floor, STP floor) from the project card."""
    from inloop.cards import load_card
    from invoice_ocr.lib.workspace import CARD_PATH

    project = load_card(CARD_PATH)
    floors = []
    for concern_id in ("field-accuracy", "straight-through-processing"):
        threshold = project.concern(concern_id).threshold
        if threshold is None:
            raise ValueError(f"{CARD_PATH}: concern {concern_id!r} needs a threshold (the policy gate's floor)")
        floors.append(float(threshold.value))
    return floors[0], floors[1]


#: Inclusion: no supplier group (layout, language, country) may have an STP rate this far below the
#: set's overall rate, judged on groups with at least MIN_SLICE invoices.
MAX_SLICE_STP_GAP = 0.25
MIN_SLICE = 5


@rubric("infra-4", "model-5", how="manual", what="`tune-policy`, before a review policy serves: booked-field accuracy and STP "
        "against the card's thresholds, strictly better value than the regex baseline, no slice booked wrong or "
        "far behind; a policy that fails any gate is refused and the served one stays")
def gate(candidate: PolicyMetrics, baseline: PolicyMetrics, *, min_slice: int = MIN_SLICE) -> list[GateResult]:
    """The gates a policy must pass on the evaluation set before it may serve."""
    accuracy_floor, stp_floor = _card_thresholds()
    acc = candidate.booked_accuracy
    gates = [
        GateResult("booked_field_accuracy", acc is not None and acc >= accuracy_floor,
                   f"lowest per-field accuracy on booked invoices {acc if acc is None else round(acc, 4)} "
                   f"(card: >= {accuracy_floor})"),
        GateResult("stp_rate", candidate.stp_rate >= stp_floor,
                   f"STP {candidate.stp_rate:.3f} (card: >= {stp_floor})"),
        GateResult("better_than_baseline", candidate.value > baseline.value,
                   f"value {candidate.value:.3f} vs the regex baseline's {baseline.value:.3f} (booked right less "
                   f"{WRONG_BOOKING_COST:g} per wrong booking, per invoice): must be strictly higher"),
    ]
    for by, groups in candidate.slices.items():
        judged = {name: g for name, g in groups.items() if int(g["invoices"] or 0) >= min_slice}
        wrong = {name: g["booked_wrong"] for name, g in judged.items() if g["booked_wrong"]}
        behind = {name: round(float(g["stp_rate"] or 0.0), 3) for name, g in judged.items()
                  if float(g["stp_rate"] or 0.0) < candidate.stp_rate - MAX_SLICE_STP_GAP}
        gates.append(GateResult(f"slices_by_{by}", not wrong and not behind,
                                f"by {by} ({len(judged)} groups of >= {min_slice}): wrong bookings {wrong or 'none'}, "
                                f"STP more than {MAX_SLICE_STP_GAP} below overall {behind or 'none'}"))
    return gates


@rubric("model-3", how="manual", what="`tune-policy`: the review cut-off tuned by the platform's bounded search on the "
        "evaluation set (value = booked right less the cost of wrong bookings), each trial an MLflow child run")
def tune(cases: Sequence[EvalCase], suppliers: list[dict[str, Any]], today: dt.date, *, budget: int = 6,
         seed: int = 0, incumbent: ReviewPolicy | None = None, domain: str | None = "invoice_ocr"):  # type: ignore[no-untyped-def]
    """Bounded search over :data:`SEARCH_SPACE`; the incumbent is tried first and wins ties."""
    from inloop.tuning import bounded_search

    accuracy_floor, _ = _card_thresholds()

    def objective(params: dict[str, Any]) -> float:
        metrics = evaluate(cases, suppliers, ReviewPolicy(**params), today, slice_by=())
        acc = metrics.booked_accuracy
        # Below the card's accuracy floor a cut-off is out, however many invoices it books.
        return metrics.value if acc is None or acc >= accuracy_floor else metrics.value - 1.0

    return bounded_search(SEARCH_SPACE, objective, budget=budget, seed=seed, metric="value",
                          incumbent=(incumbent or ReviewPolicy()).to_dict(), domain=domain,
                          run_name="tune-review-policy", tags={"inloop.extractor": EXTRACTOR_VERSION})


def adopt(workspace: Workspace, policy: ReviewPolicy, cases: Sequence[EvalCase], suppliers: list[dict[str, Any]],
          today: dt.date, *, min_slice: int = MIN_SLICE, search_run_id: str | None = None) -> dict[str, Any]:
    """Gate ``policy`` on the evaluation set and, only if every gate passes, make it the served policy.

    Raises :class:`PolicyRefused` (the served policy file is left as it was) when a gate fails.
    """
    candidate = evaluate(cases, suppliers, policy, today)
    baseline = evaluate_baseline(cases, suppliers)
    gates = gate(candidate, baseline, min_slice=min_slice)
    if not all(g.passed for g in gates):
        raise PolicyRefused(gates)
    record = {"kind": "adopted", "policy": policy.to_dict(), "fingerprint": policy.fingerprint(), "extractor": EXTRACTOR_VERSION,
              "ocr_engine": OcrEngine.version, "adopted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "evaluation": {"invoices": len(cases), "candidate": candidate.to_dict(), "baseline": baseline.to_dict()},
              "gates": [asdict(g) for g in gates], "search_run_id": search_run_id,
              # What live scans are compared with (invoice_ocr.lib.skew): the set's OCR-quality profile.
              "reference_profile": profile(extract_fields(list(c.lines), suppliers).to_dict()
                                           for c in cases).to_dict(orient="list")}
    _serve(workspace, record)
    return record


def _serve(workspace: Workspace, record: dict[str, Any]) -> None:
    """Make ``record`` the served policy (atomically) and append it to the adoption history."""
    root = workspace.prepare().root
    path = root / POLICY_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2), encoding="utf-8")
    tmp.replace(path)
    with (root / HISTORY_FILE).open("a", encoding="utf-8") as history:
        history.write(json.dumps(record) + "\n")


@rubric("infra-7", how="manual", what="`python -m invoice_ocr rollback-policy`: the served review policy back to "
        "the previously adopted one (or the defaults), recorded in the adoption history")
def rollback(workspace: Workspace, *, by: str) -> dict[str, Any]:
    """Serve the policy adopted before the current one again; with none before it, the defaults."""
    if not by.strip():
        raise ValueError("say who rolls back (by=...)")
    root = workspace.root
    lines = (root / HISTORY_FILE).read_text(encoding="utf-8").splitlines() if (root / HISTORY_FILE).exists() else []
    served: list[dict[str, Any]] = []  # the stack of served adoptions: a rollback pops the top one
    for line in filter(str.strip, lines):
        record = json.loads(line)
        if record.get("kind") == "rollback":
            if served:
                served.pop()
        else:
            served.append(record)
    if not served or not (root / POLICY_FILE).exists():
        raise LookupError("no adopted review policy to roll back: the defaults are already served")
    served_fp = served.pop().get("fingerprint")
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if not served:
        (root / POLICY_FILE).unlink()
        record = {"kind": "rollback", "policy": ReviewPolicy().to_dict(), "fingerprint": ReviewPolicy().fingerprint(),
                  "rolled_back_from": served_fp, "by": by, "at": now, "to": "defaults"}
        with (root / HISTORY_FILE).open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return record
    earlier = served[-1]
    record = {**earlier, "kind": "rollback", "rolled_back_from": served_fp, "by": by, "at": now}
    _serve(workspace, record)
    return record
