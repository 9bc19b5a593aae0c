"""The alert inbox over HTTP: read alerts, and acknowledge, assign or resolve one (recorded with who and when)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from inloop.alerts import (
    AlertConflict,
    AlertNotFound,
    AlertRecord,
    acknowledge_alert,
    alert_events,
    assign_alert,
    get_alert,
    list_alerts,
    resolve_alert,
)
from inloop.api.deps import WriteAccess
from inloop.api.resources import PlatformDatabaseDep

router = APIRouter(prefix="/alerts", tags=["alerts"])

# Checked as sent (no stripping before the limits), so the schema says exactly what is accepted;
# the alerts functions then store the name and note trimmed.
Person = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]*[^\x00-\x1f\s][^\x00-\x1f]*$",
                              description="The person's name or e-mail, recorded with the action.")]
Note = Annotated[str, Field(max_length=5000)]


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
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: str | None = None
    assignee: str | None = None
    resolved_at: dt.datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None


class AlertEventPublic(BaseModel):
    at: dt.datetime
    actor: str
    action: str
    assignee: str | None
    note: str | None


class AlertDetail(AlertPublic):
    events: list[AlertEventPublic]


class Acknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: Person
    note: Note | None = None


class Assign(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: Person
    by: Person
    note: Note | None = None


class Resolve(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: Person
    note: Annotated[str, Field(min_length=1, max_length=5000, pattern=r"\S",
                               description="What was done, or why no action is needed (not blank).")]


AlertId = Annotated[int, Path(ge=1, le=2_147_483_647, description="The alert's number (#id in the console).")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No alert has this id."},
    409: {"description": "The alert is already resolved (or already acknowledged / assigned to that person)."},
    422: {"description": "The body is missing a name or note, or has unknown fields."},
}


def _public(record: AlertRecord) -> AlertPublic:
    return AlertPublic.model_validate(record, from_attributes=True)


def _detail(alert_id: int, db_url: str) -> AlertDetail:
    record = get_alert(alert_id, db_url)
    events = [AlertEventPublic.model_validate(e, from_attributes=True) for e in alert_events(alert_id, db_url)]
    return AlertDetail(**_public(record).model_dump(), events=events)


def _acting(action: Any, db_url: str) -> AlertDetail:
    try:
        record = action()
    except AlertNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except AlertConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
    return _detail(record.id, db_url)


@router.get("", response_model=list[AlertPublic], summary="Alerts, newest first (repeats grouped)")
def read_alerts(
    _: WriteAccess,
    database: PlatformDatabaseDep,
    domain: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[Literal["open", "resolved"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    concern: Annotated[str | None, Query(max_length=128, description="Only this concern's alerts.")] = None,
) -> list[AlertPublic]:
    return [_public(a) for a in list_alerts(domain, status, limit, db_url=database.url, concern_id=concern)]


@router.get("/{alert_id}", response_model=AlertDetail, summary="One alert with what people did with it",
            responses={404: _ERRORS[404]})
def read_alert(_: WriteAccess, database: PlatformDatabaseDep, alert_id: AlertId) -> AlertDetail:
    try:
        return _detail(alert_id, database.url)
    except AlertNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


@router.post("/{alert_id}/acknowledge", response_model=AlertDetail, summary="Say you have seen an open alert",
             responses=_ERRORS)
def acknowledge(_: WriteAccess, database: PlatformDatabaseDep, alert_id: AlertId, body: Acknowledge) -> AlertDetail:
    return _acting(lambda: acknowledge_alert(alert_id, by=body.by, note=body.note, db_url=database.url), database.url)


@router.post("/{alert_id}/assign", response_model=AlertDetail, summary="Give an open alert to a person",
             responses=_ERRORS)
def assign(_: WriteAccess, database: PlatformDatabaseDep, alert_id: AlertId, body: Assign) -> AlertDetail:
    return _acting(lambda: assign_alert(alert_id, to=body.to, by=body.by, note=body.note, db_url=database.url), database.url)


@router.post("/{alert_id}/resolve", response_model=AlertDetail, summary="Close an open alert with a note",
             responses=_ERRORS)
def resolve(_: WriteAccess, database: PlatformDatabaseDep, alert_id: AlertId, body: Resolve) -> AlertDetail:
    return _acting(lambda: resolve_alert(alert_id, by=body.by, note=body.note, db_url=database.url), database.url)
