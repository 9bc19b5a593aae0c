"""The recommender's upstream sources for the data-quality report (the ``data_quality_sources`` hook).

The catalog comes from merchandising's product data, the clickstream from the shop's tracking;
both are the synthetic shop here. Each rule says why it holds, for the owner who has to fix it.
Owners and contacts are in the project card's ``data_sources``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd

from inloop.data_quality import QualitySource

__all__ = ["catalog_expectations", "event_expectations", "sources"]


@lru_cache(maxsize=1)
def _shop(scale: float) -> Any:
    from recommender.lib.shop import ShopSpec, generate_shop

    return generate_shop(ShopSpec().scaled(scale))


def _current_shop() -> Any:
    from inloop.settings import get_settings

    return _shop(get_settings().demo_data_scale)


def catalog_expectations(frame: pd.DataFrame) -> list:
    import great_expectations as gx

    from recommender.lib.shop import CATEGORIES, GENDER_TARGETS

    ex = gx.expectations
    return [
        ex.ExpectColumnValuesToNotBeNull(column="item_id", meta={"why": "every article has an id"}),
        ex.ExpectColumnValuesToBeUnique(column="item_id", meta={"why": "one row per article"}),
        ex.ExpectColumnValuesToBeInSet(column="gender_target", value_set=list(GENDER_TARGETS), meta={
            "why": "the men's and women's pages filter on it: an untagged article can land on the wrong page"}),
        ex.ExpectColumnValuesToBeInSet(column="category", value_set=list(CATEGORIES),
                                       meta={"why": "the shop's category tree"}),
        ex.ExpectColumnValuesToBeBetween(column="price", min_value=1, max_value=5_000,
                                         meta={"why": "price in EUR; zero, negative or cents is a data error"}),
    ]


def event_expectations(frame: pd.DataFrame) -> list:
    import great_expectations as gx

    from recommender.lib.shop import DEVICES, EVENT_TYPES

    ex = gx.expectations
    return [
        ex.ExpectColumnValuesToNotBeNull(column="account_id", meta={"why": "an event without an account trains nothing"}),
        ex.ExpectColumnValuesToNotBeNull(column="ts", meta={"why": "the time split and last-seen need the time"}),
        ex.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(EVENT_TYPES),
                                       meta={"why": "the events the models weigh (view 1, cart 3, purchase 5)"}),
        ex.ExpectColumnValuesToBeInSet(column="device", value_set=list(DEVICES),
                                       meta={"why": "last seen merges desktop and app by device"}),
        ex.ExpectColumnValuesToBeBetween(column="item_id", min_value=0, meta={"why": "an article id from the catalog"}),
    ]


def sources() -> list[QualitySource]:
    return [
        QualitySource("catalog", lambda: _current_shop().catalog, catalog_expectations, key_columns=("item_id",)),
        QualitySource("shop_events", lambda: _current_shop().events, event_expectations,
                      key_columns=("account_id", "session_id", "ts")),
    ]
