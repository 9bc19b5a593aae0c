"""The Models page against a real MLflow store: champion, challenger, gate results and refusal reasons."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("shop_domain")]


def test_models_page_shows_champion_challenger_and_why_a_promotion_was_refused(open_page):
    import mlflow

    from inloop.tracking import GateResult, client, promote, start_run

    mlc = client()
    mlc.create_registered_model("shop_test_ranker")
    versions = []
    for auc in (0.71, 0.69):
        with start_run("shop_test", "train") as run:
            mlflow.log_metric("auc", auc)
            mlflow.log_text("slice,auc\nshared_account,0.64\nall,0.71\n", "slices.csv")
        versions.append(mlc.create_model_version("shop_test_ranker", f"runs:/{run.info.run_id}/model",
                                                 run_id=run.info.run_id).version)
    promote("shop_test_ranker", versions[0], [GateResult("beats_baseline", True, "auc 0.71 vs 0.65")])
    decision = promote("shop_test_ranker", versions[1], [GateResult("beats_baseline", True, "auc 0.69 vs 0.65"),
                                                         GateResult("slices_above_floor", False,
                                                                    "shared_account auc 0.58 < 0.62")])
    assert not decision.promoted

    at = open_page("models")
    metrics = {m.label: (m.value, m.delta) for m in at.metric}
    assert metrics["Champion (serving)"] == ("v1", "promoted")
    assert metrics["Challenger"] == ("v2", "refused by slices_above_floor")
    assert at.warning[0].value == "v2 was not promoted: slices\\_above\\_floor — shared\\_account auc 0\\.58 \\< 0\\.62"
    versions_table = at.dataframe[0].value
    assert versions_table["gates passed"].tolist() == ["1 of 2", "1 of 1"]
    slices = [d.value for d in at.dataframe if "slice" in d.value.columns]
    assert slices and slices[0]["slice"].tolist() == ["shared_account", "all"]  # the champion per slice
    runs = at.dataframe[-1].value
    assert sorted(runs["auc"].tolist()) == [0.69, 0.71]
