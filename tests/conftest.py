"""Shared fixtures: every test gets its own data directory and platform database."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Records the last result of every @pytest.mark.rubric test for `inloop readiness`.
pytest_plugins = ["inloop.readiness.pytest_plugin"]


@pytest.fixture(autouse=True)
def inloop_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the settings at a fresh data directory (and a fresh DB) for each test."""
    from inloop import db
    from inloop.settings import reset_settings

    data_dir = tmp_path / "inloop-data"
    monkeypatch.setenv("INLOOP_DATA_DIR", str(data_dir))
    monkeypatch.setenv("INLOOP_ENVIRONMENT", "test")
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster"))
    for key in ("INLOOP_DATABASE_URL", "INLOOP_MLFLOW_TRACKING_URI", "INLOOP_MLFLOW_ARTIFACT_ROOT",
                "INLOOP_DAGSTER_HOME", "INLOOP_API_TOKEN", "INLOOP_ALERT_WEBHOOK_URL", "INLOOP_INVOICE_LEDGER_URL",
                "INLOOP_INVOICE_ERP_URL", "INLOOP_STORED_FILES_URL"):
        if key in os.environ and not os.environ.get("INLOOP_TEST_KEEP_" + key.removeprefix("INLOOP_")):
            monkeypatch.delenv(key)
    reset_settings()
    db.dispose_engines()
    yield data_dir
    db.dispose_engines()
    reset_settings()


def _postgres_admin_url() -> str | None:
    return os.environ.get("INLOOP_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, inloop_env: Path) -> Iterator[str]:
    """A blank platform database URL: SQLite in the test's data dir, or a fresh PostgreSQL database.

    The PostgreSQL variant runs when INLOOP_TEST_POSTGRES_URL points at a server
    (``scripts/with-postgres.sh`` provides one; ``.ci/run`` uses it) and is skipped otherwise.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{inloop_env / 'platform-test.db'}"
        return
    admin = _postgres_admin_url()
    if not admin:
        pytest.skip("INLOOP_TEST_POSTGRES_URL not set (run under scripts/with-postgres.sh)")
    import uuid

    import sqlalchemy as sa

    from inloop import db

    name = f"inloop_t_{uuid.uuid4().hex[:12]}"
    admin_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        db.dispose_engines()
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_engine.dispose()


class RealApi:
    """One ``inloop serve`` process (uvicorn) on a free loopback port, as users run the API.

    Its output goes to a file, not a pipe, so a chatty server never blocks on a full pipe buffer.
    """

    def __init__(self, port: int, log_path: Path, process: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.process = process

    @property
    def token(self) -> str:
        """The write token the server uses: configured, or the one it wrote into the data directory."""
        return os.environ.get("INLOOP_API_TOKEN") or (
            Path(os.environ["INLOOP_DATA_DIR"]) / "api-token").read_text().strip()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> str:
        """SIGTERM (uvicorn's graceful stop), wait, and return everything the server printed."""
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def real_api(tmp_path: Path) -> Iterator[Callable[..., RealApi]]:
    """``real_api(ready=("models:credit",))`` starts ``inloop serve`` with this test's environment on a
    free port and returns a :class:`RealApi` once ``GET /ready`` answers (and names each component in
    ``ready`` as ready); every server started is stopped after the test."""
    import sys
    import time

    import httpx

    started: list[RealApi] = []

    def start(*, ready: tuple[str, ...] = (), wait_s: float = 120.0) -> RealApi:
        port = _free_port()
        log_path = tmp_path / f"inloop-serve-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen([str(Path(sys.executable).with_name("inloop")), "serve", "--port", str(port)],
                                       env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
        server = RealApi(port, log_path, process)
        started.append(server)
        deadline = time.monotonic() + wait_s  # a hang guard, not a speed judgement
        last = "no answer yet"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"inloop serve exited with {process.returncode}:\n{server.stop()[-3000:]}")
            try:
                # /ready answers 503 while nothing can serve (e.g. no model yet): it answered, so the app is up.
                components = httpx.get(f"{server.base}/ready", timeout=2).json()["components"]
                last = str(components)
                if all(components.get(name, {}).get("ready") for name in ready):
                    return server
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.3)
        pytest.fail(f"inloop serve was not ready ({', '.join(ready) or '/ready'}) within {wait_s:.0f} s; "
                    f"last /ready: {last}\n{server.stop()[-3000:]}")

    yield start
    for server in started:
        server.stop()
