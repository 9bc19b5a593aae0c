"""Credit decisions over HTTP: ``POST /credit/decisions`` for the loan front end.

Thin: the body is validated (types, categories, plausible physical bounds), the decision service
decides, and the prediction-log entry goes to the platform's batched writer (off the hot path).
Values that are readable but implausible for the *population* (a duration in milliseconds) are
decided and left to monitoring, as on the real live path: the schema check and the drift report
are what catch a unit change, not the front end's validation.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from credit.lib.decision import DecisionService
from inloop.api.deps import PredictionLog, RequestId, WriteAccess
from inloop.api.inputs import RequestBody, Timestamp, WholeNumber
from inloop.api.serving import live, served_models
from inloop.serving import ServedModels
from inloop.stability import NonFiniteError

__all__ = ["router"]

router = APIRouter()
#: The app's credit serving slot (:func:`credit.serving.served_models`): champion, challenger, canary.
CreditModels = Annotated[ServedModels[DecisionService], Depends(served_models("credit"))]


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
                    request_id: RequestId, models: CreditModels) -> DecisionPublic:
    now = live(models)  # 503 while no champion is loaded; one snapshot for the whole request
    if body.applied_at is not None and body.applied_at.tzinfo is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "applied_at needs a time zone")
    application = body.model_dump()
    application["application_id"] = body.application_id or request_id
    application["applied_at"] = (body.applied_at or dt.datetime.now(dt.UTC)).isoformat()
    # The canary: a challenger decides for a small, stable share of applicants (by application id);
    # the champion's answer is computed beside it (not applied) so their agreement can be measured.
    route = now.route(application["application_id"])
    serving = route.model
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
    route.stamp(entry, lambda champion: _champion_answer(champion, application))
    prediction_log.record(entry)
    out = decision.output()
    return DecisionPublic(request_id=request_id, application_id=decision.application_id, decision=out["decision"],
                          probability_of_default=out["probability_of_default"],
                          reasons=[ReasonPublic(**r) for r in out["reasons"]], policy_version=decision.policy_version,
                          model_name=decision.model_name, model_version=decision.model_version,
                          live_test_set=decision.live_test_set)


def _champion_answer(champion: DecisionService, application: dict[str, Any]) -> dict[str, Any]:
    """The champion's decision on a canary application (logged beside the challenger's, not applied)."""
    (shadow,) = champion.decide_many([application], log=False)
    return {"champion_decision": shadow.decision, "champion_score": shadow.probability_of_default}
