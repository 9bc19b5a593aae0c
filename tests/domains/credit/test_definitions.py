"""The credit code location loads, its card is valid, and the schema check guards the history."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from credit.defs.applications import applications_match_schema, loan_applications
from credit.domain import domain
from credit.lib.data import generate_applications
from inloop.alerts import list_alerts
from inloop.cards import lint_card
from inloop.checks import metric_history


def test_definitions_load() -> None:
    defs = domain.definitions()
    dg.Definitions.validate_loadable(defs)
    assert "applications_match_schema" in domain.check_names()


@pytest.mark.rubric("model-1")
def test_card_is_valid_and_lints_without_errors() -> None:
    card = domain.card()
    findings = lint_card(card, checks=domain.check_names(), demos=set(domain.demos()))
    assert [f for f in findings if f.level == "error"] == []
    alternatives = {a.kind for a in card.business_case.alternatives}
    assert "no_ml" in alternatives
    concerns = {c.id for c in card.concerns}
    assert {"sales-volume", "change-logic-without-retraining", "rejection-reasons", "small-groups",
            "live-input-schema", "live-performance", "model-staleness"} <= concerns


def _materialize(asset: dg.AssetsDefinition, size: int = 600) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [asset, applications_match_schema],
        run_config={"ops": {"loan_applications": {"config": {"size": size}}}} if asset is loan_applications else None,
        raise_on_error=False,
    )


@pytest.mark.rubric("data-1")
def test_clean_history_passes_the_schema_check() -> None:
    result = _materialize(loan_applications)
    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == "applications_match_schema"
    assert evaluation.passed
    [row] = metric_history("credit", "training-data-schema")
    assert row.passed and row.metric_value == 0.0
    assert list_alerts("credit") == []


@dg.asset(name="loan_applications")
def _history_exported_in_milliseconds() -> pd.DataFrame:
    """The same history, but the export wrote the form time in milliseconds."""
    frame = generate_applications(600)
    frame["application_duration_seconds"] = frame["application_duration_seconds"] * 1000
    return frame


@pytest.mark.rubric("monitor-2")
def test_milliseconds_fail_the_check_record_it_and_open_one_grouped_alert() -> None:
    runs = 2  # the second failure must be grouped into the first alert
    for _ in range(runs):
        result = _materialize(_history_exported_in_milliseconds)
        [evaluation] = result.get_asset_check_evaluations()
        assert not evaluation.passed
        assert evaluation.severity == dg.AssetCheckSeverity.ERROR
        assert "application_duration_seconds" in evaluation.metadata["summary"].value
    history = metric_history("credit", "training-data-schema")
    assert [r.passed for r in history] == [False] * runs
    assert history[-1].metric_value == 1.0
    [alert] = list_alerts("credit")
    assert alert.concern_id == "training-data-schema"
    assert alert.occurrences == runs
    assert "application_duration_seconds" in alert.message
