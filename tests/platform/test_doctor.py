"""``inloop doctor``: a fresh clone is "not initialised yet" (exit 0); only what is broken exits 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from inloop.cli import app
from inloop.settings import reset_settings


def test_doctor_on_a_fresh_clone_says_make_up_initialises_and_exits_0(tmp_path: Path) -> None:
    """A newcomer's first check, through the installed ``inloop`` command in its own process."""
    fresh = tmp_path / "never-started"
    env = {**os.environ, "INLOOP_DATA_DIR": str(fresh), "DAGSTER_HOME": str(fresh / "dagster")}
    inloop = Path(sys.executable).with_name("inloop")
    done = subprocess.run([str(inloop), "doctor"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "platform database" in done.stdout and "not initialised yet: `make up` does it" in done.stdout
    assert "Not initialised yet (platform database, MLflow tracking store): `make up` does it." in done.stdout
    assert "To fix" not in done.stdout and "inloop db upgrade" not in done.stdout
    # Doctor only looks: it neither creates the data directory nor an empty database in it.
    assert not fresh.exists()


def _doctor() -> tuple[int, str]:
    reset_settings()
    result = CliRunner().invoke(app, ["doctor"])
    return result.exit_code, result.output


def _stamp(db_file: Path, revision: str) -> None:
    eng = sa.create_engine(f"sqlite:///{db_file}")
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.execute(sa.text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})
    eng.dispose()


def test_doctor_says_up_to_date_after_the_schema_is_created(inloop_env: Path) -> None:
    from inloop import db

    db.upgrade()
    code, out = _doctor()
    assert "(up to date)" in out
    # The tracking store is still missing, which is not a failure either.
    assert code == 0, out
    assert "Not initialised yet (MLflow tracking store)" in out


def test_doctor_fails_for_a_database_written_by_newer_code(inloop_env: Path) -> None:
    inloop_env.mkdir(parents=True)
    _stamp(inloop_env / "inloop.db", "ffff_from_the_future")
    code, out = _doctor()
    assert code == 1, out
    assert "at revision ffff_from_the_future, written by newer code" in out


def test_doctor_fails_for_an_unreachable_database(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 1 on loopback refuses at once: a configured server that is down is broken, not "not yet".
    monkeypatch.setenv("INLOOP_DATABASE_URL", "postgresql://inloop@127.0.0.1:1/inloop?connect_timeout=2")
    code, out = _doctor()
    assert code == 1, out
    assert "UNREACHABLE" in out and "check INLOOP_DATABASE_URL" in out


@pytest.mark.parametrize(("auto_migrate", "expected_code"), [("true", 0), ("false", 1)])
def test_a_schema_behind_the_code_is_broken_only_when_nothing_will_upgrade_it(
    inloop_env: Path, monkeypatch: pytest.MonkeyPatch, auto_migrate: str, expected_code: int
) -> None:
    from inloop import db

    db.upgrade(revision="0001")
    db.dispose_engines()
    monkeypatch.setenv("INLOOP_AUTO_MIGRATE", auto_migrate)
    code, out = _doctor()
    assert code == expected_code, out
    assert f"at 0001, latest {db.head_revision()}" in out
    assert ("INLOOP_AUTO_MIGRATE is off: run `inloop db upgrade`" in out) == (auto_migrate == "false")
