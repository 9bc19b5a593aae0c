"""Issue #15 item 1 on the real credit route: a reused X-Request-ID loses no answered decision."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from inloop.api.app import create_app

APPLICATION = {
    "income_monthly_eur": 2400.0,
    "employment_years": 1.5,
    "age_band": "26-35",
    "loan_amount_eur": 900.0,
    "loan_duration_months": 24,
    "existing_credits": 1,
    "channel": "partner",
    "residence_permit": "temporary",
    "application_duration_seconds": 310.0,
}


@pytest.fixture
def api(champion_env: Path) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {client.app.state.api_token}"
        yield client


@pytest.mark.slow
def test_a_reused_request_id_among_a_concurrent_burst_loses_no_decision(api: TestClient) -> None:
    def decide(client_id: str | None) -> tuple[int, str]:
        resp = api.post(
            "/credit/decisions", json=APPLICATION, headers={"X-Request-ID": client_id} if client_id else {}
        )
        return resp.status_code, resp.json().get("request_id", "")

    # The sequence: `dup-1` once, ten without an id concurrently (with `dup-1` among them), `dup-1` again.
    first = decide("dup-1-reused")
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        burst = list(pool.map(decide, [None] * 5 + ["dup-1-reused"] + [None] * 5))
    answers = [first, *burst, decide("dup-1-reused")]
    assert [status for status, _ in answers] == [200] * len(answers)
    assert api.app.state.prediction_writer.flush(30)
    missing = [rid for _, rid in answers if api.get(f"/predictions/{rid}").status_code != 200]
    assert not missing, f"{len(missing)} of {len(answers)} answered decisions are not in the prediction log"
    assert len({rid for _, rid in answers}) == len(answers)
    reused = api.get("/predictions", params={"client_request_id": "dup-1-reused"}).json()
    assert [p["request_id"] for p in reused] == [answers[-1][1], answers[6][1], answers[0][1]]  # newest first
