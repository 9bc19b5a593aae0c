"""The documented path to add a booking rule (domains/invoice_ocr/docs/adding-a-rule.md), walked on a copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

INVOICE_OCR = Path(__file__).resolve().parents[3] / "domains" / "invoice_ocr"

RULE = '''
    BookingRule(
        "four_eyes_limit", "over_approval_limit", ("invoice_scans", "ocr_engine"), "the invoice itself",
        measure=lambda f: f.total is not None and f.total > 50_000,
        breaks=lambda v, _: v if not np.ndim(v) else np.asarray(v, dtype=bool),
        expectation=lambda _: _gx().ExpectColumnValuesToBeInSet(column="over_approval_limit", value_set=[False]),
        bound=lambda _: "False (total <= 50,000)",
        reason=lambda row, _: "above the four-eyes limit of EUR 50,000"),'''

CARD_ENTRY = '''
    - name: over_approval_limit
      sources: [invoice_scans, ocr_engine]
      why: Accounts Payable's four-eyes rule - invoices above EUR 50,000 always go to a person.'''

SCRIPT = """
import datetime as dt, json
from decimal import Decimal
from inloop.feature_policy import FeaturePolicyError
from invoice_ocr.domain import domain
from invoice_ocr.lib.explain import rule_results
from invoice_ocr.lib.extract import FIELDS
from invoice_ocr.lib.rule_ablation import RULES as ABLATION_GROUPS, rule_ablation
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.validate import batch_frame, validate_batch

supplier = generate_suppliers(12, seed=7)[0].to_dict()
def item(i, net):
    net = Decimal(net)
    vat = (net * Decimal(supplier["vat_rate"])).quantize(Decimal("0.01"))
    values = {"supplier_id": supplier["supplier_id"], "invoice_number": f"RE-{i}", "invoice_date": "2026-10-01",
              "iban": supplier["iban"], "net": str(net), "vat": str(vat), "total": str(net + vat),
              "currency": supplier["currency"]}
    return {"invoice_id": i, "fields": {f: {"value": values[f], "confidence": 0.97} for f in FIELDS}}

items = [item(1, "100.00"), item(2, "60000.00")]
today = dt.date(2026, 10, 30)
try:
    problems, summary = validate_batch(items, [supplier], today)
    refused = None
except FeaturePolicyError as exc:
    problems, summary, refused = {}, {}, str(exc)
frame = batch_frame(items, [supplier], today)
report = rule_ablation(frame, [True, False]) if refused is None else None
print(json.dumps({
    "card": str(domain.card_path),
    "refused": refused,
    "problems": {str(k): v for k, v in problems.items()},
    "failed_expectations": summary.get("failed_expectations", []),
    "ablation_groups": [g.name for g in ABLATION_GROUPS],
    "ablation_gain": None if report is None else [
        {"group": r.group, "gain": r.gain} for r in report.rows if r.group == "four_eyes_limit"],
    "explain": [r for r in rule_results(frame.iloc[1], 0.8) if r["rule"] == "four_eyes_limit"],
}))
"""


def _edit(path: Path, anchor: str, insert: str) -> None:
    text = path.read_text()
    assert anchor in text, f"{path.name} no longer has {anchor!r}: update docs/adding-a-rule.md and this test"
    path.write_text(text.replace(anchor, anchor + insert, 1))


def _walk(copy: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(copy / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["card"].startswith(str(copy))  # the copy was imported, not the checkout
    return out


@pytest.mark.rubric("data-6")
def test_a_rule_added_as_documented_is_in_the_suite_the_reasons_the_ablation_and_explain(tmp_path: Path) -> None:
    copy = tmp_path / "invoice_ocr"
    shutil.copytree(INVOICE_OCR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _edit(copy / "src/invoice_ocr/lib/rules.py", 'reason=lambda row, _: "total out of range"),', RULE)

    # Step 1 alone: the new input is not on the card's feature policy, so every batch is refused, naming it.
    before = _walk(copy)
    assert before["refused"] and "over_approval_limit" in before["refused"]

    # Step 2: the card entry. Now the rule holds back the big invoice, with its reason, and only that one.
    _edit(copy / "project.yaml", "      why: Total within the range AP books without a person.", CARD_ENTRY)
    out = _walk(copy)
    assert out["refused"] is None
    assert out["problems"] == {"2": ["above the four-eyes limit of EUR 50,000"]}
    assert any("over_approval_limit" in e for e in out["failed_expectations"])
    assert "four_eyes_limit" in out["ablation_groups"]
    assert out["ablation_gain"] and out["ablation_gain"][0]["gain"] > 0  # it alone routes invoice 2 right
    assert out["explain"] == [{"rule": "four_eyes_limit", "measured": True, "bound": "False (total <= 50,000)",
                               "passed": False}]
