"""The recommender over HTTP: ``GET /recommender/pages/{page}?user_id=&device=`` for the web shop.

Thin: it validates the request, asks the page service for the boxes, and hands the per-box
prediction-log entries to the platform's batched writer (off the hot path). The service is built
at start-up from the champion model in MLflow and the shop's catalog and clickstream (here the
seeded synthetic shop, regenerated exactly as the pipeline made it).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel

from inloop.api.deps import PredictionLog, RequestId, WriteAccess
from inloop.api.inputs import Timestamp
from inloop.api.serving import live, served_models
from inloop.predictions import part_request_id
from inloop.serving import ServedModels
from inloop.stability import NonFiniteError
from recommender.lib.recommendations import COMPONENT as RECOMMENDATIONS
from recommender.serving import ShopPages

__all__ = ["router"]

router = APIRouter()
#: The app's recommender serving slot (:func:`recommender.serving.served_models`): champion, challenger, canary.
RecommenderModels = Annotated[ServedModels[ShopPages], Depends(served_models("recommender"))]


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
    models: RecommenderModels,
    device: Annotated[Literal["desktop", "app"], Query()] = "desktop",
    at: Annotated[Timestamp | None, Query(description="View time, with a time zone; default: the shop's clock")] = None,
) -> PagePublic:
    now = live(models)  # 503 while no champion is loaded; one snapshot for the whole request
    shop = now.champion
    if user_id not in shop.accounts:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown user {user_id}: no such shop account")
    if at is not None and at.tzinfo is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "at needs a time zone, e.g. 2026-11-01T12:00:00Z")
    when = at or shop.clock
    # The canary: a challenger renders the page for a small, stable share of accounts; for those, the
    # champion's recommendations are computed beside it (not shown) so their agreement can be measured.
    route = now.route(f"account:{user_id}")
    try:
        view, entries = route.model.service.render(user_id, page, device, when, log=False)
    except NonFiniteError as exc:  # never serve a ranking by NaN; the guard has raised an alert
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, f"page not served: {exc}") from None

    def champion_items(champion: ShopPages) -> dict[str, Any]:
        shadow = champion.service.render(user_id, page, device, when, log=False)[1]
        return {"champion_items": next((
            [i["item_id"] for i in e.output["items"]] for e in shadow if e.component == RECOMMENDATIONS), [])}

    for entry in entries:
        if entry.component == RECOMMENDATIONS:
            route.stamp(entry, champion_items)
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
