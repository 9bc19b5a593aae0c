"""Request ids: the server issues a unique one per request; a client's X-Request-ID is a correlation id.

Issue #15 item 1: a reused X-Request-ID made the prediction-log batch fail on the unique key, and
every other request of that batch lost its entry. These tests drive the real middleware, the real
``PredictionLog`` dependency and the real background writer through HTTP; the route that logs is
a minimal domain route, mounted the way a domain's router is.
"""

from __future__ import annotations

import concurrent.futures
import re
from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from inloop.api.app import create_app
from inloop.api.deps import PredictionLog, RequestId, WriteAccess
from inloop.predictions import PredictionEntry

REUSED = "dup-request-1"
_decisions = APIRouter()


@_decisions.post("/decisions")
def decide(_: WriteAccess, prediction_log: PredictionLog, request_id: RequestId) -> dict[str, str]:
    """What a domain route does: decide, log the entry under the request id, answer with the id."""
    entry = PredictionEntry(
        domain="credit",
        component="loan_decision",
        features={"income": 2400.0},
        output={"decision": "approve"},
        request_id=request_id,
    )
    prediction_log.record(entry)
    return {"request_id": request_id}


@pytest.fixture
def served() -> Iterator[TestClient]:
    app = create_app()
    app.include_router(_decisions, prefix="/probe")
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {client.app.state.api_token}"
        yield client


def _decide(client: TestClient, client_id: str | None) -> tuple[int, str, str | None]:
    resp = client.post("/probe/decisions", headers={"X-Request-ID": client_id} if client_id else {})
    return resp.status_code, resp.json().get("request_id", ""), resp.headers.get("X-Client-Request-ID")


def test_a_burst_with_a_reused_client_id_keeps_every_answered_request_retrievable(served: TestClient) -> None:
    # The sequence, concurrently: the reused id is sent first, among, and after the others.
    client_ids = [REUSED] + [None if i % 4 else REUSED for i in range(1, 40)] + [REUSED]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda cid: _decide(served, cid), client_ids))
    assert all(status == 200 for status, _, _ in answers), answers
    assert served.app.state.prediction_writer.flush(30)
    found = {rid: served.get(f"/predictions/{rid}") for _, rid, _ in answers}
    missing = sorted(rid for rid, resp in found.items() if resp.status_code != 200)
    assert not missing, (
        f"{len(missing)} of {len(found)} answered request ids are not in the prediction log: {missing}"
    )
    ids = [rid for _, rid, _ in answers]
    assert len(set(ids)) == len(ids), "the server's request ids must be unique even when the client's repeat"
    assert [echo for _, _, echo in answers] == client_ids  # the client's id comes back as the correlation id
    for rid, client_id in zip(ids, client_ids, strict=True):
        assert found[rid].json()["request_id"] == rid and found[rid].json()["client_request_id"] == client_id
    assert (
        served.app.state.prediction_writer.quarantined == 0
        and served.app.state.prediction_writer.spilled == 0
    )


def test_a_client_id_finds_the_newest_prediction_and_lists_every_one(served: TestClient) -> None:
    first, second = (_decide(served, REUSED)[1] for _ in range(2))
    _decide(served, "another-client-id")
    assert served.app.state.prediction_writer.flush(30)
    newest = served.get(f"/predictions/{REUSED}")
    assert newest.status_code == 200 and newest.json()["request_id"] == second
    listed = served.get("/predictions", params={"client_request_id": REUSED})
    assert listed.status_code == 200
    assert [p["request_id"] for p in listed.json()] == [second, first]
    assert served.get("/predictions", params={"client_request_id": "never-sent-id"}).json() == []
    # Replay resolves a client id the same way as the lookup (here: the domain cannot re-run it, 409).
    assert served.post(f"/predictions/{REUSED}/replay").status_code == 409
    assert served.post("/predictions/never-sent-id/replay").status_code == 404


def test_the_client_id_list_refuses_what_it_cannot_hold(served: TestClient) -> None:
    assert served.get("/predictions").status_code == 422  # the client id is required
    assert served.get("/predictions", params={"client_request_id": "x" * 65}).status_code == 422
    assert served.get("/predictions", params={"client_request_id": REUSED, "limit": 0}).status_code == 422


def test_the_response_id_is_always_the_servers_and_a_sane_client_id_is_echoed_beside_it(
    served: TestClient,
) -> None:
    resp = served.get("/health", headers={"X-Request-ID": REUSED})
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Request-ID"])
    assert resp.headers["X-Client-Request-ID"] == REUSED
    again = served.get("/health", headers={"X-Request-ID": REUSED})
    assert again.headers["X-Request-ID"] != resp.headers["X-Request-ID"]
    hostile = served.get("/health", headers={"X-Request-ID": "x\u0000<script>"})
    assert "X-Client-Request-ID" not in hostile.headers and re.fullmatch(
        r"[0-9a-f]{32}", hostile.headers["X-Request-ID"]
    )
