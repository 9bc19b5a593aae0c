"""Live scans vs the evaluation set the review policy was tuned on (monitor-3)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from inloop.alerts import list_alerts
from invoice_ocr.lib.extract import FIELDS
from invoice_ocr.lib.intake import receive
from invoice_ocr.lib.ledger import Ledger
from invoice_ocr.lib.skew import MIN_ROWS, check_serving_skew, profile
from invoice_ocr.lib.workspace import Workspace


def _read(rng: random.Random, low: float, high: float) -> dict[str, dict[str, object]]:
    """One invoice as the extractor records it: a value and an OCR confidence per field."""
    return {f: {"value": "x", "confidence": round(rng.uniform(low, high), 4), "source": ""} for f in FIELDS}


def _serve(workspace: Workspace, reads: list[dict[str, dict[str, object]]]) -> None:
    for i, fields in enumerate(reads):
        invoice_id = receive(workspace, f"scan {i} {random.random()}".encode(), f"s{i}.png", "inbox").invoice_id
        with Ledger(workspace.ledger_path) as ledger:
            ledger.claim_next()
            ledger.transition(invoice_id, "needs_review", reason="r", reason_kind="low_confidence",
                              fields={"extracted": fields})


@pytest.mark.slow  # Evidently's drift tests: 20-60 s on a busy 2-core machine
@pytest.mark.rubric("monitor-3")
def test_scans_from_a_worse_scanner_are_flagged_against_the_evaluation_profile(inloop_env: Path) -> None:
    rng = random.Random(3)
    reference = profile(_read(rng, 0.90, 0.999) for _ in range(60))  # the evaluation set's readings

    like_it = Workspace(inloop_env / "same").prepare()
    _serve(like_it, [_read(rng, 0.90, 0.999) for _ in range(40)])
    same = check_serving_skew(like_it, reference)
    assert same["status"] == "ok" and same["served_rows"] == 40
    assert list_alerts("invoice_ocr") == []

    new_scanner = Workspace(inloop_env / "new-scanner").prepare()
    _serve(new_scanner, [_read(rng, 0.55, 0.85) for _ in range(40)])
    shifted = check_serving_skew(new_scanner, reference)
    assert shifted["status"] == "skewed" and "min_confidence" in shifted["drifted"]
    [alert] = list_alerts("invoice_ocr")
    assert alert.source == "skew" and "min_confidence" in alert.title


def test_without_a_reference_or_enough_invoices_nothing_is_judged(inloop_env: Path) -> None:
    workspace = Workspace(inloop_env / "ws").prepare()
    assert check_serving_skew(workspace)["status"] == "no reference"
    rng = random.Random(1)
    _serve(workspace, [_read(rng, 0.9, 1.0) for _ in range(MIN_ROWS - 1)])
    assert check_serving_skew(workspace, profile([_read(rng, 0.9, 1.0)]))["status"] == "too few"
