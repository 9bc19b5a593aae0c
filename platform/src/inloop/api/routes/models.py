"""The canary before promotion: ``GET /models/{domain}/canary`` shows the challenger beside the champion."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel

from inloop.api.deps import SettingsDep, WriteAccess

router = APIRouter(tags=["models"])


class GatePublic(BaseModel):
    name: str
    passed: bool
    detail: str


class CanaryPublic(BaseModel):
    domain: str
    model_name: str
    champion: str | None
    challenger: str | None
    canary_share: float
    report: dict[str, Any]
    gates: list[GatePublic]
    would_promote: bool


@router.get("/models/{domain}/canary", response_model=CanaryPublic,
            summary="The challenger's own metrics beside the champion's, and whether promotion would pass",
            responses={404: {"description": "Unknown domain, or the domain serves no model"}})
def canary(domain: str, _: WriteAccess, settings: SettingsDep) -> CanaryPublic:
    from inloop.canary import canary_gates, canary_report
    from inloop.domains import UnknownDomainError
    from inloop.serving import served_model

    try:
        spec = served_model(domain)
    except (UnknownDomainError, LookupError, TypeError) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    report = canary_report(domain, spec)
    gates = canary_gates(report)
    return CanaryPublic(domain=domain, model_name=spec.model_name, champion=report.champion,
                        challenger=report.challenger, canary_share=settings.canary_share,
                        report=report.to_dict(), gates=[GatePublic(**g.__dict__) for g in gates],
                        would_promote=all(g.passed for g in gates))
