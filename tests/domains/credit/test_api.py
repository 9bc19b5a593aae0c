"""`POST /credit/decisions`: decisions with reasons over HTTP, every one logged; and a bounded load test."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from inloop import db
from inloop.api.app import create_app
from inloop.db.models import Prediction
from inloop.predictions import get_prediction

APPLICATION = {
    "income_monthly_eur": 2400.0, "employment_years": 1.5, "age_band": "26-35", "loan_amount_eur": 900.0,
    "loan_duration_months": 24, "existing_credits": 1, "channel": "partner", "residence_permit": "temporary",
    "application_duration_seconds": 310.0,
}


@pytest.fixture
def api(champion_env: Path) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {client.app.state.api_token}"
        yield client


@pytest.mark.slow
@pytest.mark.rubric("infra-3")
def test_a_decision_has_reasons_and_versions_and_is_logged_exactly_as_answered(api: TestClient) -> None:
    resp = api.post("/credit/decisions", json={**APPLICATION, "application_id": "phone-0001"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["request_id"] == resp.headers["X-Request-ID"]
    assert body["decision"] in {"approve", "refer", "reject"} and 0 <= body["probability_of_default"] <= 1
    assert body["reasons"] and all(r["text"] for r in body["reasons"])
    assert body["policy_version"] and body["model_version"]
    api.__exit__(None, None, None)  # clean stop: the writer drains
    logged = get_prediction(body["request_id"])
    assert logged.features["residence_permit"] == "temporary" and logged.features["application_id"] == "phone-0001"
    assert logged.output["decision"] == body["decision"]
    assert (logged.model_version, logged.policy_version) == (body["model_version"], body["policy_version"])


@pytest.mark.slow
@pytest.mark.parametrize(("change", "field"), [
    ({"income_monthly_eur": True}, "income_monthly_eur"),
    ({"income_monthly_eur": "2400"}, "income_monthly_eur"),
    ({"income_monthly_eur": -5}, "income_monthly_eur"),
    ({"channel": "fax"}, "channel"),
    ({"residence_permit": None}, "residence_permit"),
    ({"loan_duration_months": 2.5}, "loan_duration_months"),
    ({"favourite_colour": "blue"}, "favourite_colour"),
    ({"application_id": "../../etc"}, "application_id"),
])
def test_bad_applications_are_refused_with_the_field_named(api: TestClient, change: dict, field: str) -> None:
    resp = api.post("/credit/decisions", json={**APPLICATION, **change})
    assert resp.status_code == 422, resp.text
    assert any(field in d["loc"] for d in resp.json()["detail"])


@pytest.mark.slow
def test_missing_fields_and_naive_times_are_refused(api: TestClient) -> None:
    body = dict(APPLICATION)
    del body["age_band"]
    assert api.post("/credit/decisions", json=body).status_code == 422
    naive = api.post("/credit/decisions", json={**APPLICATION, "applied_at": "2026-05-01T10:00:00"})
    assert naive.status_code == 422 and "time zone" in naive.text
    assert api.post("/credit/decisions", json=APPLICATION, headers={"Authorization": "Bearer nope"}).status_code == 401


@pytest.mark.slow
def test_bounded_load_zero_errors_and_one_log_entry_per_decision(  # type: ignore[no-untyped-def]
        champion_env: Path, real_api) -> None:
    """300 decisions at a fixed rate through a real uvicorn process; after shutdown, exactly 300 entries."""
    server = real_api(ready=("models:credit",))
    base = server.base
    try:
        token = server.token
        with db.read_session() as sess:
            before = sess.scalar(sa.select(sa.func.count()).select_from(Prediction)
                                 .where(Prediction.component == "loan_decision"))
        rate, total = 100.0, 300  # requests per second, requests in all: the test stops by itself

        def one(i: int, client: httpx.Client) -> tuple[int, str | None]:
            resp = client.post(f"{base}/credit/decisions", json={**APPLICATION, "application_id": f"load-{i}"},
                               headers={"Authorization": f"Bearer {token}"}, timeout=30)
            return resp.status_code, resp.json().get("request_id") if resp.status_code == 200 else None

        with httpx.Client() as client, concurrent.futures.ThreadPoolExecutor(8) as pool:
            start = time.monotonic()
            futures = []
            for i in range(total):
                time.sleep(max(0.0, start + i / rate - time.monotonic()))
                futures.append(pool.submit(one, i, client))
            results = [f.result() for f in futures]
    finally:
        server.stop()  # a clean stop drains the prediction log before the counts below
    statuses = [s for s, _ in results]
    assert statuses.count(200) == total, f"errors: {[s for s in statuses if s != 200][:10]}"
    ids = {rid for _, rid in results}
    with db.read_session() as sess:
        after = sess.scalar(sa.select(sa.func.count()).select_from(Prediction)
                            .where(Prediction.component == "loan_decision"))
        logged = set(sess.scalars(sa.select(Prediction.request_id).where(Prediction.request_id.in_(ids))))
    assert after - before == total
    assert logged == ids
