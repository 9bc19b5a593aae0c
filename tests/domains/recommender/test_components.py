"""The page's components, each on its own: last seen, recommendations, new in, shared-account detection."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from recommender.lib.boxes import Assortment, age_text, fits_page
from recommender.lib.history import AccountHistory, HistoryStore
from recommender.lib.last_seen import last_seen_box
from recommender.lib.new_in import new_in_carousel
from recommender.lib.recommendations import recommendations_box
from recommender.lib.shared_accounts import detect_shared_account, detect_shared_accounts, label_detection

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _history(rows: list[tuple[float, int, str, str]], sizes: list[str | None] | None = None) -> AccountHistory:
    """rows: (days before NOW, item, device, event type), oldest first."""
    ts = np.array([int((NOW - dt.timedelta(days=d)).timestamp()) for d, *_ in rows])
    return AccountHistory(1, ts, np.array([r[1] for r in rows]), np.array([r[2] for r in rows], dtype=object),
                          np.array([r[3] for r in rows], dtype=object),
                          np.array(sizes or [None] * len(rows), dtype=object))


@pytest.fixture(scope="module")
def assortment(shop):
    return Assortment(shop.catalog)


def _first(assortment: Assortment, gender: str, n: int = 1) -> list[int]:
    return [int(i) for i in np.flatnonzero(assortment.gender == gender)[:n]]


def test_fits_page_keeps_section_and_unisex_and_fails_closed_on_untagged():
    assert fits_page("men", "men") and fits_page("unisex", "men") and not fits_page("women", "men")
    assert not fits_page(None, "women") and not fits_page("kids", "women")
    assert fits_page("women", "home") and fits_page(None, "home")


def test_age_text_reads_like_a_person_would_say_it():
    assert age_text(30) == "just now"
    assert age_text(3 * 3600) == "3 hours ago"
    assert age_text(86400 * 1.5) == "1 day ago"
    assert age_text(86400 * 2.2) == "2 days ago"


@pytest.mark.rubric("data-7")
def test_last_seen_merges_devices_newest_first_with_where_and_when(assortment):
    men, women = _first(assortment, "men", 2), _first(assortment, "women", 1)
    history = _history([(5, men[0], "desktop", "view"), (2, women[0], "app", "view"),
                        (1, men[1], "desktop", "add_to_cart"), (0.5, men[0], "desktop", "view")])
    box = last_seen_box(history, assortment, now=NOW, size=10, lookback_days=90)
    assert box.item_ids() == [men[0], men[1], women[0]]  # distinct, most recent interaction first
    assert box.items[1].reason == "added to cart on desktop 1 day ago"
    assert box.items[2].reason == "viewed on app 2 days ago"
    assert box.items[2].evidence["device"] == "app"


@pytest.mark.rubric("data-7")
def test_last_seen_lookback_context_filter_and_device_restriction(assortment):
    men, women = _first(assortment, "men", 3), _first(assortment, "women", 1)
    history = _history([(40, men[2], "desktop", "view"), (10, men[0], "desktop", "view"),
                        (2, women[0], "app", "view"), (1, men[1], "app", "view")])
    assert last_seen_box(history, assortment, now=NOW, size=10, lookback_days=14).item_ids() == [men[1], women[0], men[0]]
    filtered = last_seen_box(history, assortment, now=NOW, size=10, lookback_days=90, context_page="men")
    assert filtered.item_ids() == [men[1], men[0], men[2]]
    assert filtered.notes["hidden_off_context"] == [women[0]]
    assert last_seen_box(history, assortment, now=NOW, size=10, lookback_days=90,
                         only_device="desktop").item_ids() == [men[0], men[2]]
    # A full box after filtering: the filter refills from older history instead of leaving a gap.
    assert len(last_seen_box(history, assortment, now=NOW, size=2, lookback_days=90, context_page="men").items) == 2


def test_recommendations_stay_in_the_section_skip_what_was_seen_and_explain_themselves(trained, assortment):
    service, split = trained
    account = int(split.train["account_id"].value_counts().index[0])
    history = HistoryStore(split.train).of(account)
    items, weights = history.weighted_items()
    vector = service.model.account_vector(items, weights)
    box = recommendations_box(history, assortment, service.model, service.popularity, page="men", size=10,
                              vector=vector)
    assert len(box.items) == 10 and not box.fallback
    assert all(fits_page(i.gender_target, "men") for i in box.items)
    assert not set(box.item_ids()) & set(items.tolist())
    assert all(i.reason.startswith("similar to ") and i.evidence["similar_to"] in items for i in box.items)
    assert box.model_version == service.model.version


def test_a_new_account_gets_a_full_box_of_section_bestsellers(trained, assortment):
    service, _ = trained
    empty = _history([])
    box = recommendations_box(empty, assortment, service.model, service.popularity, page="women", size=10)
    assert len(box.items) == 10 and box.fallback
    assert all(i.reason == "bestseller in the women's section" for i in box.items)
    expected = service.popularity.rank(assortment.for_page("women"), 10)
    assert box.item_ids() == expected.tolist()


def test_new_in_shows_only_arrived_new_articles_of_the_section(trained, assortment, shop):
    service, split = trained
    at = split.cutoff + pd.Timedelta(days=5)
    box = new_in_carousel(_history([]), assortment, service.model, page="men", now=at, size=10)
    assert box.items, "the test week has new arrivals"
    for item in box.items:
        row = shop.catalog.loc[item.item_id]
        assert row["new_in"] and row["added_at"] <= at and fits_page(row["gender_target"], "men")
    arrivals = [shop.catalog.loc[i, "added_at"] for i in box.item_ids()]
    assert arrivals == sorted(arrivals, reverse=True)  # without history: newest first
    account = int(split.train["account_id"].value_counts().index[0])
    history = HistoryStore(split.train).of(account)
    vector = service.model.account_vector(*history.weighted_items())
    ranked = new_in_carousel(history, assortment, service.model, page="men", now=at, size=10, vector=vector)
    assert set(ranked.item_ids()) <= set(np.flatnonzero(assortment.new_in).tolist())
    assert ranked.items[0].reason == "new in, close to what you look at"


def test_the_detector_tells_a_household_from_one_person_on_two_devices(assortment):
    men, women = _first(assortment, "men", 6), _first(assortment, "women", 6)
    household = _history([(3, m, "desktop", "view") for m in men] + [(2, w, "app", "view") for w in women])
    verdict = detect_shared_account(household, assortment.gender)
    assert verdict.shared and "women's articles" in verdict.reason
    one_person = _history([(3, m, "desktop", "view") for m in men[:3]] + [(2, m, "app", "view") for m in men[3:]]
                          + [(1, m, "app", "view") for m in men])
    assert not detect_shared_account(one_person, assortment.gender).shared
    too_little = _history([(3, men[0], "desktop", "view"), (2, women[0], "app", "view")])
    assert detect_shared_account(too_little, assortment.gender).reason.startswith("fewer than two devices")


def test_same_section_household_is_told_apart_by_size(assortment):
    men = _first(assortment, "men", 12)
    rows = [(3, m, "desktop", "add_to_cart") for m in men[:6]] + [(2, m, "app", "add_to_cart") for m in men[6:]]
    history = _history(rows, sizes=["S"] * 6 + ["XL"] * 6)
    verdict = detect_shared_account(history, assortment.gender)
    assert verdict.shared and "size" in verdict.reason


def test_most_labelled_households_are_detected(shop, trained):
    _, split = trained
    detection = label_detection(detect_shared_accounts(split.train, shop.catalog), split.train, shop.shoppers)
    mixed = detection[detection["shared"] & detection["both_active"]]
    assert len(mixed) >= 20
    assert mixed["shared_detected"].mean() >= 0.75
    flagged = detection[detection["shared_detected"]]
    assert flagged["shared"].mean() >= 0.6  # most alarms are real households
