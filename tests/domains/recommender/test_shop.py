"""The synthetic shop: deterministic, and it contains what the project card worries about."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from recommender.lib.shop import CATEGORIES, DEVICES, EVENT_TYPES, GENDER_TARGETS, ShopSpec, generate_shop

SPEC = ShopSpec(seed=11, n_items=400, n_accounts=600)


@pytest.fixture(scope="module")
def shop():
    return generate_shop(SPEC)


def test_same_seed_gives_the_same_shop(shop):
    again = generate_shop(SPEC)
    pd.testing.assert_frame_equal(shop.catalog, again.catalog)
    pd.testing.assert_frame_equal(shop.shoppers, again.shoppers)
    pd.testing.assert_frame_equal(shop.events, again.events)


def test_another_seed_gives_another_shop(shop):
    other = generate_shop(dataclasses.replace(SPEC, seed=12))
    assert not shop.events[["account_id", "item_id"]].equals(other.events[["account_id", "item_id"]])


def test_sizes_are_parameters():
    small = generate_shop(ShopSpec(seed=3, n_items=150, n_accounts=50, days=14))
    assert len(small.catalog) == 150
    assert small.shoppers["account_id"].nunique() == 50
    assert ShopSpec().scaled(2.0).n_accounts == 2 * ShopSpec().n_accounts


def test_every_article_has_a_gender_target_size_and_price(shop):
    catalog = shop.catalog
    assert set(catalog["gender_target"]) == set(GENDER_TARGETS)
    assert catalog["sizes"].map(len).min() >= 1
    assert (catalog["price"] > 0).all()
    assert set(catalog["category"]) == set(CATEGORIES)
    bags = catalog[catalog["category"] == "bags"]["gender_target"].value_counts(normalize=True)
    assert bags["women"] > 0.5  # the seed's story: bags are mostly women's articles


def test_new_in_articles_arrived_in_the_last_week(shop):
    catalog = shop.catalog
    week_ago = pd.Timestamp(SPEC.end - pd.Timedelta(days=7))
    assert 0.03 < catalog["new_in"].mean() < 0.15
    assert (catalog.loc[catalog["new_in"], "added_at"] >= week_ago).all()
    assert (catalog.loc[~catalog["new_in"], "added_at"] < pd.Timestamp(SPEC.start)).all()


def test_about_five_percent_of_accounts_are_shared_by_two_people_on_different_devices(shop):
    people = shop.shoppers
    per_account = people.groupby("account_id").agg(people_=("person_id", "size"), shared=("shared_account", "first"))
    assert per_account["shared"].mean() == pytest.approx(0.05, abs=0.002)
    assert (per_account.loc[per_account["shared"], "people_"] == 2).all()
    assert (per_account.loc[~per_account["shared"], "people_"] == 1).all()
    households = people[people["shared_account"]].groupby("account_id")["devices"].apply(list)
    for devices in households:
        assert devices[0] != devices[1]
    # Most households are couples shopping different sections: that is what puts a woman's bag
    # into a man's history.
    mixed = people[people["shared_account"]].groupby("account_id")["section"].nunique().eq(2).mean()
    assert mixed > 0.6


def test_events_are_time_ordered_and_only_on_articles_already_in_the_shop(shop):
    events = shop.events
    assert events["ts"].is_monotonic_increasing
    assert events["event_id"].is_monotonic_increasing
    assert events["ts"].min() >= pd.Timestamp(SPEC.start)
    assert events["ts"].max() < pd.Timestamp(SPEC.end)
    added = shop.catalog.set_index("item_id")["added_at"]
    assert (events["ts"].to_numpy() >= added.loc[events["item_id"]].to_numpy()).all()
    assert set(events["event_type"]) == set(EVENT_TYPES)
    assert set(events["device"]) == set(DEVICES)


def test_a_person_only_uses_their_own_devices_and_buys_what_they_carted_in_their_size(shop):
    events = shop.events.merge(shop.shoppers[["person_id", "devices", "apparel_size", "shoe_size"]], on="person_id")
    assert events.apply(lambda r: r["device"] in r["devices"], axis=1).all()
    carted = set(map(tuple, events.loc[events["event_type"] == "add_to_cart", ["session_id", "item_id"]].values))
    bought = events[events["event_type"] == "purchase"]
    assert len(bought) > 0
    assert all((s, i) in carted for s, i in bought[["session_id", "item_id"]].values)
    assert events.loc[events["event_type"] == "view", "size"].isna().all()
    sized = events[events["event_type"] != "view"]
    assert sized.apply(lambda r: r["size"] in (r["apparel_size"], r["shoe_size"], "one size"), axis=1).all()


def test_new_accounts_signed_up_recently_and_have_little_history(shop):
    people = shop.shoppers
    new = people[people["new_account"]]
    assert len(new) > 0
    assert (new["signed_up_at"] >= pd.Timestamp(SPEC.end - pd.Timedelta(days=14))).all()
    per_account = shop.events.groupby("account_id").size()
    old_ids = people.loc[~people["new_account"], "account_id"]
    assert per_account.reindex(new["account_id"]).fillna(0).median() < per_account.reindex(old_ids).median()


@pytest.mark.parametrize("bad, message", [
    ({"n_items": 10}, "n_items"),
    ({"n_accounts": 5}, "n_accounts"),
    ({"shared_account_share": 0.9}, "shared_account_share"),
    ({"days": 3}, "days"),
])
def test_an_impossible_spec_is_refused_with_the_field_named(bad, message):
    with pytest.raises(ValueError, match=message):
        ShopSpec(**bad)
