"""One settings object: everything derives from the data directory; nothing happens at import time."""

from __future__ import annotations

import os
import platform
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from inloop.settings import Settings, get_settings, reset_settings

REPO = Path(__file__).resolve().parents[2]


def test_every_default_derives_from_the_data_dir(inloop_env: Path) -> None:
    s = get_settings()
    assert s.data_dir == inloop_env
    assert s.platform_db_url == f"sqlite:///{inloop_env / 'inloop.db'}"
    assert s.mlflow_uri == f"sqlite:///{inloop_env / 'mlflow.db'}"
    assert s.mlflow_artifacts == str(inloop_env / "mlartifacts")
    assert s.dagster_home_dir == inloop_env / "dagster"


def test_urls_are_overridable_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INLOOP_DATABASE_URL", "postgresql+psycopg://u@db/inloop")
    monkeypatch.setenv("INLOOP_MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("INLOOP_MLFLOW_ARTIFACT_ROOT", "s3://bucket/mlflow")
    reset_settings()
    s = get_settings()
    assert (s.platform_db_url, s.mlflow_uri, s.mlflow_artifacts) == (
        "postgresql+psycopg://u@db/inloop", "http://mlflow:5000", "s3://bucket/mlflow")


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INLOOP_DATA_DIR")
    (tmp_path / ".env").write_text("INLOOP_DATA_DIR=from-dotenv\nINLOOP_API_PORT=8123\n")
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.data_dir == tmp_path / "from-dotenv" and s.api_port == 8123


def test_bad_values_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INLOOP_API_PORT", "99999")
    with pytest.raises(ValidationError, match="api_port"):
        Settings()


def test_production_refuses_a_missing_or_placeholder_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INLOOP_ENVIRONMENT", "production")
    for token in ("", "changeme"):
        monkeypatch.setenv("INLOOP_API_TOKEN", token)
        with pytest.raises(ValidationError, match="INLOOP_API_TOKEN must be set"):
            Settings()


def test_generated_token_is_private_and_stable(inloop_env: Path) -> None:
    token = get_settings().resolved_api_token()
    path = inloop_env / "api-token"
    assert len(token) >= 32 and path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reset_settings()
    assert get_settings().resolved_api_token() == token


def test_prepare_writes_dagster_yaml_with_telemetry_off(inloop_env: Path) -> None:
    get_settings().prepare()
    text = (inloop_env / "dagster" / "dagster.yaml").read_text()
    assert "telemetry:\n  enabled: false" in text
    env = get_settings().child_environment()
    assert env["GX_ANALYTICS_ENABLED"] == "false" and env["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    assert env["DAGSTER_HOME"] == str(inloop_env / "dagster")


def test_importing_the_platform_touches_no_disk(tmp_path: Path) -> None:
    data_dir = tmp_path / "untouched"
    code = ("import inloop.settings, inloop.db, inloop.cards, inloop.checks, inloop.alerts, "
            "inloop.predictions, inloop.tracking, inloop.validation, inloop.orchestration, inloop.cli")
    env = {**os.environ, "INLOOP_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
    assert not data_dir.exists()


def test_stdlib_platform_is_not_shadowed_from_the_repo_root() -> None:
    """`platform/` is a plain folder: `import platform` must still be the standard library."""
    assert not (REPO / "platform" / "__init__.py").exists()
    out = subprocess.run([sys.executable, "-c", "import platform; print(platform.system(), platform.__file__)"],
                         cwd=REPO, check=True, capture_output=True, text=True).stdout
    system, path = out.split()
    assert system == platform.system()
    assert "site-packages" not in path and not path.startswith(str(REPO))
