"""Synthetic invoices: valid supplier master data, deterministic scans, consistent ground truth."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from invoice_ocr.lib.dataset import write_invoices
from invoice_ocr.lib.iban import format_iban, is_valid_iban, is_valid_vat_id, make_iban, normalise_iban
from invoice_ocr.lib.invoices import cents, generate_invoice
from invoice_ocr.lib.suppliers import generate_suppliers, supplier_problems


class TestIban:
    def test_known_ibans_from_the_standard_are_valid(self) -> None:
        assert is_valid_iban("DE89 3704 0044 0532 0130 00")
        assert is_valid_iban("GB82WEST12345698765432")
        assert is_valid_iban("NL91ABNA0417164300")

    def test_check_digits_are_computed_as_in_iso_13616(self) -> None:
        assert make_iban("DE", "370400440532013000") == "DE89370400440532013000"
        assert make_iban("GB", "WEST12345698765432") == "GB82WEST12345698765432"

    def test_a_typo_or_wrong_length_is_caught(self) -> None:
        assert not is_valid_iban("DE89370400440532013001")  # one digit changed
        assert not is_valid_iban("DE98370400440532013000")  # check digits swapped
        assert not is_valid_iban("DE8937040044053201300")  # one digit short
        assert not is_valid_iban("")
        assert not is_valid_iban(None)

    @settings(max_examples=200, deadline=None)
    @given(st.text("0123456789", min_size=18, max_size=18), st.integers(0, 17), st.integers(1, 9))
    def test_every_single_digit_substitution_is_detected(self, bban: str, pos: int, delta: int) -> None:
        iban = make_iban("DE", bban)
        assert is_valid_iban(iban)
        digits = list(iban)
        digits[4 + pos] = str((int(digits[4 + pos]) + delta) % 10)
        assert not is_valid_iban("".join(digits))

    def test_print_format_round_trips(self) -> None:
        assert format_iban("DE89370400440532013000") == "DE89 3704 0044 0532 0130 00"
        assert normalise_iban("de89 3704-0044 0532 0130 00") == "DE89370400440532013000"


class TestSupplierMaster:
    def test_every_generated_supplier_is_clean(self) -> None:
        suppliers = generate_suppliers(200, seed=3)
        assert all(is_valid_iban(s.iban) for s in suppliers)
        assert all(is_valid_vat_id(s.vat_id) for s in suppliers)
        assert [supplier_problems(s.to_dict()) for s in suppliers] == [[]] * 200
        assert len({s.supplier_id for s in suppliers}) == 200
        assert {s.layout for s in suppliers} == {"classic", "modern", "compact"}
        assert len({s.country for s in suppliers}) >= 5

    def test_a_bad_record_says_what_is_wrong(self) -> None:
        record = generate_suppliers(1)[0].to_dict() | {"iban": "DE00370400440532013000", "city": ""}
        problems = supplier_problems(record)
        assert any("IBAN" in p for p in problems) and any("city" in p for p in problems)

    def test_same_seed_same_master(self) -> None:
        assert generate_suppliers(30, seed=11) == generate_suppliers(30, seed=11)
        assert generate_suppliers(30, seed=11) != generate_suppliers(30, seed=12)


@pytest.fixture(scope="module")
def invoices():  # type: ignore[no-untyped-def]
    suppliers = generate_suppliers(40)
    return [generate_invoice(i, suppliers, seed=42) for i in range(1, 401)]


class TestGroundTruth:

    def test_totals_add_up(self, invoices) -> None:  # type: ignore[no-untyped-def]
        for inv in invoices:
            truth = inv.ground_truth()
            net, vat, total = (Decimal(truth[k]) for k in ("net", "vat", "total"))
            assert total == net + vat, truth["invoice_number"]
            assert net == sum(Decimal(item["amount"]) for item in truth["line_items"])
            assert vat == cents(net * Decimal(truth["vat_rate"]))
            for item in truth["line_items"]:
                assert Decimal(item["amount"]) == cents(Decimal(item["quantity"]) * Decimal(item["unit_price"]))

    def test_the_set_is_varied(self, invoices) -> None:  # type: ignore[no-untyped-def]
        truths = [inv.ground_truth() for inv in invoices]
        assert {len(t["line_items"]) for t in truths} == set(range(1, 16))
        assert {t["layout"] for t in truths} == {"classic", "modern", "compact"}
        assert len({t["font"] for t in truths}) >= 3
        assert {t["scan"]["format"] for t in truths} == {"png", "jpeg", "pdf"}
        assert {t["currency"] for t in truths} >= {"EUR", "CHF", "GBP"}
        assert all(0.0 < abs(t["scan"]["rotation"]) <= 1.5 or t["scan"]["rotation"] == 0 for t in truths)
        assert len({t["invoice_number"] for t in truths}) > 390


class TestRenderedFiles:
    def test_rendering_is_deterministic_and_a_longer_run_extends_a_shorter_one(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        suppliers = generate_suppliers(12)
        first = write_invoices(4, suppliers, tmp_path / "a", seed=5)
        second = write_invoices(3, suppliers, tmp_path / "b", seed=5)
        assert [g.sha256 for g in first[:3]] == [g.sha256 for g in second]
        assert [g.truth for g in first[:3]] == [g.truth for g in second]
        other = write_invoices(1, suppliers, tmp_path / "c", seed=6)
        assert other[0].sha256 != first[0].sha256

    def test_each_scan_has_its_ground_truth_beside_it(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        suppliers = generate_suppliers(12)
        for g in write_invoices(6, suppliers, tmp_path, seed=9):
            assert g.truth_path == g.path.with_suffix(".json")
            truth = json.loads(g.truth_path.read_text())
            assert truth["file"] == g.path.name
            assert truth["total"] == str(Decimal(truth["net"]) + Decimal(truth["vat"]))
            if g.path.suffix == ".pdf":
                assert g.path.read_bytes().startswith(b"%PDF")
            else:
                with Image.open(g.path) as img:
                    assert img.size[0] >= 1200 and img.size[1] >= 1700
        assert not list(tmp_path.glob(".*.tmp"))
