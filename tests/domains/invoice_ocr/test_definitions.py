"""The code location loads; the supplier-master concern check records results and groups alerts."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pytest

from inloop.alerts import list_alerts
from inloop.checks import metric_history
from inloop.domains import get_domain
from invoice_ocr.definitions import defs
from invoice_ocr.defs.assets import supplier_master, synthetic_invoices
from invoice_ocr.defs.checks import concern_checks, measure_supplier_master
from invoice_ocr.defs.resources import resources
from invoice_ocr.lib.suppliers import generate_suppliers


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(defs)


@pytest.mark.rubric("model-1")
def test_the_domain_is_registered_and_its_card_names_only_real_checks() -> None:
    domain = get_domain("invoice_ocr")
    card = domain.card()
    enforced = {c.check for c in card.concerns if c.status == "enforced"}
    assert enforced <= domain.check_names()
    assert any(a.kind == "no_ml" for a in card.business_case.alternatives)


def _supplier_check() -> dg.AssetChecksDefinition:
    return next(c for c in concern_checks() if "supplier_master_valid" in {k.name for k in c.check_keys})


def test_materializing_the_data_passes_the_check(inloop_env) -> None:  # type: ignore[no-untyped-def]
    result = dg.materialize(
        [supplier_master, synthetic_invoices, _supplier_check()],
        run_config={"ops": {"invoice_ocr__synthetic_invoices": {"config": {"count": 3, "seed": 1}}}},
        resources=resources(),
    )
    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed
    manifest = result.output_for_node("invoice_ocr__synthetic_invoices")
    assert len(manifest) == 3
    folder = inloop_env / "domains" / "invoice_ocr" / "synthetic" / "seed-1"
    assert len(list(folder.glob("*.json"))) == 3
    history = metric_history("invoice_ocr", "supplier-master-valid")
    assert [(h.passed, h.metric_value) for h in history] == [(True, 0.0)]
    assert list_alerts("invoice_ocr") == []


@dg.asset(key=["invoice_ocr", "supplier_master"])
def dirty_supplier_master() -> list[dict[str, Any]]:
    """The same asset key, fed deliberately dirty master data (one IBAN typo, one VAT id missing)."""
    records = [s.to_dict() for s in generate_suppliers(10)]
    records[2]["iban"] = records[2]["iban"][:-1] + str((int(records[2]["iban"][-1]) + 1) % 10)
    records[5]["vat_id"] = ""
    return records


@pytest.mark.rubric("data-1")
def test_dirty_master_data_fails_the_check_and_alerts_once_grouping_repeats() -> None:
    for attempt in (1, 2):
        result = dg.materialize([dirty_supplier_master, _supplier_check()], raise_on_error=False,
                                resources=resources())
        [evaluation] = result.get_asset_check_evaluations()
        assert not evaluation.passed
        assert evaluation.severity == dg.AssetCheckSeverity.ERROR
        assert evaluation.metadata["value"].value == 2
        alerts = list_alerts("invoice_ocr")
        assert len(alerts) == 1
        assert alerts[0].occurrences == attempt
        assert alerts[0].concern_id == "supplier-master-valid"
    history = metric_history("invoice_ocr", "supplier-master-valid")
    assert [(h.passed, h.metric_value) for h in history] == [(False, 2.0), (False, 2.0)]


@pytest.mark.parametrize("field", ["iban", "vat_id", "name", "currency"])
def test_measurement_counts_each_kind_of_bad_record(field: str) -> None:
    records = [s.to_dict() for s in generate_suppliers(5)]
    records[0][field] = "XX00" if field == "iban" else ""
    measurement = measure_supplier_master(records)
    assert measurement.value == 1
    assert "1 of 5" in measurement.summary
