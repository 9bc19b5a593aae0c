"""model-2 per model version from the prediction log: offline recall@10 against the box's logged click-through."""

from __future__ import annotations

import dagster as dg
import pytest

from inloop.alerts import list_alerts
from recommender.defs.offline_online import (
    CONCERN,
    card,
    offline_recall_by_version,
    offline_recall_predicts_live_ctr,
)
from recommender.lib.collaborative import train_als
from recommender.lib.evaluation import evaluate
from recommender.lib.offline_online import logged_box_click_through, relation_from_log
from recommender.lib.page import PageService
from recommender.lib.traffic import page_requests_from_sessions, replay_traffic


def _serve(service: PageService, version: str, requests) -> None:  # type: ignore[no-untyped-def]
    """The page service serving ``version``: every page view logged to the prediction log, box by box."""
    labelled = PageService(service.assortment, service.history, service.model, service.popularity, service.config,
                           model_version=version)
    replay_traffic(labelled, requests, log=True)


def _stub(value: object) -> dg.AssetsDefinition:
    @dg.asset(name="offline_online_ctr")
    def stub():  # type: ignore[no-untyped-def]
        return value

    return stub


@pytest.mark.slow
@pytest.mark.rubric("model-2")
def test_each_served_version_is_judged_on_its_logged_click_through_and_a_broken_one_alerts(trained, shop) -> None:
    service, split = trained
    requests = page_requests_from_sessions(split.test, shop.shoppers, limit=300, seed=7)
    scrambled = split.train.assign(item_id=split.train["item_id"].sample(frac=1.0, random_state=3).to_numpy())
    broken_model = train_als(scrambled, shop.catalog, shop.spec.n_accounts)
    champion_recall = evaluate(service.model, service.popularity, split, shop.catalog, shop.shoppers).overall
    offline = {"recommender-als/1": champion_recall["model"]["recall"],
               # version 2 claims the champion's offline figure but serves a model trained on scrambled items:
               # what a page or tracking change that offline evaluation cannot see looks like in the shop
               "recommender-als/2": champion_recall["model"]["recall"]}
    _serve(service, "recommender-als/1", requests)
    _serve(PageService(service.assortment, service.history, broken_model, service.popularity, service.config),
           "recommender-als/2", requests)

    live = logged_box_click_through(shop.events).set_index("model_version")
    assert set(live.index) == {"recommender-als/1", "recommender-als/2"}
    assert live.loc["recommender-als/1", "page_views"] + live.loc["recommender-als/1", "unlinked"] == 300
    assert live.loc["recommender-als/1", "impressions"] >= 200 and live.loc["recommender-als/1", "clicks"] > 0

    concern = card.concern(CONCERN)
    found = relation_from_log(shop.events, concern, offline)
    assert found is not None and found.tolerance == concern.threshold.value == 0.01
    (good,) = found.of("recommender-als/1")
    (bad,) = found.of("recommender-als/2")
    assert good.scale == 0.3 and good.online == pytest.approx(live.loc["recommender-als/1", "ctr"], abs=1e-5)
    assert good.gap is not None and good.gap <= found.tolerance, found.to_dict()
    assert bad.gap is not None and bad.gap > found.tolerance and bad.online < good.online
    assert found.beyond_tolerance == ["recommender-als/2"]

    # The concern check on the serving version: passes for version 1, fails and alerts for version 2.
    for serving, passes in (("recommender-als/1", True), ("recommender-als/2", False)):
        result = dg.materialize([_stub((serving, found)), offline_recall_predicts_live_ctr], raise_on_error=False)
        [evaluation] = result.get_asset_check_evaluations()
        assert evaluation.passed is passes, evaluation.metadata["summary"].value
    [alert] = list_alerts("recommender")
    assert alert.concern_id == CONCERN and "ctr_shortfall_vs_offline" in alert.message


def test_too_little_traffic_is_not_judged_and_unregistered_versions_have_no_offline_figure(trained, shop) -> None:
    service, split = trained
    requests = page_requests_from_sessions(split.test, shop.shoppers, limit=10, seed=3)
    _serve(service, "recommender-als/7", requests)
    found = relation_from_log(shop.events, card.concern(CONCERN), {"recommender-als/7": 0.1})
    assert found is not None and found.judged == [] and found.of("recommender-als/7")[0].online is None
    # An in-process model's content hash is not a registered version: no MLflow lookup, no offline figure.
    assert offline_recall_by_version(["a1b2c3d4"]) == {}
    assert relation_from_log(shop.events.iloc[:0], card.concern(CONCERN), {}) is None
    with pytest.raises(ValueError, match="no offline/online relation"):
        relation_from_log(shop.events, card.concern("live-box-ctr"), {})
