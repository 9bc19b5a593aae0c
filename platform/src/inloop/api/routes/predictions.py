"""Replay: read back a logged prediction, and re-run it on another model version."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel

from inloop.api.deps import WriteAccess
from inloop.incidents.replay import ReplayNotSupportedError, replay
from inloop.predictions import UnknownRequestError, get_prediction

router = APIRouter(prefix="/predictions", tags=["predictions"])

RequestIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="The prediction's request id.")]


class PredictionPublic(BaseModel):
    request_id: str
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


@router.get("/{request_id}", response_model=PredictionPublic, summary="What the system saw and answered",
            responses={404: {"description": "No prediction with that request id"}})
def read_prediction(request_id: RequestIdPath, _: WriteAccess) -> PredictionPublic:
    try:
        entry = get_prediction(request_id)
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
        result = replay(request_id, against)
    except UnknownRequestError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except (ReplayNotSupportedError, LookupError, ValueError) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return ReplayPublic(logged=PredictionPublic.model_validate(result.record, from_attributes=True),
                        rerun=RerunPublic.model_validate(result.as_dict()["rerun"]))
