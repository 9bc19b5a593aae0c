"""Routes receive the platform's resources as FastAPI dependencies, built once from the settings when the app starts."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from inloop.alerts import raise_alert
from inloop.api.app import create_app
from inloop.api.resources import platform_database
from inloop.resources import DataDirectory, ModelTracking, PlatformDatabase
from inloop.settings import get_settings


def test_the_app_builds_its_resources_from_the_settings(client: TestClient) -> None:
    settings = get_settings()
    state = client.app.state  # type: ignore[attr-defined]
    assert state.data_directory == DataDirectory(settings.data_dir)
    assert state.platform_database == PlatformDatabase(settings.platform_db_url)
    assert state.model_tracking == ModelTracking(settings.mlflow_uri, settings.mlflow_uri)


def test_a_route_reads_the_database_it_is_given(tmp_path: Path) -> None:
    other = PlatformDatabase(f"sqlite:///{tmp_path / 'other.db'}")
    raise_alert(domain="parcels", cause_key="in-the-settings-db", title="settings db", message="m")
    raise_alert(domain="parcels", cause_key="in-the-other-db", title="other db", message="m", db_url=other.url)
    app = create_app()
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {client.app.state.api_token}"
        assert [a["title"] for a in client.get("/alerts").json()] == ["settings db"]
        app.dependency_overrides[platform_database] = lambda: other
        assert [a["title"] for a in client.get("/alerts").json()] == ["other db"]
        assert client.get("/ready").json()["components"]["database"]["ready"] is True
        # A "database" that is a folder cannot be opened: /ready judges the database the route was given.
        app.dependency_overrides[platform_database] = lambda: PlatformDatabase(f"sqlite:///{tmp_path}")
        answer = client.get("/ready")
        assert answer.json()["components"]["database"]["ready"] is False and answer.status_code == 503
