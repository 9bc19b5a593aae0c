"""`GET /recommender/pages/{page}`: the page service over HTTP, every box logged with its provenance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from inloop import tracking
from inloop.api.app import create_app
from inloop.predictions import get_prediction
from recommender.lib.registry import MODEL_NAME, log_model

# The API regenerates the shop at INLOOP_DEMO_DATA_SCALE; 0.4 gives exactly the suite's TEST_SHOP
# (seed 7, 600 articles, 800 accounts), on which the `trained` fixture's model was trained.
SCALE = "0.4"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, trained) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    from inloop.settings import reset_settings

    monkeypatch.setenv("INLOOP_DEMO_DATA_SCALE", SCALE)
    reset_settings()
    service, _ = trained
    with tracking.start_run("recommender", "api-test"):
        version = log_model(service.model)
    decision = tracking.promote(MODEL_NAME, version, [tracking.GateResult("trained_for_test", True, "test model")])
    assert decision.promoted
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {client.app.state.api_token}"
        yield client


@pytest.mark.slow
def test_a_page_has_three_boxes_with_provenance_and_every_box_is_logged(api: TestClient) -> None:
    resp = api.get("/recommender/pages/men", params={"user_id": 12, "device": "app"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [b["component"] for b in body["boxes"]] == ["last_seen_box", "recommendations_box", "new_in_carousel"]
    request_id = resp.headers["X-Request-ID"]
    for box in body["boxes"]:
        assert box["request_id"] == f"{request_id}-{box['component']}"
        assert all(item["reason"] for item in box["items"])
    # On the men's page nothing targets women: the context filter is on by default.
    assert all(i["gender_target"] != "women" for b in body["boxes"] for i in b["items"])
    api.__exit__(None, None, None)  # a clean stop drains the prediction-log writer
    for box in body["boxes"]:
        logged = get_prediction(box["request_id"])
        assert logged.component == box["component"]
        assert [i["item_id"] for i in logged.output["items"]] == [i["item_id"] for i in box["items"]]
        assert logged.features["account_id"] == 12 and logged.policy_version == body["config_version"]


@pytest.mark.slow
@pytest.mark.parametrize(("path", "params", "status"), [
    ("/recommender/pages/kids", {"user_id": 12}, 422),
    ("/recommender/pages/men", {"user_id": 99_999_999}, 404),
    ("/recommender/pages/men", {"user_id": -1}, 422),
    ("/recommender/pages/men", {"user_id": 12, "device": "fax"}, 422),
    ("/recommender/pages/men", {"user_id": 12, "at": "2026-11-01T10:00:00"}, 422),
    ("/recommender/pages/men", {}, 422),
])
def test_bad_page_requests_say_what_is_wrong(api: TestClient, path: str, params: dict, status: int) -> None:
    resp = api.get(path, params=params)
    assert resp.status_code == status, resp.text
    assert resp.json()["detail"]


def test_without_a_champion_the_route_says_so_and_ready_names_it() -> None:
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {client.app.state.api_token}"
        resp = client.get("/recommender/pages/home", params={"user_id": 1})
        assert resp.status_code == 503 and "run the recommender pipeline" in resp.json()["detail"]
        ready = client.get("/ready").json()
        assert ready["status"] != "ready"  # 503 when no domain has a model, "degraded" when others serve
        assert ready["components"]["models:recommender"]["ready"] is False
        assert "models not loaded" in ready["components"]["models:recommender"]["detail"]


@pytest.mark.slow
def test_every_box_id_is_retrievable_even_with_the_longest_client_request_id(api: TestClient) -> None:
    """Issue #15 item 2: box ids were `<client id>-<component>`, 78-84 characters for a 64-character id."""
    client_id = "c" * 64  # the longest X-Request-ID the server keeps
    resp = api.get("/recommender/pages/home", params={"user_id": 12}, headers={"X-Request-ID": client_id})
    assert resp.status_code == 200, resp.text
    boxes = resp.json()["boxes"]
    assert api.app.state.prediction_writer.flush(30)
    for box in boxes:
        logged = api.get(f"/predictions/{box['request_id']}")
        assert logged.status_code == 200, f"box id {box['request_id']!r} is not retrievable: {logged.text}"
        assert logged.json()["component"] == box["component"] and logged.json()["client_request_id"] == client_id
    assert resp.headers["X-Client-Request-ID"] == client_id
    listed = api.get("/predictions", params={"client_request_id": client_id}).json()
    assert sorted(p["request_id"] for p in listed) == sorted(b["request_id"] for b in boxes)
