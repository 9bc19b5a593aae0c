"""A small synthetic shop and a page service trained on it, shared by the recommender's tests."""

from __future__ import annotations

import pytest

from recommender.lib.page import PageConfig, PageService
from recommender.lib.shop import ShopSpec, generate_shop

#: Small enough to train in a fraction of a second, big enough for ~40 households and real slices.
TEST_SHOP = ShopSpec(seed=7, n_items=600, n_accounts=800)


@pytest.fixture(scope="session")
def shop():
    return generate_shop(TEST_SHOP)


@pytest.fixture(scope="session")
def trained(shop):
    """(page service with the fixed default config, time split) — the model is trained on the split's past."""
    return PageService.trained_on(shop, PageConfig())
