"""Shared fixtures: every test gets its own data directory and platform database."""

from __future__ import annotations

import os
from collections.abc import Iterator
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
                "INLOOP_DAGSTER_HOME", "INLOOP_API_TOKEN", "INLOOP_ALERT_WEBHOOK_URL"):
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
