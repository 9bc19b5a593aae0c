"""Concern checks in Dagster: severity and blocking from the card, metric history, grouped alerts, routing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from inloop import db
from inloop.alerts import list_alerts, raise_alert, resolve_alerts, route_pending_alerts
from inloop.cards import load_card
from inloop.checks import Measurement, concern_check, latest_results, metric_history
from inloop.db.models import Alert, CheckResult
from inloop.orchestration import domain_definitions

CARD = load_card(Path(__file__).with_name("cards") / "minimal.yaml")


def _pipeline(unsorted: list[int]):
    @dg.asset(name="parcels_at_2200")
    def parcels() -> list[int]:
        return unsorted

    @dg.asset(deps=[parcels])
    def van_manifest() -> int:
        return 1

    check = concern_check(CARD, "no-parcel-left-behind", asset=parcels,
                          measure=lambda rows: Measurement(float(sum(rows)), f"{sum(rows)} unsorted parcels"))
    return parcels, van_manifest, check


def _materialize(unsorted: list[int], instance: dg.DagsterInstance) -> dg.ExecuteInJobResult:
    return dg.materialize(list(_pipeline(unsorted)), instance=instance, raise_on_error=False)


def test_definitions_with_a_concern_check_load() -> None:
    defs = domain_definitions("parcels", assets=_pipeline([0])[:2], asset_checks=[_pipeline([0])[2]])
    dg.Definitions.validate_loadable(defs)
    sensors = {s.name for s in defs.sensors}
    assert sensors == {"parcels_alert_router", "parcels_run_failure_alerts", "parcels_dependency_watch"}


def test_a_passing_check_records_history_and_raises_nothing() -> None:
    with dg.instance_for_test() as instance:
        result = _materialize([0, 0], instance)
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.check_name == "no_unsorted_parcels"
    (row,) = latest_results("parcels")
    assert (row.passed, row.metric_value, row.threshold_op) == (True, 0.0, "==")
    assert list_alerts() == []


def test_a_failed_check_is_history_plus_one_grouped_alert_and_blocks_downstream() -> None:
    with dg.instance_for_test() as instance:
        first = _materialize([2, 1], instance)
        second = _materialize([4], instance)
    for result in (first, second):
        (evaluation,) = result.get_asset_check_evaluations()
        assert not evaluation.passed
        assert evaluation.severity == dg.AssetCheckSeverity.ERROR
        materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert materialized == {"parcels_at_2200"}, "the blocking check must stop van_manifest"
    history = metric_history("parcels", "no-parcel-left-behind")
    assert [h.metric_value for h in history] == [3.0, 4.0]
    (alert,) = list_alerts()
    assert alert.occurrences == 2 and alert.concern_id == "no-parcel-left-behind"
    assert "unsorted_overnight = 4" in alert.message
    assert alert.evidence["check_result_id"] == history[-1].id


def test_the_alert_resolves_when_the_check_holds_again() -> None:
    with dg.instance_for_test() as instance:
        _materialize([1], instance)
        _materialize([0], instance)
    (alert,) = list_alerts()
    assert alert.status == "resolved"
    with db.read_session() as sess:
        assert sess.scalar(sa.select(Alert.resolution)).startswith("check no_unsorted_parcels passed again")


def test_a_nan_measurement_fails_and_is_stored_as_missing() -> None:
    with dg.instance_for_test() as instance:
        @dg.asset(name="parcels_at_2200")
        def parcels() -> list[int]:
            return []

        check = concern_check(CARD, "no-parcel-left-behind", asset=parcels,
                              measure=lambda rows: Measurement(float("nan"), "no scans arrived"))
        result = dg.materialize([parcels, check], instance=instance, raise_on_error=False)
    assert not result.get_asset_check_evaluations()[0].passed
    with db.read_session() as sess:
        assert sess.scalar(sa.select(CheckResult.metric_value)) is None


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[_Hook]]]:
    """A real Slack-compatible webhook receiver on loopback."""
    _Hook.received, _Hook.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Hook
    server.shutdown()


def test_routing_delivers_once_then_only_when_a_repeat_count_crosses_a_power_of_ten(webhook) -> None:
    url, hook = webhook
    for _ in range(3):
        raise_alert(domain="parcels", cause_key="c1", title="t", message="m", routes=("console", "log", "webhook"))
    first = route_pending_alerts("parcels", webhook_url=url)
    assert {d.route for d in first} == {"console", "log", "webhook"} and all(d.ok for d in first)
    assert len(hook.received) == 1 and "seen 3x" in hook.received[0]["text"]
    for _ in range(5):  # 8 occurrences: no new power of ten, nothing re-announced
        raise_alert(domain="parcels", cause_key="c1", title="t", message="m", routes=("console", "log", "webhook"))
    assert route_pending_alerts("parcels", webhook_url=url) == []
    for _ in range(2):  # 10 occurrences: announced again
        raise_alert(domain="parcels", cause_key="c1", title="t", message="m", routes=("console", "log", "webhook"))
    assert len(route_pending_alerts("parcels", webhook_url=url)) == 3
    assert len(hook.received) == 2 and hook.received[1]["alert_id"] == hook.received[0]["alert_id"]


def test_a_failing_webhook_keeps_the_alert_pending_for_the_next_tick(webhook) -> None:
    url, hook = webhook
    hook.status = 500
    raise_alert(domain="parcels", cause_key="c2", title="t", message="m", routes=("webhook",))
    assert [d.ok for d in route_pending_alerts("parcels", webhook_url=url)] == [False]
    hook.status = 200
    assert [d.ok for d in route_pending_alerts("parcels", webhook_url=url)] == [True]
    assert route_pending_alerts("parcels", webhook_url=url) == []


def test_an_alert_resolved_before_the_router_ran_is_still_announced_once(webhook) -> None:
    """A check that fails on one batch and passes on the next opens and resolves its alert between two
    router ticks: the alert is announced once, saying it already resolved and why, then never again."""
    url, hook = webhook
    raise_alert(domain="parcels", cause_key="flap", title="parcels left behind", message="3 unsorted",
                routes=("console", "webhook"))
    assert resolve_alerts("flap", "check passed again on batch 7") == 1
    first = route_pending_alerts("parcels", webhook_url=url)
    assert [(d.route, d.ok) for d in first] == [("console", True), ("webhook", True)]
    assert len(hook.received) == 1
    text = hook.received[0]["text"]
    assert "parcels left behind" in text and "already resolved" in text and "check passed again on batch 7" in text
    assert route_pending_alerts("parcels", webhook_url=url) == []  # announced once only
    with db.read_session() as sess:
        row = sess.scalars(sa.select(Alert).where(Alert.cause_key == "flap")).one()
    assert row.status == "resolved" and row.routed_at is not None and row.routed_occurrences == 1
    # An alert announced while open and resolved later is not announced again.
    raise_alert(domain="parcels", cause_key="steady", title="t", message="m", routes=("webhook",))
    assert len(route_pending_alerts("parcels", webhook_url=url)) == 1
    resolve_alerts("steady", "fixed")
    assert route_pending_alerts("parcels", webhook_url=url) == []
    assert len(hook.received) == 2


def test_the_alert_router_sensor_routes_its_own_domain_only() -> None:
    raise_alert(domain="parcels", cause_key="p", title="t", message="m")
    raise_alert(domain="other", cause_key="o", title="t", message="m")
    defs = domain_definitions("parcels")
    sensor = defs.get_sensor_def("parcels_alert_router")
    with dg.instance_for_test() as instance:
        result = sensor(dg.build_sensor_context(instance=instance))
    assert "routed 2 deliveries" in str(result.skip_message)
    with db.read_session() as sess:
        routed = dict(sess.execute(sa.select(Alert.domain, Alert.routed_occurrences)).all())
    assert routed == {"parcels": 1, "other": 0}


def test_unknown_routes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown alert route"):
        raise_alert(domain="d", cause_key="x", title="t", message="m", routes=("pager",))

