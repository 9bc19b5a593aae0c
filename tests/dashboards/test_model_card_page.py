"""The Model card page against a real MLflow store: every Mitchell et al. section, the slice table, the canary."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from inloop import domains as domain_registry

pytestmark = [pytest.mark.slow]

SPEC = '''
from inloop.serving import ServedModel

SERVED = ServedModel(domain="shop_test", model_name="shop_test_ranker", component="ranker", score_key="score",
                     decision_key="shown", slices_artifact="slices.csv")
'''


@pytest.fixture
def served_shop(shop_domain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    code = tmp_path / "card_code"
    code.mkdir()
    (code / "card_shop_test.py").write_text(SPEC)
    monkeypatch.syspath_prepend(str(code))
    import card_shop_test  # type: ignore[import-not-found]  # written into tmp_path just above

    shop = dataclasses.replace(shop_domain, served_model=lambda: card_shop_test.SERVED)
    monkeypatch.setattr(domain_registry, "discover_domains", lambda: {"shop_test": shop})
    return shop


@pytest.mark.rubric("model-1")
@pytest.mark.rubric("infra-6")
def test_model_card_page_renders_every_section_and_the_challengers_canary(served_shop, open_page) -> None:  # type: ignore[no-untyped-def]
    import mlflow

    from inloop.canary import stage_candidate
    from inloop.model_card import SECTIONS
    from inloop.tracking import GateResult, client, start_run

    mlc = client()
    mlc.create_registered_model("shop_test_ranker")
    versions = []
    for auc in (0.71, 0.73):
        with start_run("shop_test", "train") as run:
            mlflow.log_params({"factors": 32, "training_rows": 5000})
            mlflow.log_metric("auc", auc)
            mlflow.log_text("slice,auc,rows\nshared_account,0.64,120\nall,0.71,5000\n", "slices.csv")
        versions.append(mlc.create_model_version("shop_test_ranker", f"runs:/{run.info.run_id}/model",
                                                 run_id=run.info.run_id).version)
    gates = [GateResult("beats_baseline", True, "auc above popularity")]
    assert stage_candidate("shop_test", "shop_test_ranker", versions[0], gates).stage == "champion"
    assert stage_candidate("shop_test", "shop_test_ranker", versions[1], gates).stage == "challenger"

    at = open_page("model_card")
    text = "\n".join(m.value for m in at.markdown)
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == list(SECTIONS)
    assert "# Model card: shop_test_ranker v1 (shop_test)" in text
    assert "| shared_account | 0.64 | 120 |" in text  # the slice table
    assert "A woman's bag on the men's home page." in text  # a worst case from the project card
    assert "| factors | 32 |" in text and "| auc | 0.71 |" in text
    assert at.subheader[0].value == "Canary: challenger v2 beside champion v1"
    stats = at.dataframe[0].value
    assert stats["role"].tolist() == ["champion", "challenger"] and stats["requests"].tolist() == [0, 0]
    assert any("canary_traffic" in w.value for w in at.warning)  # no canary traffic yet: promotion would refuse
    # The card was logged with the first champion (stage_candidate promoted it directly).
    assert mlc.get_model_version("shop_test_ranker", versions[0]).tags["inloop.model_card"] == "model_card.md"
