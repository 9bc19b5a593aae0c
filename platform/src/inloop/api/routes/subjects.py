"""Privacy: forget a person (``POST /subjects/{domain}/{subject_id}/erasure``), with a per-store receipt.

One operation per domain that keeps people, so the schema states each domain's subject-id
format (a credit application id is not a shop account number) and a request the schema accepts
is never refused for its id.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from inloop.api.deps import WriteAccess
from inloop.api.inputs import STRIPPED, RequestBody, not_blank
from inloop.privacy import ErasureError, forget

__all__ = ["erasure_router"]


class ErasureRequest(RequestBody):
    # Checked as sent (the schema's rules), then stripped: the minimum lengths are stated as patterns.
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=3, max_length=2000, pattern=not_blank(3),
                                 description="Why, e.g. 'GDPR art. 17 request #123'."), STRIPPED]
    requested_by: Annotated[str, Field(min_length=1, max_length=200, pattern=not_blank(1),
                                       description="Who asks (kept in the deletion register)."), STRIPPED]


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


def erasure_router(domains: Mapping[str, Any]) -> APIRouter:
    """``POST /subjects/<domain>/{subject_id}/erasure`` for each installed domain that keeps people."""
    router = APIRouter(prefix="/subjects", tags=["privacy"])
    for name, plugin in sorted(domains.items()):
        if getattr(plugin, "subject_eraser", None) is None:
            continue
        eraser = plugin.subject_eraser()
        router.add_api_route(
            f"/{name}/{{subject_id}}/erasure", _erase_in(name, eraser.id_pattern.pattern, eraser.subject),
            methods=["POST"], response_model=ErasurePublic, operation_id=f"erase_{name}_subject",
            summary=f"Forget a {eraser.subject} of {name}: delete or anonymise them in every store (idempotent)",
            responses={422: {"description": "Invalid subject id, reason or requester"}})
    return router


def _erase_in(domain: str, id_pattern: str, subject: str) -> Callable[..., ErasurePublic]:
    def erase_subject(subject_id: str, body: ErasureRequest, _: str) -> ErasurePublic:
        try:
            receipt = forget(domain, subject_id, reason=body.reason, requested_by=body.requested_by)
        except ErasureError as exc:
            raise HTTPException(exc.status_code, str(exc)) from None
        return ErasurePublic.model_validate(receipt.to_dict())

    # The id's format is the domain's own; FastAPI reads it from this signature (and states it in the schema).
    subject_id = Annotated[str, Path(pattern=id_pattern, description=f"The {subject}'s id ({id_pattern}).")]
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    erase_subject.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("subject_id", kind, annotation=subject_id),
         inspect.Parameter("body", kind, annotation=ErasureRequest),
         inspect.Parameter("_", kind, annotation=WriteAccess)], return_annotation=ErasurePublic)
    return erase_subject
