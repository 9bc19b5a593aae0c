"""Credit fixtures: one trained champion per test session, in a data directory of its own.

Training, MLflow's first start (it creates its tables) and the promotion take several seconds,
so the tests that need a champion share one; tests that count alerts or check results keep the
fresh per-test data directory from the root conftest.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest


def _point_settings_at(data_dir: Path) -> None:
    from inloop import db
    from inloop.settings import reset_settings

    os.environ["INLOOP_DATA_DIR"] = str(data_dir)
    os.environ["INLOOP_ENVIRONMENT"] = "test"
    os.environ["DAGSTER_HOME"] = str(data_dir / "dagster")
    reset_settings()
    db.dispose_engines()


@pytest.fixture(scope="session")
def credit_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dg.ExecuteInProcessResult]]:
    """A data directory holding a promoted champion, and the training run that made it."""
    from credit.definitions import training_assets
    from credit.defs.applications import applications_match_schema
    from credit.defs.training import gate_checks

    saved = {k: os.environ.get(k) for k in ("INLOOP_DATA_DIR", "INLOOP_ENVIRONMENT", "DAGSTER_HOME")}
    data_dir = tmp_path_factory.mktemp("credit-world")
    _point_settings_at(data_dir)
    result = dg.materialize([*training_assets, applications_match_schema, *gate_checks], raise_on_error=False)
    assert result.success, "the credit training pipeline failed"
    yield data_dir, result
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def champion_env(credit_world: tuple[Path, dg.ExecuteInProcessResult], monkeypatch: pytest.MonkeyPatch) -> Path:
    """Use the shared world's data directory (champion, MLflow, platform DB) in this test."""
    data_dir, _ = credit_world
    monkeypatch.setenv("INLOOP_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster"))
    _point_settings_at(data_dir)
    return data_dir
