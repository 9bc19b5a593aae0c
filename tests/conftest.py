"""Shared fixtures: every test gets its own data directory and platform database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


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
