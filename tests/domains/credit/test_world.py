"""#17 items 1 + 5 for credit: the simulated world sends applications to a real API; an incident injected
into the world is caught by the platform's own sensor, check and alert routing, and recovers after stop."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from inloop import db
from inloop.db.models import Alert, CheckResult, Prediction
from inloop.world import (
    SIMULATED_EPOCH,
    SIMULATED_REQUEST_PREFIX,
    HttpWorldApi,
    SimulatedDay,
    WorldError,
    active_incidents,
    incident_times,
    start_incident,
    stop_incident,
    world_clock,
)


def _day(index: int) -> SimulatedDay:
    return SimulatedDay(index, SIMULATED_EPOCH + dt.timedelta(days=index))


def test_incidents_change_only_the_world_and_refuse_what_cannot_be_done(inloop_env: Path) -> None:
    from credit.world import applications_for_day

    normal = applications_for_day(_day(3), size=200)
    assert normal.equals(applications_for_day(_day(3), size=200))  # seeded: the same day, the same applicants
    start_incident("credit:unit-change")
    assert active_incidents("credit") == {"unit-change"}
    broken = applications_for_day(_day(3), size=200, active=active_incidents("credit"))
    own = normal["channel"].astype(str).isin(["web", "app"])
    assert (
        broken.loc[own, "application_duration_seconds"]
        == normal.loc[own, "application_duration_seconds"] * 1000
    ).all()
    assert broken.loc[~own, "application_duration_seconds"].equals(
        normal.loc[~own, "application_duration_seconds"]
    )
    with pytest.raises(WorldError, match="already running"):
        start_incident("credit:unit-change")
    with pytest.raises(WorldError, match="known: credit:population-shift, credit:unit-change"):
        start_incident("credit:meteor")
    with pytest.raises(WorldError, match="not DOMAIN:KIND"):
        start_incident("unit-change")
    stop_incident("credit:unit-change")
    assert active_incidents("credit") == set()
    with pytest.raises(WorldError, match="not running"):
        stop_incident("credit:unit-change")
    shifted = applications_for_day(_day(3), size=200, active={"population-shift"})
    assert shifted["income_monthly_eur"].median() < 0.7 * normal["income_monthly_eur"].median()


def _wait_for_log(count: int, timeout_s: float = 120.0) -> None:
    """The API writes the prediction log in batches, off the request path: wait until it has ``count``."""
    deadline = time.monotonic() + timeout_s  # a hang guard, not a speed judgement
    while time.monotonic() < deadline:
        with db.read_session() as sess:
            n = sess.scalar(
                sa.select(sa.func.count()).select_from(Prediction).where(Prediction.domain == "credit")
            )
        if n >= count:
            return
        time.sleep(0.3)
    pytest.fail(f"the prediction log holds {n} credit entries, expected {count}")


@pytest.mark.slow
def test_unit_change_in_the_world_is_caught_by_the_running_checks_and_recovers(  # type: ignore[no-untyped-def]
    own_champion_env: Path, real_api
) -> None:
    from credit.defs.monitoring import (
        credit_served_decisions_sensor,
        live_applications,
        live_inputs_match_schema,
    )
    from credit.world import arrive
    from inloop.cli import app
    from inloop.orchestration import alert_router_sensor

    with db.read_session() as sess:
        logged_before = sess.scalar(
            sa.select(sa.func.count()).select_from(Prediction).where(Prediction.domain == "credit")
        )
        last_id = sess.scalar(sa.select(sa.func.max(Prediction.id))) or 0
    server = real_api(ready=("models:credit",))
    api = HttpWorldApi(server.base, server.token)
    cursor = str(last_id)
    router = alert_router_sensor("credit")

    def simulated_day(index: int) -> CheckResult:
        """A day of the world, then what the running platform does by itself: sensor, job, check, routing."""
        nonlocal cursor, logged_before
        sent = arrive(_day(index), api, active_incidents("credit"))
        logged_before += sent
        _wait_for_log(logged_before)
        with dg.instance_for_test() as instance:
            context = dg.build_sensor_context(cursor=cursor, instance=instance)
            request = credit_served_decisions_sensor(context)
            assert isinstance(request, dg.RunRequest), request
            cursor = context.cursor or ""
            result = dg.materialize(
                [live_applications, live_inputs_match_schema],
                instance=instance,
                run_config=request.run_config,
                raise_on_error=False,
            )
            assert result.success
            router(dg.build_sensor_context(instance=instance))
        with db.read_session() as sess:
            return sess.scalars(
                sa.select(CheckResult)
                .where(CheckResult.concern_id == "live-input-schema")
                .order_by(CheckResult.id.desc())
                .limit(1)
            ).one()

    normal = simulated_day(0)
    assert normal.passed, normal.details
    assert normal.details["rows"] >= 100

    injected = dt.datetime.now(dt.UTC)
    start_incident("credit:unit-change")
    broken = simulated_day(1)
    assert not broken.passed, broken.details
    with db.read_session() as sess:
        alert = sess.scalars(
            # The session-shared world also holds other tests' alerts (the demos'): only the one seen now.
            sa.select(Alert).where(Alert.cause_key == "check:credit:live-input-schema", Alert.last_seen_at >= injected)
        ).one()
    assert alert.status == "open" and alert.routed_at is not None  # routed by the platform's router sensor
    assert alert.evidence["check_result_id"] == broken.id

    stop_incident("credit:unit-change")
    again = simulated_day(2)
    assert again.passed, again.details
    with db.read_session() as sess:
        assert sess.get(Alert, alert.id).status != "open"  # type: ignore[union-attr]
        simulated = sess.scalar(
            sa.select(sa.func.count())
            .select_from(Prediction)
            .where(Prediction.client_request_id.like(f"{SIMULATED_REQUEST_PREFIX}%"))
        )
    assert simulated == 3 * 150  # every simulated decision is marked as such in the log

    (times,) = incident_times()
    assert times.first_failing_check_at is not None and times.alerted_at is not None
    assert times.started_at <= times.first_failing_check_at <= times.alerted_at
    assert times.alert_id == alert.id
    assert times.stopped_at is not None and times.recovered_at is not None
    assert times.recovered_at >= times.stopped_at
    spans = times.spans(world_clock())
    detect_wall, detect_sim = spans["detect"]  # type: ignore[misc]
    assert detect_sim == pytest.approx(detect_wall * world_clock().speed)
    listed = CliRunner().invoke(app, ["incident", "list"])
    assert listed.exit_code == 0 and "incident: credit:unit-change" in listed.output
    assert "to detect: -" not in listed.output and "to recover: -" not in listed.output
    print(listed.output)  # the figures for the report
