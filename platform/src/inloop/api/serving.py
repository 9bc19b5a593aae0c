"""A domain route's access to its serving slot (:class:`inloop.serving.ServedModels`).

The app keeps one slot per domain that serves models (``app.state.served_models``); a route declares
``Annotated[ServedModels[...], Depends(served_models("credit"))]`` and calls :func:`live` once, in its
body, so a malformed request is still told what is wrong (422) before it is told no model serves (503).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import HTTPException, Request, status

from inloop.serving import Live, NoChampionError, ServedModels

__all__ = ["live", "served_models"]

S = TypeVar("S")


def served_models(domain: str) -> Callable[[Request], Awaitable[ServedModels[Any]]]:
    """A FastAPI dependency: the app's serving slot of ``domain``."""

    async def dependency(request: Request) -> ServedModels[Any]:
        slots: dict[str, ServedModels[Any]] = request.app.state.served_models
        return slots[domain]

    return dependency


def live(slot: ServedModels[S]) -> Live[S]:
    """The models serving now; 503 (with the domain's own hint) while no champion is loaded."""
    try:
        return slot.live()
    except NoChampionError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
