"""The API as users run it: a real uvicorn process on loopback (`inloop serve`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_inloop_serve_answers_over_real_http_and_stops_cleanly(inloop_env: Path) -> None:
    port = _free_port()
    inloop = Path(sys.executable).with_name("inloop")
    proc = subprocess.Popen([str(inloop), "serve", "--port", str(port)], env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("inloop serve did not answer /health within 120 s")
        token = (inloop_env / "api-token").read_text().strip()
        auth = {"Authorization": f"Bearer {token}"}
        resp = httpx.get(f"{base}/alerts", headers={**auth, "X-Request-ID": "real-server-test-1"}, timeout=10)
        assert resp.status_code == 200 and resp.json() == []
        assert resp.headers["X-Request-ID"] == "real-server-test-1"
        assert httpx.get(f"{base}/alerts", timeout=10).status_code == 401
        filed = httpx.post(f"{base}/bug-reports", headers=auth, timeout=10,
                           data={"reporter": "ops", "text": "the page looked wrong", "domain": "recommender"})
        assert filed.status_code == 201, filed.text
        assert httpx.get(f"{base}/openapi.json", timeout=10).json()["info"]["title"] == "inloop API"
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it: -SIGTERM is a clean stop.
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert '"request_id": "real-server-test-1"' in output  # the structured log line carries the request id
