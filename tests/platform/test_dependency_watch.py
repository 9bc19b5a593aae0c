"""The dependency watch: installed packages and upstream schemas vs the last known, an alert in plain words."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from inloop.alerts import list_alerts
from inloop.dagster_resources import DATA_DIRECTORY, DataDirectoryResource, platform_resources
from inloop.dependencies import check_dependencies, diff_snapshots, snapshot, snapshot_path
from inloop.orchestration import dependency_sensor


def test_diff_says_each_change_in_plain_words() -> None:
    old = {"packages": {"numpy": "1.26.4", "lightgbm": "4.5.0", "gone": "1.0"},
           "sources": {"history": {"income": "float64", "permit": "category", "dropped": "int64"}, "old": {"a": "int64"}}}
    new = {"packages": {"numpy": "2.1.0", "lightgbm": "4.5.0", "fresh": "0.3"},
           "sources": {"history": {"income": "object", "permit": "category", "added": "bool"}, "batch": {"b": "int64"}}}
    assert diff_snapshots(old, new) == [
        "package fresh 0.3 was installed",
        "package gone 1.0 was removed",
        "package numpy changed from 1.26.4 to 2.1.0",
        "source batch is new (1 columns)",
        "source history: column income changed type from float64 to object",
        "source history: column dropped (int64) is gone",
        "source history: new column added (bool)",
        "source old is no longer read",
    ]
    assert diff_snapshots(new, new) == []


@pytest.mark.rubric("monitor-1")
def test_the_scheduled_sensor_records_then_alerts_once_per_change() -> None:
    real = snapshot("credit")
    assert "numpy" in real["packages"] and real["sources"]["loan_history"]["income_monthly_eur"] == "float64"
    sensor = dependency_sensor("credit")
    with dg.instance_for_test() as instance:
        first = sensor(dg.build_sensor_context(instance=instance, resources=platform_resources()))
        assert "first snapshot" in first.skip_message and not list_alerts(domain="credit")
        # Pretend the last check saw an older numpy and the history's income as text.
        stored = json.loads(snapshot_path("credit").read_text())
        stored["packages"]["numpy"] = "1.0.0"
        stored["sources"]["loan_history"]["income_monthly_eur"] = "object"
        snapshot_path("credit").write_text(json.dumps(stored))
        second = sensor(dg.build_sensor_context(instance=instance, resources=platform_resources()))
        assert "2 dependency change(s)" in second.skip_message
        (alert,) = list_alerts(domain="credit")
        assert alert.source == "dependencies" and alert.severity == "WARN"
        assert f"package numpy changed from 1.0.0 to {real['packages']['numpy']}" in alert.message
        assert "source loan_history: column income_monthly_eur changed type from object to float64" in alert.message
        # nothing changed since: no new alert
        third = sensor(dg.build_sensor_context(instance=instance, resources=platform_resources()))
        assert "no dependency changes" in third.skip_message
        assert len(list_alerts(domain="credit")) == 1 and list_alerts(domain="credit")[0].occurrences == 1


def test_every_domain_location_has_the_dependency_watch() -> None:
    from inloop.domains import discover_domains

    for name, domain in discover_domains().items():
        sensors = {s.name for s in domain.definitions().sensors or []}
        assert f"{name}_dependency_watch" in sensors, name
    report = check_dependencies("recommender")
    assert report.first_run and snapshot_path("recommender").is_file()


def test_the_sensor_keeps_its_snapshot_in_the_data_directory_it_is_given(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The data directory is a resource: a sensor given another one writes there, not where the settings point."""
    elsewhere = tmp_path / "other-data-dir"
    resources = {**platform_resources(), DATA_DIRECTORY: DataDirectoryResource(path=str(elsewhere))}
    with dg.instance_for_test() as instance:
        result = dependency_sensor("credit")(dg.build_sensor_context(instance=instance, resources=resources))
    assert "first snapshot" in result.skip_message
    assert json.loads(snapshot_path("credit", elsewhere).read_text())["packages"]["numpy"]
    assert not snapshot_path("credit").exists()  # the settings' data directory was not touched
