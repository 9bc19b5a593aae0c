"""Training: the candidate is logged, evaluated beside the baseline per slice, and gated.

The promoted model comes from the session's shared training run (conftest); the ablation without
income runs here and must be refused by the gate, named.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from credit.definitions import training_assets
from credit.defs.applications import applications_match_schema
from credit.defs.training import gate_checks
from credit.lib.data import RESIDENCE_PERMITS
from credit.lib.decision import MODEL_NAME
from credit.lib.evaluation import Evaluation
from inloop.tracking import champion_version, client

CHECKS = [applications_match_schema, *gate_checks]


@pytest.fixture
def good_run(credit_world: tuple[Path, dg.ExecuteInProcessResult], champion_env: Path) -> dg.ExecuteInProcessResult:
    return credit_world[1]


@pytest.mark.rubric("infra-3", "infra-4", "model-5")
def test_candidate_passes_every_gate_and_becomes_champion(good_run: dg.ExecuteInProcessResult) -> None:
    assert good_run.success
    verdicts = {e.check_name: e.passed for e in good_run.get_asset_check_evaluations()}
    assert verdicts == {"applications_match_schema": True, "beats_baseline": True, "slices_above_floor": True,
                        "approval_rate_holds": True}
    decision = good_run.output_for_node("champion_model")
    assert decision.promoted
    assert str(champion_version(MODEL_NAME)) == decision.version


@pytest.mark.rubric("model-5", "model-6", "model-7")
def test_evaluation_reports_baseline_and_every_slice(good_run: dg.ExecuteInProcessResult) -> None:
    evaluation: Evaluation = good_run.output_for_node("model_evaluation")
    assert 0.75 < evaluation.model_auc < 0.9
    assert evaluation.model_auc > evaluation.baseline_auc
    assert evaluation.model_brier < evaluation.baseline_brier
    table = evaluation.slice_table()
    assert set(table.loc[table["column"] == "residence_permit", "value"]) == set(RESIDENCE_PERMITS)
    assert {"age_band", "channel"} <= set(table["column"])
    assert table["baseline_auc"].notna().all() and table["model_auc"].notna().all()
    assert 0.78 <= evaluation.approval_rate <= 1


@pytest.mark.rubric("infra-2")
def test_candidate_run_in_mlflow_holds_params_metrics_signature_and_statistics(
        good_run: dg.ExecuteInProcessResult) -> None:
    candidate = good_run.output_for_node("risk_model_candidate")
    mlc = client()
    run = mlc.get_run(candidate.run_id)
    assert {"model_auc", "baseline_auc", "model_brier", "approval_rate", "worst_slice_auc"} <= set(run.data.metrics)
    search = good_run.output_for_node("hyperparameter_search")
    assert run.data.params["num_leaves"] == str(search.best_params["num_leaves"])  # what the search chose
    artifacts = {a.path for a in mlc.list_artifacts(candidate.run_id)}
    assert {"training_statistics.json", "evaluation.json", "slices.csv"} <= artifacts
    version = mlc.get_model_version(MODEL_NAME, candidate.version)
    from mlflow.models import get_model_info

    info = get_model_info(f"models:/{MODEL_NAME}/{version.version}")
    assert "income_monthly_eur" in info.signature.inputs.input_names()


# A deliberately bad model (trained without income) refused by the gate, with the gate named: the
# bad-model-refused demo, run by tests/domains/credit/test_demos.py, makes and checks those claims.


def test_unknown_ablation_feature_is_refused_clearly() -> None:
    result = dg.materialize([*training_assets[:2]], raise_on_error=False, run_config={
        "ops": {"loan_applications": {"config": {"size": 500}},
                "training_sets": {"config": {"drop_features": ["incom"]}}}})
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "unknown feature(s) ['incom']" in failure.event_specific_data.error.to_string()
