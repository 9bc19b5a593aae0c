"""#17 for the recommender: the simulated shop sends sessions through the real page route and clicks and
purchases to ``POST /labels``; an incident injected into the world is caught by the platform's own sensors,
checks and alert routing, and recovers after stop."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from inloop import db
from inloop.db.models import Alert, CheckResult, Label, Prediction
from inloop.world import (
    SIMULATED_EPOCH,
    SIMULATED_REQUEST_PREFIX,
    HttpWorldApi,
    SimulatedDay,
    WorldError,
    active_incidents,
    incident_kinds,
    incident_times,
    start_incident,
    stop_incident,
    world_clock,
    world_modules,
)
from recommender.world import Rates

SCALE = 0.4  # the API regenerates the suite's TEST_SHOP (600 articles, 800 accounts) at this scale


def _day(index: int) -> SimulatedDay:
    return SimulatedDay(index, SIMULATED_EPOCH + dt.timedelta(days=index))


def test_the_shop_world_is_seeded_and_its_incidents_change_only_the_world(inloop_env: Path) -> None:
    from recommender.live import deliveries, read_delivery
    from recommender.world import RATES, deliver_catalog, sessions_for_day

    assert "recommender" in world_modules()  # `inloop world run` (started by `inloop up`) drives it
    assert {"recommender:shared-account-surge", "recommender:catalog-missing-gender"} <= set(incident_kinds())
    normal = sessions_for_day(_day(3), scale=SCALE)
    assert normal == sessions_for_day(_day(3), scale=SCALE)  # seeded: the same day, the same sessions
    assert len(normal) == RATES.sessions and all(s.pages[0] == "home" for s in normal)
    assert sum(s.shared_account for s in normal) / len(normal) <= 0.25
    surge = sessions_for_day(_day(3), {"shared-account-surge"}, scale=SCALE)
    assert sum(s.shared_account for s in surge) / len(surge) >= 0.5

    deliver_catalog(_day(3))
    assert read_delivery(deliveries()[-1])["gender_target"].isin(["men", "women", "unisex"]).all()
    start_incident("recommender:catalog-missing-gender")
    assert active_incidents("recommender") == {"catalog-missing-gender"}
    deliver_catalog(_day(4), active_incidents("recommender"))
    broken = read_delivery(deliveries()[-1])
    assert len(broken) == RATES.new_articles
    assert broken["gender_target"].isna().sum() == round(RATES.new_articles * RATES.untagged_share)
    with pytest.raises(WorldError, match="already running"):
        start_incident("recommender:catalog-missing-gender")
    with pytest.raises(WorldError, match="recommender:shared-account-surge"):
        start_incident("recommender:meteor")
    stop_incident("recommender:catalog-missing-gender")
    assert active_incidents("recommender") == set()


def test_shared_account_traffic_is_judged_on_the_served_boxes() -> None:
    import pandas as pd

    from recommender.live import shared_account_traffic

    def view(shared: bool, sections: dict[str, list[str]]) -> dict[str, Any]:
        return {"log_id": 1, "request_id": "r", "client_request_id": "world-x", "shared_account_detected": shared,
                "last_seen_sections": sections}

    views = pd.DataFrame([view(True, {"desktop": ["men", "unisex"], "app": ["women", "women"]}),
                          *[view(False, {"desktop": ["women"]}) for _ in range(9)]])
    measured = shared_account_traffic(views)
    assert measured.value == pytest.approx(0.1)
    assert measured.details["mixed_last_seen_boxes"] == 1 and measured.details["simulated_views"] == 10
    assert shared_account_traffic(views.iloc[:0]).value is None  # nothing served is not a pass


# --- the living shop: a real API, the world on a fast clock, the platform's own sensors, checks and router ----

def _serve_a_champion(trained, shop, monkeypatch: pytest.MonkeyPatch, real_api):  # type: ignore[no-untyped-def]
    """The suite's trained ALS registered and gated as champion, served by a real ``inloop serve``."""
    from inloop import tracking
    from inloop.canary import stage_candidate
    from inloop.settings import reset_settings
    from recommender.defs.checks import card
    from recommender.lib.evaluation import evaluate, promotion_gates
    from recommender.lib.registry import MODEL_NAME, log_model

    monkeypatch.setenv("INLOOP_DEMO_DATA_SCALE", str(SCALE))
    monkeypatch.setenv("INLOOP_WORLD_DAY_SECONDS", "10")  # the clock the reported simulated times run on
    reset_settings()
    service, split = trained
    with tracking.start_run("recommender", "world-test"):
        version = log_model(service.model)
    evaluation = evaluate(service.model, service.popularity, split, shop.catalog, shop.shoppers)
    required = card.concern("model-beats-popularity").threshold.value  # type: ignore[union-attr]
    assert stage_candidate("recommender", MODEL_NAME, version, promotion_gates(evaluation, required)
                           ).stage == "champion"
    world_clock()  # the world's clock starts with the world
    return real_api(ready=("models:recommender",))


def _page_views_logged() -> int:
    with db.read_session() as sess:
        return int(sess.scalar(sa.select(sa.func.count()).select_from(Prediction).where(
            Prediction.domain == "recommender", Prediction.component == "last_seen_box")) or 0)


