"""Privacy: forget a person (``POST /subjects/{domain}/{subject_id}/erasure``), with a per-store receipt."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from inloop.api.deps import WriteAccess
from inloop.privacy import ErasureError, forget

router = APIRouter(prefix="/subjects", tags=["privacy"])


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=3, max_length=2000, description="Why, e.g. 'GDPR art. 17 request #123'.")
    requested_by: str = Field(min_length=1, max_length=200, description="Who asks (kept in the deletion register).")


class StorePublic(BaseModel):
    store: str
    action: str
    removed: int
    files: int
    remaining: int
    detail: str


class ErasurePublic(BaseModel):
    domain: str
    subject_id: str
    erasure_id: int
    status: str = Field(description="'done' (no store holds the subject any more) or 'incomplete'.")
    requested_at: dt.datetime
    completed_at: dt.datetime
    runs: int
    already_erased: bool
    removed: int
    remaining: int
    stores: list[StorePublic]
    not_covered: list[str] = Field(description="What this erasure does not reach (see docs/privacy.md).")


@router.post(
    "/{domain}/{subject_id}/erasure", response_model=ErasurePublic,
    summary="Forget a person: delete or anonymise them in every store (idempotent)",
    responses={404: {"description": "Unknown domain, or a domain without person-level subjects"},
               422: {"description": "Invalid subject id, reason or requester"}},
)
def erase_subject(
    domain: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$")],
    subject_id: Annotated[str, Path(min_length=1, max_length=128, description="The person's id in that domain.")],
    body: ErasureRequest, _: WriteAccess,
) -> ErasurePublic:
    try:
        receipt = forget(domain, subject_id, reason=body.reason, requested_by=body.requested_by)
    except ErasureError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    return ErasurePublic.model_validate(receipt.to_dict())
