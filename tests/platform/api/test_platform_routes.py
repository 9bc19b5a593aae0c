"""The platform routes: health, readiness, replay, bug reports, labels, alerts — success and bad input."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from inloop.alerts import raise_alert
from inloop.predictions import log_prediction


def _png(size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _logged(domain: str = "credit") -> str:
    return log_prediction(domain=domain, component="decision", features={"income": 3100.0},
                          output={"decision": "reject"}, model_name="credit_default", model_version="2",
                          policy_version="p-2026-01")


def test_health_is_public_and_carries_a_request_id(anonymous: TestClient) -> None:
    resp = anonymous.get("/health")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}
    assert len(resp.headers["X-Request-ID"]) == 32


def test_a_sane_client_request_id_is_kept_beside_the_servers_and_a_hostile_one_dropped(anonymous: TestClient) -> None:
    sane = anonymous.get("/health", headers={"X-Request-ID": "client-abc-123"})
    assert sane.headers["X-Client-Request-ID"] == "client-abc-123" and len(sane.headers["X-Request-ID"]) == 32
    hostile = anonymous.get("/health", headers={"X-Request-ID": "x\u0000<script>"})
    assert "X-Client-Request-ID" not in hostile.headers and hostile.headers["X-Request-ID"].isalnum()


def test_ready_reports_database_and_mlflow(client: TestClient) -> None:
    body = client.get("/ready").json()
    assert body["components"]["database"]["ready"] is True
    assert body["status"] in {"ready", "degraded"}


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/alerts"), ("get", "/bug-reports"), ("post", "/labels"), ("get", "/predictions/abcdefgh"),
    ("post", "/predictions/abcdefgh/replay"), ("post", "/models/reload"),
])
def test_every_data_route_needs_the_token(anonymous: TestClient, method: str, path: str) -> None:
    resp = getattr(anonymous, method)(path)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    wrong = getattr(anonymous, method)(path, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401


def test_replay_reads_back_exactly_what_was_logged(client: TestClient) -> None:
    rid = _logged()
    body = client.get(f"/predictions/{rid}").json()
    assert body["features"] == {"income": 3100.0} and body["output"] == {"decision": "reject"}
    assert (body["model_version"], body["policy_version"]) == ("2", "p-2026-01")


def test_replay_of_unknown_or_malformed_ids(client: TestClient) -> None:
    assert client.get("/predictions/does-not-exist").status_code == 404
    assert client.get("/predictions/" + "a" * 65).status_code == 422
    assert client.get("/predictions/..%2F..%2Fetc%2Fpasswd").status_code in {404, 422}


def test_bug_report_with_screenshot_and_request_id(client: TestClient) -> None:
    rid = _logged()
    resp = client.post("/bug-reports", data={"reporter": "ana@shop.example", "text": "Why was I rejected?",
                                             "domain": "credit", "request_id": rid},
                       files={"screenshot": ("screen.bin", _png(), "application/octet-stream")})
    assert resp.status_code == 201, resp.text
    report = resp.json()["report"]
    assert report["has_screenshot"] and report["component"] == "decision" and report["status"] == "new"
    listed = client.get("/bug-reports", params={"domain": "credit"}).json()
    assert [r["id"] for r in listed] == [report["id"]]


@pytest.mark.parametrize(("fields", "files", "field", "status"), [
    ({"domain": "no_such_domain"}, None, "domain", 422),
    ({"request_id": "never-logged-id"}, None, "request_id", 404),  # a reference to nothing: not found
    ({}, {"screenshot": ("cat.png", b"GIF89a not really", "image/png")}, "screenshot", 415),
    ({}, {"screenshot": ("big.png", b"\x89PNG" + b"0" * (10 * 1024 * 1024 + 10), "image/png")}, "screenshot", 413),
])
def test_bad_bug_reports_are_refused_and_nothing_is_written(client: TestClient, inloop_env, fields, files,
                                                            field, status) -> None:
    data = {"reporter": "ana", "text": "Something odd", "domain": "credit", **fields}
    resp = client.post("/bug-reports", data=data, files=files)
    assert resp.status_code == status, resp.text
    detail = resp.json()["detail"]
    assert any(d["loc"][-1] == field for d in detail) if status == 422 else detail.startswith(f"{field}:")
    assert client.get("/bug-reports").json() == []
    screenshots = inloop_env / "files" / "screenshots"
    assert not screenshots.exists() or not any(p.is_file() for p in screenshots.rglob("*"))


def test_bug_report_missing_fields_and_bad_severity(client: TestClient) -> None:
    resp = client.post("/bug-reports", data={"reporter": "ana", "domain": "credit", "severity": "apocalyptic"})
    assert resp.status_code == 422
    locs = {tuple(d["loc"]) for d in resp.json()["detail"]}
    assert ("body", "text") in locs and ("body", "severity") in locs


def test_labels_attach_to_a_logged_prediction(client: TestClient) -> None:
    rid = _logged()
    resp = client.post("/labels", json={"domain": "credit", "name": "default_12m", "value": 1, "request_id": rid})
    assert resp.status_code == 201 and resp.json()["request_id"] == rid


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"domain": "credit", "name": "default_12m", "value": 1}, 422, "give request_id or subject_id"),
    ({"domain": "credit", "name": "default_12m", "value": 1, "request_id": "nope-nope"}, 404, "no logged prediction"),
    ({"domain": "nope", "name": "default_12m", "value": 1, "subject_id": "a1"}, 404, "unknown domain"),
    ({"domain": "credit", "name": "Default 12m", "value": 1, "subject_id": "a1"}, 422, "name"),
    ({"domain": "credit", "name": "default_12m", "value": True, "subject_id": "a1", "extra": 1}, 422, "extra"),
    ({"domain": "credit", "name": "d", "value": 1, "subject_id": "a1", "observed_at": "2026-01-01T00:00:00"}, 422,
     "time zone"),
])
def test_bad_labels_say_what_is_wrong(client: TestClient, body: dict, status: int, needle: str) -> None:
    resp = client.post("/labels", json=body)
    assert resp.status_code == status, resp.text
    assert needle in resp.text


def test_a_label_for_another_domains_prediction_is_refused(client: TestClient) -> None:
    rid = _logged("recommender")
    resp = client.post("/labels", json={"domain": "credit", "name": "default_12m", "value": 0, "request_id": rid})
    assert resp.status_code == 409 and "belongs to domain 'recommender'" in resp.text


def test_malformed_json_is_a_4xx_not_a_crash(client: TestClient) -> None:
    resp = client.post("/labels", content=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 422
    assert "Traceback" not in resp.text


def test_oversized_bodies_are_refused_on_the_bytes(client: TestClient, monkeypatch) -> None:
    big = b"x" * (21 * 1024 * 1024)
    resp = client.post("/labels", content=big, headers={"Content-Type": "application/json"})
    assert resp.status_code == 413

    def chunks():
        for _ in range(25):
            yield b"y" * (1024 * 1024)

    resp = client.post("/labels", content=chunks(), headers={"Content-Type": "application/json"})
    assert resp.status_code == 413


def test_alerts_are_listed_with_filters(client: TestClient) -> None:
    raise_alert(domain="credit", cause_key="check:credit:x", title="Approval rate fell", message="0.71 < 0.76")
    raise_alert(domain="credit", cause_key="check:credit:x", title="Approval rate fell", message="0.70 < 0.76")
    body = client.get("/alerts", params={"domain": "credit", "status": "open"}).json()
    assert len(body) == 1 and body[0]["occurrences"] == 2
    assert client.get("/alerts", params={"status": "maybe"}).status_code == 422
    assert client.get("/alerts", params={"limit": 0}).status_code == 422


def test_no_stack_traces_reach_clients(client: TestClient, monkeypatch) -> None:
    import inloop.api.routes.alerts as alerts_route

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(alerts_route, "list_alerts", broken)
    resp = client.get("/alerts")
    assert resp.status_code == 500
    assert "secret internals" not in resp.text and resp.json()["request_id"]


def test_cors_is_closed_by_default(client: TestClient) -> None:
    resp = client.options("/health", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in {k.lower() for k in resp.headers}
