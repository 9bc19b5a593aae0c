"""Observed outcomes (e.g. a loan's default after 12 months) for live-test-set performance."""

from __future__ import annotations

import datetime as dt
import math

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from inloop.api.deps import WriteAccess
from inloop.api.inputs import RequestBody, Timestamp
from inloop.api.resources import PlatformDatabaseDep
from inloop.db.models import Label, Prediction, utcnow
from inloop.domains import discover_domains

router = APIRouter(prefix="/labels", tags=["labels"])


class LabelCreate(RequestBody):
    # No whitespace stripping: every rule below is checked on the value as sent, as the schema says.
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "anyOf": [{"required": ["request_id"], "properties": {"request_id": {"type": "string"}}},
                  {"required": ["subject_id"], "properties": {"subject_id": {"type": "string"}}}],
        "description": "An observed outcome; it names the prediction (request_id) or the subject it belongs to."})

    domain: str = Field(min_length=1, max_length=64, description="An installed domain (404 otherwise).")
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64, description="e.g. default_12m")
    value: float = Field(strict=True, description="The observed value (0/1 for a binary outcome).")
    request_id: str | None = Field(default=None, min_length=1, max_length=64,
                                   description="The prediction it belongs to (404 when it is not logged).")
    subject_id: str | None = Field(default=None, min_length=1, max_length=128,
                                   description="Or the subject (applicant, user).")
    observed_at: Timestamp | None = Field(default=None, description="When it was observed (default: now).")

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("value must be a finite number")
        return value

    @model_validator(mode="after")
    def _anchor(self) -> LabelCreate:
        if self.request_id is None and self.subject_id is None:
            raise ValueError("give request_id or subject_id: a label must say what it belongs to")
        return self


class LabelPublic(BaseModel):
    id: int
    domain: str
    name: str
    value: float
    request_id: str | None
    subject_id: str | None
    observed_at: dt.datetime


@router.post("", response_model=LabelPublic, status_code=status.HTTP_201_CREATED, summary="Record an observed outcome",
             responses={404: {"description": "Unknown domain or request id"},
                        409: {"description": "The request id belongs to another domain"}})
def create_label(body: LabelCreate, _: WriteAccess, database: PlatformDatabaseDep) -> LabelPublic:
    if body.domain not in discover_domains():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown domain {body.domain!r}")
    with database.session() as sess:
        if body.request_id is not None:
            pred_domain = sess.scalar(sa.select(Prediction.domain).where(Prediction.request_id == body.request_id))
            if pred_domain is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"no logged prediction with request id {body.request_id!r}")
            if pred_domain != body.domain:
                raise HTTPException(status.HTTP_409_CONFLICT,
                                    f"request {body.request_id!r} belongs to domain {pred_domain!r}, not {body.domain!r}")
        row = Label(domain=body.domain, name=body.name, value=body.value, request_id=body.request_id,
                    subject_id=body.subject_id, observed_at=body.observed_at or utcnow())
        sess.add(row)
        sess.flush()
        return LabelPublic.model_validate(row, from_attributes=True)