def _living_day(server, instance: dg.DagsterInstance, rates=None) -> Callable[[int], None]:  # type: ignore[no-untyped-def]
    """A simulated day of the shop, then what the running platform does by itself: its two sensors, the
    runs they request (with the concern checks), and the alert router."""
    from inloop.orchestration import alert_router_sensor
    from recommender.defs.live import (
        catalog_delivery,
        delivered_items_have_gender_target,
        recommender_catalog_feed_sensor,
        recommender_served_pages_sensor,
        served_page_view_batch,
        shared_accounts_in_served_traffic,
    )
    from recommender.world import RATES, arrive

    api = HttpWorldApi(server.base, server.token)
    router = alert_router_sensor("recommender")
    state = {"served": 0, "cursor": "", "feed": ""}

    def day(index: int) -> None:
        began = time.monotonic()
        state["served"] += arrive(_day(index), api, active_incidents("recommender"), scale=SCALE,
                                  rates=rates or RATES)
        arrived = time.monotonic()
        deadline = time.monotonic() + 120  # a hang guard: the API writes the log just off the request path
        while _page_views_logged() < state["served"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _page_views_logged() >= state["served"]
        context = dg.build_sensor_context(cursor=state["cursor"], instance=instance)
        request = recommender_served_pages_sensor(context)
        state["cursor"] = context.cursor or ""
        if isinstance(request, dg.RunRequest):
            result = dg.materialize([served_page_view_batch, shared_accounts_in_served_traffic], instance=instance,
                                    run_config=request.run_config, raise_on_error=False)
            assert result.success
        context = dg.build_sensor_context(cursor=state["feed"], instance=instance)
        request = recommender_catalog_feed_sensor(context)
        assert isinstance(request, dg.RunRequest), request  # the day's delivery
        state["feed"] = context.cursor or ""
        result = dg.materialize([catalog_delivery, delivered_items_have_gender_target], instance=instance,
                                run_config=request.run_config, raise_on_error=False)
        assert result.success
        router(dg.build_sensor_context(instance=instance))
        print(f"day {index}: {state['served']} page views served in all; world {arrived - began:.1f} s, "
              f"platform {time.monotonic() - arrived:.1f} s")

    return day


def _latest(concern: str, after: int = 0) -> CheckResult | None:
    with db.read_session() as sess:
        return sess.scalars(sa.select(CheckResult).where(CheckResult.domain == "recommender",
                                                         CheckResult.concern_id == concern, CheckResult.id > after)
                            .order_by(CheckResult.id.desc()).limit(1)).one_or_none()


def _until(day: Callable[[int], None], start: int, concern: str, passed: bool, max_days: int = 6) -> tuple[int, CheckResult]:
    """Run simulated days from ``start`` until ``concern``'s check is judged ``passed`` (bounded)."""
    before = _latest(concern)
    mark = before.id if before else 0
    for index in range(start, start + max_days):
        day(index)
        result = _latest(concern, mark)
        if result is not None and result.passed is passed:
            return index + 1, result
    pytest.fail(f"{concern} was not judged passed={passed} within {max_days} simulated days")


def _assert_caught_routed_and_recovered(ref: str, concern: str, day: Callable[[int], None]) -> None:
    from inloop.cli import app

    next_day, normal = _until(day, 0, concern, passed=True)
    start_incident(ref)
    next_day, broken = _until(day, next_day, concern, passed=False)
    with db.read_session() as sess:
        alert = sess.scalars(sa.select(Alert).where(Alert.cause_key == f"check:recommender:{concern}")).one()
    assert alert.routed_at is not None  # delivered by the platform's own router sensor
    assert alert.evidence["check_result_id"] == broken.id
    stop_incident(ref)
    _, again = _until(day, next_day, concern, passed=True)
    with db.read_session() as sess:
        assert sess.get(Alert, alert.id).status == "resolved"  # type: ignore[union-attr]
        simulated = sess.scalar(sa.select(sa.func.count()).select_from(Prediction).where(
            Prediction.domain == "recommender", Prediction.client_request_id.like(f"{SIMULATED_REQUEST_PREFIX}%")))
        clicks = sess.scalars(sa.select(Label).where(Label.domain == "recommender")).all()
    assert simulated == 3 * _page_views_logged()  # every box of every simulated page view is marked simulated
    assert {c.name for c in clicks} == {"click", "purchase"} and all(c.request_id for c in clicks)

    (times,) = [t for t in incident_times() if t.ref == ref]
    assert times.first_failing_check_at is not None and times.alerted_at is not None
    assert times.started_at <= times.first_failing_check_at <= times.alerted_at
    assert times.alert_id == alert.id and times.alert_routed_at is not None
    assert times.stopped_at is not None and times.recovered_at is not None
    assert times.recovered_at >= times.stopped_at
    listed = CliRunner().invoke(app, ["incident", "list"])
    assert listed.exit_code == 0 and f"incident: {ref}" in listed.output
    assert "to detect: -" not in listed.output and "to recover: -" not in listed.output
    print(listed.output)  # the figures for the report


@pytest.mark.slow
def test_a_shared_account_surge_is_caught_from_the_served_pages_and_recovers(  # type: ignore[no-untyped-def]
        trained, shop, monkeypatch: pytest.MonkeyPatch, real_api) -> None:
    server = _serve_a_champion(trained, shop, monkeypatch, real_api)
    with dg.instance_for_test() as instance:
        # A busier shop than the default fills a batch of served page views (150) every simulated day.
        _assert_caught_routed_and_recovered("recommender:shared-account-surge", "shared-account-traffic",
                                            _living_day(server, instance, Rates(sessions=90)))


@pytest.mark.slow
def test_a_catalog_delivery_without_gender_targets_is_caught_on_arrival_and_recovers(  # type: ignore[no-untyped-def]
        trained, shop, monkeypatch: pytest.MonkeyPatch, real_api) -> None:
    server = _serve_a_champion(trained, shop, monkeypatch, real_api)
    with dg.instance_for_test() as instance:
        # A delivery a day is judged each day: a quieter shop than the default makes the days quick.
        _assert_caught_routed_and_recovered("recommender:catalog-missing-gender", "catalog-gender-tagged",
                                            _living_day(server, instance, Rates(sessions=10)))
