"""The recommender's worst-case demos (declared as ``demos`` in the domain's plugin, domain.py).

``womens-bag-on-mens-page`` is the seed's story: a colleague sees a woman's bag on the men's
home page and calls it a terrible recommendation. The demo serves the test week's men's-page
traffic with the page as it was launched, finds such a page view, reads its logged entries
back, follows the five whys with the log as evidence, then switches the context filter on and
shows — on the same page view and on the same traffic — that the bag is gone while the
recommendations box did not change.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from inloop.demos import Demo, DemoTrace
from inloop.predictions import get_prediction
from recommender.domain import domain
from recommender.lib import measures
from recommender.lib.boxes import ShownItem
from recommender.lib.last_seen import COMPONENT as LAST_SEEN
from recommender.lib.page import PageConfig, PageService, PageView
from recommender.lib.recommendations import COMPONENT as RECOMMENDATIONS
from recommender.lib.shop import Shop, ShopSpec, generate_shop
from recommender.lib.traffic import PageRequest, page_requests_from_sessions, replay_traffic

__all__ = ["DEMOS"]

DEMO_SHOP = ShopSpec(seed=7, n_items=1000, n_accounts=1200)
GATE_SHOP = ShopSpec(seed=7, n_items=600, n_accounts=800)


def _womens_items_from_the_other_device(shop: Shop, requests: list[PageRequest],
                                        views: list[PageView]) -> Iterator[tuple[PageRequest, PageView, ShownItem]]:
    """Men's-page views whose last-seen box shows a women's article seen on another device of a shared account."""
    shared = shop.shoppers.groupby("account_id")["shared_account"].first()
    for request, view in zip(requests, views, strict=True):
        if not shared.get(view.account_id, False):
            continue
        for item in view.box(LAST_SEEN).items:
            if item.gender_target == "women" and item.evidence.get("device") != view.device:
                yield request, view, item


def _womens_bag_on_mens_page(trace: DemoTrace) -> None:
    shop = generate_shop(DEMO_SHOP)
    launched = PageConfig.as_launched()
    service, split = PageService.trained_on(shop, launched)
    requests = [r for r in page_requests_from_sessions(split.test, shop.shoppers) if r.page == "men"]
    trace.step("input", "The men's page as it was launched serves the test week",
               f"{len(requests)} men's-page views of {shop.spec.n_accounts} accounts; last seen merges desktop and "
               f"app history of {launched.last_seen_lookback_days} days, no section filter, no shared-account "
               "handling", config=launched.model_dump(), config_version=launched.version,
               model_version=service.model_version)
    before = replay_traffic(service, requests, log=True)

    # Prefer the story's exact case: a bag, seen on the app, on a desktop page view of a detected household.
    candidates = sorted(_womens_items_from_the_other_device(shop, requests, before),
                        key=lambda c: (c[2].category != "bags", c[1].device != "desktop",
                                       not c[1].shared_account.shared, c[1].at))
    if not trace.claim(bool(candidates), "a men's page view shows a woman's article that the viewer's device never saw"):
        return
    request, view, item = candidates[0]
    trace.step("input", f"A colleague reports: \"{item.name}\" on the men's page — a terrible recommendation?",
               f"account {view.account_id}, {view.device}, {view.at:%Y-%m-%d %H:%M} UTC; the screenshot carries the "
               f"page's request ids", request_ids=view.request_ids, item_id=item.item_id)

    # Why 1: which box showed it? Read the logged entries, not our memory of the code.
    last_seen_entry = get_prediction(view.request_ids[LAST_SEEN])
    recs_entry = get_prediction(view.request_ids[RECOMMENDATIONS])
    logged = next(i for i in last_seen_entry.output["items"] if i["item_id"] == item.item_id)
    trace.step("check", "Why was it on the page? The prediction log answers per box",
               f"last_seen_box logged it at rank {logged['rank']} with the reason \"{logged['reason']}\"",
               request_id=last_seen_entry.request_id, logged_item=logged, model_name=last_seen_entry.model_name,
               config=last_seen_entry.features["config"])
    trace.claim(last_seen_entry.component == LAST_SEEN and recs_entry.component == RECOMMENDATIONS
                and item.item_id not in [i["item_id"] for i in recs_entry.output["items"]],
                "it was the last-seen box, not a recommendation: the recommendations box did not contain it",
                last_seen_request=last_seen_entry.request_id, recommendations_request=recs_entry.request_id)

    # Why 2: was it in the account's history? On which device?
    features = last_seen_entry.features
    seen_on = sorted({e["device"] for e in features["history"] if e["item_id"] == item.item_id})
    trace.step("check", "Why was it in last seen? The logged input history of the account",
               f"the account's logged history has the article on {', '.join(seen_on) or 'no device'}; "
               f"the page was viewed on {features['device']}", history_devices=seen_on,
               history_length=features["history_length"])
    trace.claim(logged["evidence"]["device"] != features["device"] and features["device"] not in seen_on,
                f"the article came from {logged['evidence']['device']} history, merged into a "
                f"{features['device']} page view", source_device=logged["evidence"]["device"],
                page_device=features["device"])

    # Why 3: the viewer had not seen it. Whose browsing was it? (ground truth of the synthetic shop)
    interacted = shop.events[(shop.events["account_id"] == view.account_id)
                             & (shop.events["item_id"] == item.item_id)]["person_id"].unique()
    household = shop.shoppers[shop.shoppers["account_id"] == view.account_id]
    trace.step("check", "Why did he not recognise it? Who browsed it",
               f"the account is shared by {len(household)} people ({', '.join(household['section'])} shoppers); "
               f"the article was browsed by person {list(map(int, interacted))}, the page was viewed by person "
               f"{request.person_id}", shared_account_detected=features["shared_account_detected"],
               detector_reason=features["shared_account_reason"])
    trace.claim(len(household) == 2 and request.person_id not in set(np.asarray(interacted).tolist()),
                "a shared family account: the other person's browsing on the other device, never the viewer's")
    trace.claim(bool(features["shared_account_detected"]),
                "the shared-account detector, logged with the page view, flags this account",
                reason=features["shared_account_reason"])

    # The fix: the context filter (everything else as launched), on the same page view.
    filtered = service.with_config(launched.model_copy(update={"context_filter": True}))
    fixed_view, _ = filtered.render(view.account_id, view.page, view.device, view.at, log=True)
    trace.step("action", "Switch on the page-context filter and serve the same page view again",
               "last seen keeps only men's and unisex articles on the men's page",
               request_ids=fixed_view.request_ids, config_version=filtered.config.version)
    shown_after = {i.item_id for box in fixed_view.boxes for i in box.items}
    trace.claim(item.item_id not in shown_after, f"\"{item.name}\" is gone from the page")
    trace.claim(all(i.gender_target in ("men", "unisex") for i in fixed_view.box(LAST_SEEN).items),
                "the last-seen box now shows only men's and unisex articles",
                last_seen=[f"{i.name} ({i.reason})" for i in fixed_view.box(LAST_SEEN).items])
    trace.claim(fixed_view.box(RECOMMENDATIONS).item_ids() == view.box(RECOMMENDATIONS).item_ids(),
                "the recommendations box is unchanged (same articles, same order)",
                recommendations=fixed_view.box(RECOMMENDATIONS).item_ids())

    # The other fix the post-mortem names: on a detected shared account, last seen from this device only.
    per_device = service.with_config(launched.model_copy(update={"shared_account_handling": "current_device"}))
    device_view, _ = per_device.render(view.account_id, view.page, view.device, view.at, log=False)
    trace.claim(item.item_id not in device_view.box(LAST_SEEN).item_ids(),
                "shared-account handling alone (last seen from this device only) also removes it",
                last_seen=[f"{i.name} ({i.reason})" for i in device_view.box(LAST_SEEN).items])

    # The same traffic, before and after: the concern's metric.
    after = replay_traffic(filtered, requests, log=False)
    rate_before, rate_after = measures.off_context_rate(before), measures.off_context_rate(after)
    trace.step("result", "Off-context rate on the same men's-page traffic",
               f"before: {rate_before.summary}; after: {rate_after.summary}",
               before=rate_before.value, after=rate_after.value)
    trace.claim((rate_before.value or 0) > 0 and rate_after.value == 0.0,
                "off-context items on the men's page drop to zero with the filter",
                before=rate_before.value, after=rate_after.value)
    _link_seeded_postmortem(trace, view, item, fixed_view)


SEEDED_POSTMORTEM = "2026-03-04-womans-bag-on-the-mens-home-page.md"


def _link_seeded_postmortem(trace: DemoTrace, view: PageView, item: ShownItem, fixed_view: PageView) -> None:
    """The colleague's report through the real bug-report path, the platform's replay of the page view,
    and the seeded post-mortem's pending evidence linked to this run (a copy in the data directory:
    the reviewed file in the repository stays as it was)."""
    from inloop.incidents.bug_reports import file_report
    from inloop.incidents.postmortems import link_evidence, load_postmortem
    from inloop.incidents.replay import replay
    from inloop.settings import get_settings

    rid = view.request_ids[LAST_SEEN]
    filed = file_report({"reporter": "colleague in merchandising", "domain": "recommender", "page": "home/men",
                         "text": f"Why is \"{item.name}\" recommended on the men's page? Terrible recommendation.",
                         "failure_kind": "off_context_item", "segment": "men_section", "request_id": rid})
    trace.step("notify", f"Bug report #{filed.report.id} filed with the page's request id",
               f"component filled from the log: {filed.report.component}", bug_report=filed.report.id)
    replayed = replay(rid)
    trace.step("check", "inloop replay of the logged page view", f"{replayed.record.component}, "
               f"{len(replayed.record.features['history'])} history events, config {replayed.record.policy_version}",
               request_id=rid)
    trace.claim(replayed.record.component == LAST_SEEN
                and item.item_id in [i["item_id"] for i in replayed.record.output["items"]],
                "the platform's replay shows the article in the logged last-seen box", request_id=rid)
    links = {"F1": f"bug:{filed.report.id}", "F3": f"request:{rid}",
             "F4": f"replay:{rid}", "F5": "demo:recommender:womens-bag-on-mens-page "
             + " ".join(f"request:{r}" for r in fixed_view.request_ids.values())}
    out, completed = link_evidence(domain.postmortems_dir / SEEDED_POSTMORTEM, links,
                                   get_settings().domain_dir("recommender") / "postmortem-evidence")
    pending = [f.id for f in completed.facts if f.status == "pending"]
    trace.step("action", "Seeded post-mortem's evidence linked to this run", str(out), links=links,
               still_pending=pending)
    trace.claim(all(f.status == "linked" for f in completed.facts if f.id in links) and load_postmortem(out) == completed,
                "the seeded post-mortem's report, logged page view, replay and demo trace (F1, F3-F5) are linked; "
                "F2, the colleague's screenshot, exists only in the story")


def _model_no_better_than_bestsellers(trace: DemoTrace) -> None:
    from inloop import tracking
    from inloop.checks import evaluate_concern
    from recommender.lib.collaborative import train_als
    from recommender.lib.evaluation import evaluate, promotion_gates
    from recommender.lib.registry import MODEL_NAME, log_model

    shop = generate_shop(GATE_SHOP)
    service, split = PageService.trained_on(shop)
    card = domain.card()
    concern = card.concern("model-beats-popularity")
    required = concern.threshold.value  # type: ignore[union-attr]

    good = evaluate(service.model, service.popularity, split, shop.catalog, shop.shoppers)
    with tracking.start_run("recommender", "demo-good-model"):
        good_version = log_model(service.model)
    first = tracking.promote(MODEL_NAME, good_version, promotion_gates(good, required))
    trace.step("input", "Tonight's champion: a model that beats bestsellers",
               f"recall@10 {good.overall['model']['recall']:.4f} vs bestsellers "
               f"{good.overall['popularity']['recall']:.4f} ({good.recall_lift:+.0%})", version=good_version,
               promoted=first.promoted)
    trace.claim(first.promoted, f"{MODEL_NAME} v{good_version} passed every gate and serves as champion")

    # The next night's export joins the clickstream to the wrong article ids (shifted by one article).
    broken_events = split.train.assign(item_id=(split.train["item_id"] + 1) % len(shop.catalog))
    broken = train_als(broken_events, shop.catalog, shop.spec.n_accounts)
    bad = evaluate(broken, service.popularity, split, shop.catalog, shop.shoppers)
    trace.step("input", "The next candidate was trained on a clickstream export with shifted article ids",
               f"recall@10 {bad.overall['model']['recall']:.4f} vs bestsellers {bad.overall['popularity']['recall']:.4f}"
               f" ({bad.recall_lift:+.0%})", model_version=broken.version)
    outcome = evaluate_concern("recommender", concern, measures.model_beats_popularity(bad),
                               asset_key="recommender_evaluation")
    trace.step("check", f"Concern check {concern.check}", outcome.measurement.summary,
               passed=outcome.passed, alert_id=outcome.alert_id, check_result_id=outcome.check_result_id)
    trace.claim(not outcome.passed and outcome.alert_id is not None,
                "the model-beats-popularity check fails and opens an alert for the team", alert_id=outcome.alert_id)

    with tracking.start_run("recommender", "demo-broken-model"):
        bad_version = log_model(broken)
    decision = tracking.promote(MODEL_NAME, bad_version, promotion_gates(bad, required))
    trace.step("fallback", "The promotion gate refuses the candidate", decision.reason,
               failed_gates=[g.name for g in decision.failed_gates])
    trace.claim(not decision.promoted and "recall_at_10_lift_over_popularity" in {g.name for g in decision.failed_gates},
                f"v{bad_version} is refused by the recall gate, and the refusal is recorded on the version")
    tags = tracking.client().get_model_version(MODEL_NAME, bad_version).tags
    trace.claim(tags.get("inloop.promotion") == "refused", "the registry shows why it was refused",
                promotion_gates=tags.get("inloop.promotion_gates"))

    pyfunc, serving = tracking.load_champion(MODEL_NAME)
    champion = PageService(service.assortment, service.history, pyfunc.unwrap_python_model().model,
                           service.popularity, model_version=f"{MODEL_NAME}/{serving}")
    account = int(split.train["account_id"].value_counts().index[0])
    view, _ = champion.render(account, "home", "app", split.cutoff, log=True)
    trace.step("result", "The home page keeps serving the champion",
               f"recommendations from {view.box(RECOMMENDATIONS).model_version}", request_ids=view.request_ids)
    trace.claim(str(serving) == str(good_version)
                and view.box(RECOMMENDATIONS).model_version == f"{MODEL_NAME}/{good_version}",
                f"customers still get v{good_version}: the refused candidate never served a page")


DEMOS: dict[str, Demo] = {
    "womens-bag-on-mens-page": Demo(
        id="womens-bag-on-mens-page",
        title="A woman's bag on the men's home page",
        story=("A colleague finds a woman's bag on the men's home page and calls it an offensive recommendation. "
               "The prediction log shows it was the last-seen box, fed by the app history of the other person on "
               "a shared family account; the context filter removes it and leaves the recommendations untouched."),
        run=_womens_bag_on_mens_page,
        concerns=("no-off-context-items", "shared-accounts-detected"),
    ),
    "model-no-better-than-bestsellers": Demo(
        id="model-no-better-than-bestsellers",
        title="A model no better than bestsellers never reaches the home page",
        story=("A candidate trained on a clickstream export with shifted article ids recommends noise. The "
               "model-beats-popularity check fails and alerts, the promotion gate refuses it and records why, and "
               "the home page keeps serving the champion."),
        run=_model_no_better_than_bestsellers,
        concerns=("model-beats-popularity",),
    ),
}
