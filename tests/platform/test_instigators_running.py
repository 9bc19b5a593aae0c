"""#17 item 4: every sensor and schedule a concern relies on runs by default, and doctor names a stopped one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from inloop.cli import app
from inloop.doctor import declared_instigators, stopped_instigators
from inloop.domains import discover_domains
from inloop.settings import reset_settings


@pytest.mark.parametrize("domain", sorted(discover_domains()))
def test_every_sensor_and_schedule_of_each_domain_runs_by_default(domain: str) -> None:
    """Under ``dagster dev`` nothing is started by hand: a STOPPED default leaves a concern unchecked."""
    defs = discover_domains()[domain].definitions()
    sensors, schedules = list(defs.sensors or []), list(defs.schedules or [])
    assert sensors, f"{domain} declares no sensor (its alert router at least)"
    not_running = [s.name for s in sensors if s.default_status != dg.DefaultSensorStatus.RUNNING]
    not_running += [s.name for s in schedules if s.default_status != dg.DefaultScheduleStatus.RUNNING]
    assert not_running == [], f"{domain}: stopped by default: {not_running}"
    assert all(i.running_by_default for i in declared_instigators(domain, defs))
    assert len(declared_instigators(domain, defs)) == len(sensors) + len(schedules)


@pytest.mark.slow
def test_doctor_reports_a_concern_sensor_stopped_in_the_dagster_instance(
    inloop_env: Path, tmp_path: Path
) -> None:
    """A real instance in a tmp DAGSTER_HOME; the sensor is stopped with Dagster's own CLI, as a person would."""
    home = inloop_env / "dagster"
    home.mkdir(parents=True)
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: credit.definitions\n      location_name: credit\n"
    )
    credit = declared_instigators("credit", discover_domains()["credit"].definitions())
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert stopped_instigators(instance, credit) == []  # nothing stored: the code's RUNNING defaults hold

    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "sensor", "stop", "credit_inbox_sensor", "-w", str(workspace)],
        env={**os.environ, "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    with dg.DagsterInstance.from_config(str(home)) as instance:
        stopped = stopped_instigators(instance, credit)
    assert [(i.location, i.kind, i.name) for i in stopped] == [("credit", "sensor", "credit_inbox_sensor")]

    reset_settings()
    result = CliRunner().invoke(app, ["doctor"])
    assert "STOPPED sensor credit/credit_inbox_sensor" in result.output, result.output
    assert "the sensor credit_inbox_sensor of credit is stopped" in result.output
    assert result.exit_code == 1
    # The other locations' sensors were never stopped: doctor names only the one.
    assert result.output.count("STOPPED ") == 1
