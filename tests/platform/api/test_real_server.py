"""The API as users run it: a real uvicorn process on loopback (`inloop serve`)."""

from __future__ import annotations

import signal

import httpx
import pytest


@pytest.mark.slow
def test_inloop_serve_answers_over_real_http_and_stops_cleanly(real_api) -> None:  # type: ignore[no-untyped-def]
    server = real_api()  # a fresh data dir: /ready answers (503, no model yet), the process is up
    base, auth = server.base, server.auth
    assert httpx.get(f"{base}/health", timeout=10).status_code == 200
    resp = httpx.get(f"{base}/alerts", headers={**auth, "X-Request-ID": "real-server-test-1"}, timeout=10)
    assert resp.status_code == 200 and resp.json() == []
    assert resp.headers["X-Client-Request-ID"] == "real-server-test-1"
    server_request_id = resp.headers["X-Request-ID"]
    assert httpx.get(f"{base}/alerts", timeout=10).status_code == 401
    filed = httpx.post(f"{base}/bug-reports", headers=auth, timeout=10,
                       data={"reporter": "ops", "text": "the page looked wrong", "domain": "recommender"})
    assert filed.status_code == 201, filed.text
    assert httpx.get(f"{base}/openapi.json", timeout=10).json()["info"]["title"] == "inloop API"
    output = server.stop()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it: -SIGTERM is a clean stop.
    assert server.process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    # The structured log line carries the server's request id and the client's beside it.
    assert f'"request_id": "{server_request_id}"' in output and '"client_request_id": "real-server-test-1"' in output
