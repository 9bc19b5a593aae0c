"""Liveness, readiness and model reload."""

from __future__ import annotations

import contextlib
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel

from inloop.api.deps import WriteAccess
from inloop.api.resources import PlatformDatabaseDep
from inloop.resources import PlatformDatabase

router = APIRouter(tags=["health"])


class HealthPublic(BaseModel):
    status: Literal["ok"]


class ComponentStatus(BaseModel):
    ready: bool
    detail: str


class ReadinessPublic(BaseModel):
    status: Literal["ready", "degraded", "unavailable"]
    components: dict[str, ComponentStatus]


@router.get("/health", response_model=HealthPublic, summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.head("/health", response_class=Response, summary="Liveness for probes that send HEAD (no body)")
async def health_head() -> Response:
    return Response(status_code=status.HTTP_200_OK)


def _check_database(database: PlatformDatabase) -> ComponentStatus:
    import sqlalchemy as sa

    try:
        with database.read_session() as sess:
            sess.execute(sa.text("SELECT 1"))
        return ComponentStatus(ready=True, detail="reachable")
    except Exception as exc:
        return ComponentStatus(ready=False, detail=f"unreachable: {type(exc).__name__}")


@router.get(
    "/ready",
    response_model=ReadinessPublic,
    summary="Readiness: database, MLflow and each domain's models",
    responses={503: {"model": ReadinessPublic, "description": "Cannot serve: database down, or no domain has a model"}},
)
def ready(request: Request, response: Response, database: PlatformDatabaseDep) -> ReadinessPublic:
    """``ready``: everything answers. ``degraded`` (200): the database answers and at least one domain
    serves, but MLflow is unreachable (loaded models keep serving, no reload) or a domain has no model
    yet (its routes answer 503 and say why). ``unavailable`` (503): the database is down (nothing
    served could be logged) or no domain can serve at all."""
    probe = request.app.state.mlflow_probe
    components: dict[str, ComponentStatus] = {"database": _check_database(database),
                                              "mlflow": ComponentStatus(ready=probe.ready, detail=probe.detail)}
    served = request.app.state.served_models
    for name in dict.fromkeys([*request.app.state.domain_apis, *served]):
        # A domain's slot says whether its champion serves; a domain that serves no model is always ready.
        slot = served.get(name)
        components[f"models:{name}"] = (ComponentStatus(ready=True, detail="no models to load") if slot is None
                                        else ComponentStatus(ready=slot.status.ready, detail=slot.status.detail))
    models = [c for k, c in components.items() if k.startswith("models:")]
    if not components["database"].ready or (models and not any(c.ready for c in models)):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return ReadinessPublic(status="unavailable", components=components)
    everything = all(c.ready for c in components.values())
    return ReadinessPublic(status="ready" if everything else "degraded", components=components)


@router.head("/ready", response_class=Response, summary="Readiness for probes that send HEAD: 200 or 503, no body",
             responses={503: {"description": "Cannot serve (GET /ready says why)"}})
def ready_head(request: Request, database: PlatformDatabaseDep) -> Response:
    answer = Response(status_code=status.HTTP_200_OK)
    ready(request, answer, database)  # the same judgement as GET /ready; it sets 503 on `answer` when unavailable
    return Response(status_code=answer.status_code)


class ReloadPublic(BaseModel):
    domains: dict[str, ComponentStatus]


@router.post("/models/reload", response_model=ReloadPublic, summary="Reload every domain's models from MLflow")
def reload_models(request: Request, _: WriteAccess) -> ReloadPublic:
    """Ask each domain's serving slot to reload its champion. A failed reload keeps the loaded models serving."""
    out: dict[str, ComponentStatus] = {}
    for name, slot in request.app.state.served_models.items():
        with contextlib.suppress(Exception):  # the slot's status says what failed and what still serves
            slot.reload()
        out[name] = ComponentStatus(ready=slot.status.ready, detail=slot.status.detail)
    return ReloadPublic(domains=out)
