"""The alert inbox over HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from inloop.alerts import list_alerts
from inloop.api.deps import WriteAccess
from inloop.api.resources import PlatformDatabaseDep

router = APIRouter(prefix="/alerts", tags=["alerts"])


class AlertPublic(BaseModel):
    id: int
    domain: str
    concern_id: str | None
    source: str
    title: str
    message: str
    severity: str
    status: str
    occurrences: int
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    evidence: dict[str, Any]


@router.get("", response_model=list[AlertPublic], summary="Alerts, newest first (repeats grouped)")
def read_alerts(
    _: WriteAccess,
    database: PlatformDatabaseDep,
    domain: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[Literal["open", "resolved"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertPublic]:
    return [AlertPublic.model_validate(a, from_attributes=True) for a in list_alerts(domain, status, limit, db_url=database.url)]
