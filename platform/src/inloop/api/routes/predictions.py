"""Replay: read back a logged prediction, and re-run it on another model version.

A prediction is found by the request id the server answered with (unique), or by the id the client
sent as ``X-Request-ID`` (a correlation id that may repeat: the newest entry with it, or every one
with ``GET /predictions?client_request_id=``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from inloop.api.deps import WriteAccess
from inloop.api.resources import PlatformDatabaseDep
from inloop.incidents.replay import ReplayNotSupportedError, replay
from inloop.predictions import (
    REQUEST_ID_PATTERN,
    UnknownRequestError,
    find_prediction,
    predictions_for_client_request,
)

router = APIRouter(prefix="/predictions", tags=["predictions"])

RequestIdPath = Annotated[str, Path(
    pattern=REQUEST_ID_PATTERN,
    description="The request id the server answered with (`X-Request-ID`, the body's `request_id`, a box's "
                "`request_id`), or the client's own `X-Request-ID` (then the newest prediction sent with it).")]


class PredictionPublic(BaseModel):
    request_id: str = Field(description="Issued by the server; unique.")
    client_request_id: str | None = Field(
        default=None, description="The `X-Request-ID` the client sent, if any: a correlation id, may repeat.")
    created_at: dt.datetime
    domain: str
    component: str
    model_name: str | None
    model_version: str | None
    policy_version: str | None
    features: dict[str, Any]
    output: dict[str, Any]
    live_test_set: bool


class OutputChangePublic(BaseModel):
    path: str
    logged: Any
    rerun: Any


class RerunPublic(BaseModel):
    against: str
    model_name: str | None
    model_version: str | None
    policy_version: str | None
    output: dict[str, Any]
    same_output: bool
    changes: list[OutputChangePublic]
    notes: str | None


class ReplayPublic(BaseModel):
    logged: PredictionPublic
    rerun: RerunPublic


@router.get("", response_model=list[PredictionPublic], summary="The predictions a client tagged with its request id",
            description="Every logged prediction whose request carried this `X-Request-ID`, newest first. "
                        "A client id may repeat (retries, reused ids); each prediction keeps its own "
                        "server-issued `request_id`.")
def list_predictions(
    client_request_id: Annotated[str, Query(pattern=r"^[A-Za-z0-9._-]{8,64}$",
                                            description="The `X-Request-ID` the client sent.")],
    _: WriteAccess,
    database: PlatformDatabaseDep,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many, newest first.")] = 20,
) -> list[PredictionPublic]:
    return [PredictionPublic.model_validate(e, from_attributes=True)
            for e in predictions_for_client_request(client_request_id, limit=limit, db_url=database.url)]


@router.get("/{request_id}", response_model=PredictionPublic, summary="What the system saw and answered",
            responses={404: {"description": "No prediction with that request id"}})
def read_prediction(request_id: RequestIdPath, _: WriteAccess, database: PlatformDatabaseDep) -> PredictionPublic:
    try:
        entry = find_prediction(request_id, db_url=database.url)
    except UnknownRequestError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return PredictionPublic.model_validate(entry, from_attributes=True)


@router.post("/{request_id}/replay", response_model=ReplayPublic, summary="Re-run the logged inputs on another model",
             responses={404: {"description": "Unknown request id"},
                        409: {"description": "The domain cannot re-run it, or the version is unknown"}})
def replay_prediction(
    request_id: RequestIdPath,
    _: WriteAccess,
    against: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$",
                                  description="Alias (champion) or version")] = "champion",
) -> ReplayPublic:
    try:
        result = replay(find_prediction(request_id).request_id, against)
    except UnknownRequestError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except (ReplayNotSupportedError, LookupError, ValueError) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return ReplayPublic(logged=PredictionPublic.model_validate(result.record, from_attributes=True),
                        rerun=RerunPublic.model_validate(result.as_dict()["rerun"]))
