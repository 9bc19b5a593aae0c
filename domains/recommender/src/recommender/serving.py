"""What the recommender serves and reads, for the platform's rollback, model-card and dependency tooling
(the ``served_model`` and ``data_sources`` hooks of :mod:`recommender.domain`)."""

from __future__ import annotations

from typing import Any

from inloop.serving import ServedModel
from recommender.lib.recommendations import COMPONENT
from recommender.lib.registry import MODEL_NAME

__all__ = ["SERVED_MODEL", "source_schemas"]

#: The canary compares ranked lists: agreement is the share of the champion's "recommended for you" items
#: the challenger also showed; half of them is the product owner's bar for a model that ranks differently.
SERVED_MODEL = ServedModel(domain="recommender", model_name=MODEL_NAME, component=COMPONENT,
                           slices_artifact="evaluation/slices.json", version_prefix=f"{MODEL_NAME}/",
                           items_key="items", min_agreement=0.5)


def source_schemas() -> dict[str, Any]:
    """Column names and dtypes of the shop's catalog, shoppers and clickstream (a small shop of the same make)."""
    from recommender.lib.shop import ShopSpec, generate_shop

    shop = generate_shop(ShopSpec(n_items=200, n_accounts=40))
    return {"catalog": shop.catalog.dtypes.astype(str).to_dict(), "shoppers": shop.shoppers.dtypes.astype(str).to_dict(),
            "events": shop.events.dtypes.astype(str).to_dict()}
