"""Credit fixtures: one trained champion per test session, in a data directory of its own.

Training, MLflow's first start (it creates its tables) and the promotion take several seconds,
so the tests that need a champion share one; tests that count alerts or check results keep the
fresh per-test data directory from the root conftest. A test that runs the world (a clock, labels,
decisions it counts) takes ``own_champion_env``: its own copy of the data directory as training left it,
so it neither sees what other tests logged nor leaves a world clock behind for them.
"""

from __future__ import annotations

import os
import shutil
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
    _snapshot(data_dir, data_dir.parent / f"{data_dir.name}-as-trained")
    yield data_dir, result
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _snapshot(source: Path, target: Path) -> None:
    from inloop import db

    db.dispose_engines()  # nothing half-written in the platform database while it is copied
    shutil.copytree(source, target)


@pytest.fixture
def own_champion_env(credit_world: tuple[Path, dg.ExecuteInProcessResult], tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shared world's data directory as training left it (champion, MLflow, platform DB),
    for this test alone. The champion's MLflow artifacts stay where training wrote them (read only)."""
    data_dir, _ = credit_world
    own = tmp_path / "credit-world"
    shutil.copytree(data_dir.parent / f"{data_dir.name}-as-trained", own)
    monkeypatch.setenv("INLOOP_DATA_DIR", str(own))
    monkeypatch.setenv("DAGSTER_HOME", str(own / "dagster"))
    _point_settings_at(own)
    return own


@pytest.fixture
def champion_env(credit_world: tuple[Path, dg.ExecuteInProcessResult], monkeypatch: pytest.MonkeyPatch) -> Path:
    """Use the shared world's data directory (champion, MLflow, platform DB) in this test."""
    data_dir, _ = credit_world
    monkeypatch.setenv("INLOOP_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster"))
    _point_settings_at(data_dir)
    return data_dir
