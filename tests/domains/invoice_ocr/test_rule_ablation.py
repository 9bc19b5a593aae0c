"""Booking rules earn their keep (data-2/3): leave-one-rule-out on a batch whose right outcome is known.

The batch is read from the invoices' ground truth (what a perfect OCR would extract), with the two bad
kinds that reach the booking rules (a misprinted total, a foreign IBAN); the real evaluation command
runs the same function on what the OCR actually read.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

import pytest

from invoice_ocr.lib.extract import FIELDS
from invoice_ocr.lib.iban import make_iban
from invoice_ocr.lib.invoices import AS_OF, generate_invoice
from invoice_ocr.lib.rule_ablation import RULES, rule_ablation
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.validate import batch_frame


def _item(invoice_id: int, invoice) -> dict:  # type: ignore[no-untyped-def]
    truth = invoice.ground_truth()
    return {"invoice_id": invoice_id, "fields": {f: {"value": truth[f], "confidence": 0.98} for f in FIELDS}}


@pytest.mark.rubric("data-2", "data-3")
def test_each_rule_is_credited_with_the_invoices_only_it_routes_right() -> None:
    suppliers = generate_suppliers(20, seed=7)
    clean = [generate_invoice(i, suppliers, 42) for i in range(1, 41)]
    misprinted = [dataclasses.replace(generate_invoice(i, suppliers, 42), total_misprint=Decimal("10.00"))
                  for i in range(100, 103)]
    foreign = []
    for i in range(200, 202):
        invoice = generate_invoice(i, suppliers, 42)
        # Another account at the same bank (digits reversed, bank letters kept): a well-formed IBAN.
        other = make_iban(invoice.supplier.iban[:2], re.sub(r"\d+", lambda m: m.group(0)[::-1], invoice.supplier.iban[4:]))
        foreign.append(dataclasses.replace(invoice, supplier=dataclasses.replace(invoice.supplier, iban=other)))
    invoices = clean + misprinted + foreign
    frame = batch_frame([_item(i, inv) for i, inv in enumerate(invoices)], [s.to_dict() for s in suppliers], AS_OF)
    should_book = [True] * len(clean) + [False] * (len(misprinted) + len(foreign))

    report = rule_ablation(frame, should_book)
    assert report.full.quality == 1.0  # every rule together: clean booked, bad to a person
    gains = {r.group: r.gain for r in report.rows}
    n = len(invoices)
    assert gains["amounts_add_up"] == pytest.approx(3 / n, abs=1e-5)  # only it catches a misprinted total
    assert gains["iban_matches_master"] == pytest.approx(2 / n, abs=1e-5)  # a foreign IBAN passes its checksum
    flagged = {r.group for r in report.rows if r.below_min_gain}
    assert flagged == {g.name for g in RULES} - {"amounts_add_up", "iban_matches_master"}
    assert any(f.startswith("supplier_known (supplier master)") for f in report.findings)


def test_rule_ablation_refuses_mismatched_outcomes() -> None:
    suppliers = generate_suppliers(5, seed=7)
    frame = batch_frame([_item(1, generate_invoice(1, suppliers, 42))], [s.to_dict() for s in suppliers], AS_OF)
    with pytest.raises(ValueError, match="one should_book per invoice"):
        rule_ablation(frame, [True, False])


def test_the_confidence_rule_uses_the_review_policys_cut_off() -> None:
    suppliers = generate_suppliers(5, seed=7)
    invoices = [generate_invoice(i, suppliers, 42) for i in range(1, 6)]
    frame = batch_frame([_item(i, inv) for i, inv in enumerate(invoices)], [s.to_dict() for s in suppliers], AS_OF)
    strict = rule_ablation(frame, [True] * 5, min_confidence=0.99)  # readings at 0.98 all go to a person
    assert strict.full.quality == 0.0
    assert {r.group: r.gain for r in strict.rows}["confidence"] == -1.0  # the rule costs every booking
