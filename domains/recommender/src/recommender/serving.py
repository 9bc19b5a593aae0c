"""What the recommender serves and reads: the model spec for the platform's rollback, model-card and
dependency tooling, and the serving slot the page route renders with (the ``served_model``,
``served_models`` and ``data_sources`` capabilities of :mod:`recommender.domain`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inloop.serving import ModelSet, ServedModel, ServedModels
from recommender.lib.recommendations import COMPONENT
from recommender.lib.registry import MODEL_NAME

if TYPE_CHECKING:
    from recommender.lib.page import PageService

__all__ = ["SERVED_MODEL", "ShopPages", "load_page_services", "served_models", "source_schemas"]

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


@dataclass(frozen=True)
class ShopPages:
    """A page service and the shop it serves: its known accounts and its clock (the default view time)."""

    service: PageService
    accounts: frozenset[int]
    clock: dt.datetime


def load_page_services() -> ModelSet[ShopPages]:
    """Pages on the champion model, and on the challenger (the canary) if any, over the shop's catalog and
    clickstream (here the seeded synthetic shop, regenerated exactly as the pipeline made it)."""
    import dataclasses

    import mlflow

    from inloop import tracking
    from inloop.canary import challenger_version
    from inloop.privacy import drop_erased
    from inloop.settings import get_settings
    from recommender.lib.boxes import Assortment
    from recommender.lib.history import HistoryStore
    from recommender.lib.page import PageConfig, PageService
    from recommender.lib.popularity import fit_popularity
    from recommender.lib.shop import ShopSpec, generate_shop

    pyfunc, version = tracking.load_champion(MODEL_NAME)
    shop = generate_shop(ShopSpec().scaled(get_settings().demo_data_scale))
    # The simulated shop database honours the deletion register: a forgotten account is unknown (404).
    shoppers, _ = drop_erased("recommender", shop.shoppers, "account_id")
    events, _ = drop_erased("recommender", shop.events, "account_id")
    shop = dataclasses.replace(shop, shoppers=shoppers, events=events)
    service = PageService(Assortment(shop.catalog), HistoryStore(shop.events), pyfunc.unwrap_python_model().model,
                          fit_popularity(shop.events, len(shop.catalog)), PageConfig(),
                          model_version=f"{MODEL_NAME}/{version}")
    accounts = frozenset(int(a) for a in shop.shoppers["account_id"].unique())
    champion = ShopPages(service, accounts, shop.spec.end)
    detail = f"{MODEL_NAME} v{version}, page config {service.config.version}"
    canary = challenger_version(MODEL_NAME)
    if canary is None or str(canary) == str(version):
        return ModelSet(champion=champion, champion_version=str(version), detail=detail)
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/{canary}").unwrap_python_model().model
    challenger = PageService(service.assortment, service.history, model, service.popularity, service.config,
                             model_version=f"{MODEL_NAME}/{canary}")
    return ModelSet(champion=champion, champion_version=str(version), detail=detail,
                    challenger=ShopPages(challenger, accounts, shop.spec.end), challenger_version=str(canary))


def served_models() -> ServedModels[ShopPages]:
    """A serving slot for ``GET /recommender/pages/{page}`` (the API keeps one per app)."""
    return ServedModels("recommender", load_page_services,
                        not_loaded="no champion recommender loaded: run the recommender pipeline, then POST /models/reload")
