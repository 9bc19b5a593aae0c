"""The recommender over HTTP: ``GET /recommender/pages/{page}?user_id=&device=`` for the web shop.

Thin: it validates the request, asks the page service for the boxes, and hands the per-box
prediction-log entries to the platform's batched writer (off the hot path). The service is built
at start-up from the champion model in MLflow and the shop's catalog and clickstream (here the
seeded synthetic shop, regenerated exactly as the pipeline made it).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel

from inloop.api.deps import PredictionLog, RequestId, WriteAccess
from inloop.api.inputs import Timestamp
from inloop.canary import routes_to_challenger
from inloop.predictions import part_request_id
from inloop.settings import get_settings
from inloop.stability import NonFiniteError
from recommender.lib.recommendations import COMPONENT as RECOMMENDATIONS

__all__ = ["load_models", "reload_models", "router"]

router = APIRouter()
_lock = threading.Lock()
_state: dict[str, Any] = {}


def _build_service() -> tuple[Any, Any, str]:
    import dataclasses

    from inloop import tracking
    from inloop.privacy import drop_erased
    from inloop.settings import get_settings
    from recommender.lib.boxes import Assortment
    from recommender.lib.history import HistoryStore
    from recommender.lib.page import PageConfig, PageService
    from recommender.lib.popularity import fit_popularity
    from recommender.lib.registry import MODEL_NAME
    from recommender.lib.shop import ShopSpec, generate_shop

    pyfunc, version = tracking.load_champion(MODEL_NAME)
    shop = generate_shop(ShopSpec().scaled(get_settings().demo_data_scale))
    # The simulated shop database honours the deletion register: a forgotten account is unknown (404).
    shoppers, _ = drop_erased("recommender", shop.shoppers, "account_id")
    events, _ = drop_erased("recommender", shop.events, "account_id")
    shop = dataclasses.replace(shop, shoppers=shoppers, events=events)
    popularity = fit_popularity(shop.events, len(shop.catalog))
    service = PageService(Assortment(shop.catalog), HistoryStore(shop.events), pyfunc.unwrap_python_model().model,
                          popularity, PageConfig(), model_version=f"{MODEL_NAME}/{version}")
    return service, shop, f"{MODEL_NAME} v{version}"


def _build_challenger(champion: Any) -> Any | None:
    """The same page service on the ``challenger`` model (the canary), or None when there is none."""
    import mlflow

    from inloop.canary import challenger_version
    from recommender.lib.page import PageService
    from recommender.lib.registry import MODEL_NAME

    version = challenger_version(MODEL_NAME)
    if version is None or f"{MODEL_NAME}/{version}" == champion.model_version:
        return None
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/{version}").unwrap_python_model().model
    return PageService(champion.assortment, champion.history, model, champion.popularity, champion.config,
                       model_version=f"{MODEL_NAME}/{version}")


def load_models() -> str:
    """At start-up: forget any earlier service, then build one on the champion (raises if none)."""
    with _lock:
        _state.clear()
    return reload_models()


def reload_models() -> str:
    """Build a new page service; only a successful build replaces the one serving now."""
    service, shop, label = _build_service()
    challenger = _build_challenger(service)
    with _lock:
        _state.update(service=service, shop=shop, label=label, challenger=challenger,
                      accounts=frozenset(int(a) for a in shop.shoppers["account_id"].unique()))
    canary = (f"; challenger {challenger.model_version} serves {get_settings().canary_share:.0%} (canary)"
              if challenger is not None else "")
    return f"{label}, page config {service.config.version}{canary}"



class ItemPublic(BaseModel):
    item_id: int
    name: str
    category: str
    gender_target: str
    rank: int
    reason: str
    evidence: dict[str, Any]


class BoxPublic(BaseModel):
    component: str
    request_id: str
    model_name: str | None
    model_version: str | None
    fallback: bool
    items: list[ItemPublic]


class PagePublic(BaseModel):
    page: str
    user_id: int
    device: str
    at: dt.datetime
    page_view_id: str
    config_version: str
    shared_account_detected: bool
    boxes: list[BoxPublic]


@router.get(
    "/pages/{page}",
    response_model=PagePublic,
    summary="The home-page boxes for a shopper, each item with its provenance",
    responses={404: {"description": "Unknown user"}, 503: {"description": "No champion model loaded yet"}},
)
def read_page(
    page: Annotated[Literal["home", "men", "women"], Path(description="Which page")],
    user_id: Annotated[int, Query(ge=0, le=10**9, description="The shopper's account id")],
    _: WriteAccess,
    prediction_log: PredictionLog,
    request_id: RequestId,
    device: Annotated[Literal["desktop", "app"], Query()] = "desktop",
    at: Annotated[Timestamp | None, Query(description="View time, with a time zone; default: the shop's clock")] = None,
) -> PagePublic:
    service, shop = _state.get("service"), _state.get("shop")
    if service is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "no champion recommender loaded: run the recommender pipeline, then POST /models/reload")
    if user_id not in _state["accounts"]:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown user {user_id}: no such shop account")
    if at is not None and at.tzinfo is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "at needs a time zone, e.g. 2026-11-01T12:00:00Z")
    when = at or shop.spec.end
    # The canary: a challenger renders the page for a small, stable share of accounts; for those, the
    # champion's recommendations are computed beside it (not shown) so their agreement can be measured.
    challenger = _state.get("challenger")
    canary = challenger is not None and routes_to_challenger(f"account:{user_id}")
    try:
        view, entries = (challenger if canary else service).render(user_id, page, device, when, log=False)
        shadow = service.render(user_id, page, device, when, log=False)[1] if canary else []
    except NonFiniteError as exc:  # never serve a ranking by NaN; the guard has raised an alert
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, f"page not served: {exc}") from None
    if challenger is not None:
        champion_items = {e.component: [i["item_id"] for i in e.output["items"]] for e in shadow}
        for entry in entries:
            if entry.component == RECOMMENDATIONS:
                entry.output["canary"] = {"role": "challenger" if canary else "champion",
                                          "champion_version": service.model_version.rpartition("/")[2],
                                          "challenger_version": challenger.model_version.rpartition("/")[2]}
                if canary:
                    entry.output["canary"]["champion_items"] = champion_items.get(RECOMMENDATIONS, [])
    for entry in entries:
        entry.request_id = part_request_id(request_id, entry.component)  # always retrievable (<= 64 chars)
        prediction_log.record(entry)
    return PagePublic(
        page=page, user_id=user_id, device=device, at=view.at, page_view_id=view.page_view_id,
        config_version=view.config.version, shared_account_detected=view.shared_account.shared,
        boxes=[BoxPublic(component=b.component, request_id=part_request_id(request_id, b.component),
                         model_name=b.model_name,
                         model_version=b.model_version, fallback=b.fallback,
                         items=[ItemPublic.model_validate(i.as_record()) for i in b.items]) for b in view.boxes],
    )
