"""Credit decisions over HTTP: ``POST /credit/decisions`` for the loan front end.

Thin: the body is validated (types, categories, plausible physical bounds), the decision service
decides, and the prediction-log entry goes to the platform's batched writer (off the hot path).
Values that are readable but implausible for the *population* (a duration in milliseconds) are
decided and left to monitoring, as on the real live path: the schema check and the drift report
are what catch a unit change, not the front end's validation.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from inloop.api.deps import PredictionLog, RequestId, WriteAccess
from inloop.api.inputs import RequestBody, Timestamp, WholeNumber
from inloop.canary import routes_to_challenger
from inloop.settings import get_settings
from inloop.stability import NonFiniteError

__all__ = ["load_models", "reload_models", "router"]

router = APIRouter()
_lock = threading.Lock()
_state: dict[str, Any] = {}


def load_models() -> str:
    """At start-up: forget any earlier service, then load the champion and the policy in force."""
    with _lock:
        _state.clear()
    return reload_models()


def reload_models() -> str:
    """Load the champion (and the challenger, if any) and the policy again; only a successful load
    replaces what serves now."""
    from credit.lib.registry import load_challenger_service, load_decision_service

    service = load_decision_service()
    challenger = load_challenger_service(service.policy)
    if challenger is not None and challenger.model_version == service.model_version:
        challenger = None
    with _lock:
        _state["service"], _state["challenger"] = service, challenger
    canary = (f"; challenger v{challenger.model_version} serves {get_settings().canary_share:.0%} (canary)"
              if challenger is not None else "")
    return f"{service.model_name} v{service.model_version}, policy {service.policy.version}{canary}"


AgeBand = Literal["18-25", "26-35", "36-50", "51-65", "66+"]
Channel = Literal["web", "app", "partner", "branch"]
Permit = Literal["citizen", "permanent", "eu_worker", "temporary"]


class ApplicationCreate(RequestBody):
    """A loan application as the front end sends it."""

    # Numbers are strict (no "2400" strings, no true/false); the time is an ISO-8601 string in JSON.
    model_config = ConfigDict(extra="forbid")

    application_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$",
                                       description="The front end's id; the request id when omitted.")
    applied_at: Timestamp | None = Field(default=None, description="When it was submitted (default: now).")
    income_monthly_eur: float = Field(strict=True, gt=0, le=10_000_000, description="Net monthly income in EUR.")
    employment_years: float = Field(strict=True, ge=0, le=80)
    age_band: AgeBand
    loan_amount_eur: float = Field(strict=True, gt=0, le=10_000_000)
    loan_duration_months: WholeNumber = Field(ge=1, le=600)
    existing_credits: WholeNumber = Field(ge=0, le=1000)
    channel: Channel
    residence_permit: Permit
    application_duration_seconds: float = Field(strict=True, ge=0, le=1e12, description="Time spent filling in the form.")


class ReasonPublic(BaseModel):
    code: str
    text: str
    contribution: float


class DecisionPublic(BaseModel):
    request_id: str
    application_id: str
    decision: Literal["approve", "refer", "reject"]
    probability_of_default: float
    reasons: list[ReasonPublic]
    policy_version: str
    model_name: str
    model_version: str
    live_test_set: bool


@router.post(
    "/decisions",
    response_model=DecisionPublic,
    summary="Decide a loan application, with reason codes",
    responses={503: {"description": "No champion model loaded yet"}},
)
def create_decision(body: ApplicationCreate, _: WriteAccess, prediction_log: PredictionLog,
                    request_id: RequestId) -> DecisionPublic:
    service = _state.get("service")
    if service is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "no champion credit model loaded: run the credit pipeline, then POST /models/reload")
    application = body.model_dump()
    application["application_id"] = body.application_id or request_id
    application["applied_at"] = (body.applied_at or dt.datetime.now(dt.UTC)).isoformat()
    # The canary: a challenger decides for a small, stable share of applicants (by application id);
    # the champion's answer is computed beside it (not applied) so their agreement can be measured.
    challenger = _state.get("challenger")
    canary = challenger is not None and routes_to_challenger(application["application_id"])
    serving = challenger if canary else service
    start = time.perf_counter()
    try:
        (decision,) = serving.decide_many([application], log=False)
    except NonFiniteError as exc:
        # Non-finite inputs are the client's; a non-finite score is ours: never serve it.
        code = (status.HTTP_422_UNPROCESSABLE_CONTENT if any(k.startswith("features") for k in exc.problems)
                else status.HTTP_500_INTERNAL_SERVER_ERROR)
        raise HTTPException(code, f"not decided: {exc}") from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    latency_ms = (time.perf_counter() - start) * 1000
    (entry,) = serving.log_entries([decision], [application], latency_ms)
    entry.request_id = request_id
    if challenger is not None:
        entry.output["canary"] = {"role": "challenger" if canary else "champion",
                                  "champion_version": service.model_version,
                                  "challenger_version": challenger.model_version}
        if canary:
            try:
                (shadow,) = service.decide_many([application], log=False)
                entry.output["canary"].update(champion_decision=shadow.decision,
                                              champion_score=shadow.probability_of_default)
            except ValueError as exc:
                entry.output["canary"]["champion_error"] = str(exc)[:300]
    prediction_log.record(entry)
    out = decision.output()
    return DecisionPublic(request_id=request_id, application_id=decision.application_id, decision=out["decision"],
                          probability_of_default=out["probability_of_default"],
                          reasons=[ReasonPublic(**r) for r in out["reasons"]], policy_version=decision.policy_version,
                          model_name=decision.model_name, model_version=decision.model_version,
                          live_test_set=decision.live_test_set)
