"""The platform's resources: read from the settings when a run starts, or given; swapped in a real materialisation."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from inloop import db
from inloop.dagster_resources import (
    DATA_DIRECTORY,
    MODEL_TRACKING,
    PLATFORM_DATABASE,
    DataDirectoryResource,
    PlatformDatabaseResource,
    platform_resources,
)
from inloop.db.models import Alert
from inloop.orchestration import domain_definitions
from inloop.resources import DataDirectory, ModelTracking, PlatformDatabase
from inloop.settings import get_settings, reset_settings


@dg.asset
def where_things_go(data_directory: DataDirectoryResource, platform_database: PlatformDatabaseResource) -> dict[str, str]:
    """Writes a file into the data directory and answers where the database is."""
    directory = data_directory.get()
    directory.domain_dir("parcels").mkdir(parents=True, exist_ok=True)
    (directory.domain_dir("parcels") / "written.txt").write_text("here")
    with platform_database.get().session() as sess:
        sess.add(Alert(domain="parcels", cause_key="k", source="test", title="t", message="m", severity="WARN"))
    return {"root": str(directory.root), "db": platform_database.get().url}


def test_every_domain_definitions_bind_the_platform_resources() -> None:
    defs = domain_definitions("parcels", assets=[where_things_go])
    assert set(defs.resources or {}) == {DATA_DIRECTORY, PLATFORM_DATABASE, MODEL_TRACKING}
    dg.Definitions.validate_loadable(defs)


def test_unset_resources_follow_the_settings_of_the_run_not_of_the_import(
        inloop_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bound = platform_resources()  # built once, like a code location's Definitions
    first = dg.materialize([where_things_go], resources=bound).output_for_node("where_things_go")
    assert first == {"root": str(inloop_env), "db": get_settings().platform_db_url}
    monkeypatch.setenv("INLOOP_DATA_DIR", str(tmp_path / "later"))
    reset_settings()
    second = dg.materialize([where_things_go], resources=bound).output_for_node("where_things_go")
    assert second["root"] == str(tmp_path / "later") and (tmp_path / "later" / "domains" / "parcels").is_dir()


def test_a_materialisation_uses_the_data_directory_and_database_it_is_given(inloop_env: Path, tmp_path: Path) -> None:
    other_db = f"sqlite:///{tmp_path / 'other.db'}"
    swapped = {**platform_resources(), DATA_DIRECTORY: DataDirectoryResource(path=str(tmp_path / "elsewhere")),
               PLATFORM_DATABASE: PlatformDatabaseResource(url=other_db)}
    result = dg.materialize([where_things_go], resources=swapped)
    assert result.output_for_node("where_things_go") == {"root": str(tmp_path / "elsewhere"), "db": other_db}
    assert (tmp_path / "elsewhere" / "domains" / "parcels" / "written.txt").read_text() == "here"
    assert not (inloop_env / "domains" / "parcels").exists()
    with db.read_session(other_db) as sess:
        assert [a.domain for a in sess.query(Alert)] == ["parcels"]
    with db.read_session() as sess:  # the settings' database got nothing
        assert sess.query(Alert).count() == 0


def test_the_plain_values_are_what_the_settings_say() -> None:
    settings = get_settings()
    assert DataDirectory.from_settings(settings).domain_dir("credit") == settings.domain_dir("credit")
    assert DataDirectory.from_settings(settings).reports_dir == settings.reports_dir
    assert PlatformDatabase.from_settings(settings).url == settings.platform_db_url
    assert ModelTracking.from_settings(settings) == ModelTracking(settings.mlflow_uri, settings.mlflow_uri)


@pytest.mark.slow  # MLflow creates its tables in the other store (about 10 s; 30 s under load)
def test_model_tracking_on_other_uris_talks_to_that_store(inloop_env: Path, tmp_path: Path) -> None:
    other = ModelTracking(f"sqlite:///{tmp_path / 'other-mlflow.db'}", f"sqlite:///{tmp_path / 'other-mlflow.db'}")
    client = other.client()
    client.create_experiment("parcels-elsewhere", artifact_location=str(tmp_path / "artifacts"))
    assert client.get_experiment_by_name("parcels-elsewhere") is not None
    assert other.champion_version("no-such-model") is None
    assert not (inloop_env / "mlflow.db").exists() and os.path.getsize(tmp_path / "other-mlflow.db") > 0


@dg.asset
def breaks() -> None:
    raise RuntimeError("the parcel scanner is on fire")


def test_the_run_failure_sensor_alerts_in_the_database_it_is_given(tmp_path: Path) -> None:
    other_db = f"sqlite:///{tmp_path / 'other.db'}"
    sensor = domain_definitions("parcels", assets=[breaks]).get_sensor_def("parcels_run_failure_alerts")
    with dg.instance_for_test() as instance:
        result = dg.materialize([breaks], instance=instance, raise_on_error=False)
        [failure] = [e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE"]
        context = dg.build_run_status_sensor_context(
            sensor_name=sensor.name, dagster_event=failure, dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
            resources={**platform_resources(), PLATFORM_DATABASE: PlatformDatabaseResource(url=other_db)})
        sensor(context.for_run_failure())  # type: ignore[operator]
    with db.read_session(other_db) as sess:
        assert [(a.domain, a.source) for a in sess.query(Alert)] == [("parcels", "run")]
    with db.read_session() as sess:
        assert sess.query(Alert).count() == 0
