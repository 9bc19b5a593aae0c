"""infra-7 for the recommender: a promoted challenger is rolled back and the API serves the previous model."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from inloop import db, tracking
from inloop.db.models import Alert, Prediction

SCALE = "0.4"  # the API regenerates the suite's TEST_SHOP at this scale (see test_api.py)


def _served_version(client: TestClient, account: int) -> tuple[str, str]:
    resp = client.get("/recommender/pages/home", params={"user_id": account})
    assert resp.status_code == 200, resp.text
    (box,) = [b for b in resp.json()["boxes"] if b["component"] == "recommendations_box"]
    return box["model_version"], box["request_id"]


@pytest.mark.slow
@pytest.mark.rubric("infra-7")
def test_rolling_back_a_promoted_challenger_makes_the_api_serve_the_previous_recommender(
        shop, trained, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from inloop.api.app import create_app
    from inloop.canary import challenger_version, clear_challenger, stage_candidate
    from inloop.cli import app
    from inloop.settings import reset_settings
    from recommender.defs.checks import card
    from recommender.lib.collaborative import train_als
    from recommender.lib.evaluation import evaluate, promotion_gates
    from recommender.lib.registry import MODEL_NAME, log_model

    monkeypatch.setenv("INLOOP_DEMO_DATA_SCALE", SCALE)
    reset_settings()
    service, split = trained
    required = card.concern("model-beats-popularity").threshold.value  # type: ignore[union-attr]
    stages = []
    for model in (service.model, train_als(split.train, shop.catalog, shop.spec.n_accounts, seed=8)):
        with tracking.start_run("recommender", "rollback-test"):
            version = log_model(model)
        evaluation = evaluate(model, service.popularity, split, shop.catalog, shop.shoppers)
        stages.append(stage_candidate("recommender", MODEL_NAME, version, promotion_gates(evaluation, required)).stage)
    assert stages == ["champion", "challenger"]
    # The challenger is promoted (its canary is the canary test's business): v2 serves every account.
    clear_challenger(MODEL_NAME)
    assert tracking.promote(MODEL_NAME, "2", [tracking.GateResult("canary", True, "held")]).promoted
    assert (tracking.champion_version(MODEL_NAME), challenger_version(MODEL_NAME)) == ("2", None)

    account = int(shop.events["account_id"].value_counts().index[0])
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {client.app.state.api_token}"
        assert _served_version(client, account)[0] == f"{MODEL_NAME}/2"
        result = CliRunner().invoke(app, ["models", "rollback", "recommender", "--no-reload"])
        assert result.exit_code == 0, result.output
        assert "v2 -> v1" in result.output
        assert _served_version(client, account)[0] == f"{MODEL_NAME}/2"  # until the API reloads
        reload = client.post("/models/reload")
        assert reload.status_code == 200 and "v1" in reload.json()["domains"]["recommender"]["detail"]
        version, request_id = _served_version(client, account)
        assert version == f"{MODEL_NAME}/1"
    # (leaving the client drained the prediction log)
    mlc = tracking.client()
    assert tracking.champion_version(MODEL_NAME) == "1"
    assert mlc.get_model_version(MODEL_NAME, "1").tags["inloop.rolled_back_from"] == "2"
    assert mlc.get_model_version(MODEL_NAME, "2").tags["inloop.promotion"] == "rolled_back"
    with db.read_session() as sess:
        audit = sess.scalars(sa.select(Alert).where(Alert.source == "model", Alert.domain == "recommender")).all()
        logged = sess.execute(sa.select(Prediction.model_version).where(Prediction.request_id == request_id)
                              ).scalar_one()
    assert any(a.evidence.get("event") == "rollback" and a.evidence["to_version"] == "1" for a in audit)
    assert logged == f"{MODEL_NAME}/1"  # the log names the version that served after the rollback
    again = CliRunner().invoke(app, ["models", "rollback", "recommender", "--no-reload"])
    assert again.exit_code == 2  # v1 records no previous champion: a clear refusal
