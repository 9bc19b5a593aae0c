"""Dependencies for route signatures, as ``Annotated`` aliases (FastAPI's convention).

They are ``async def`` on purpose: they do no I/O, and FastAPI runs a plain ``def`` dependency in
the thread pool — four thread hops per served prediction for nothing.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from inloop.api.prediction_writer import PredictionWriter
from inloop.predictions import PredictionEntry
from inloop.settings import Settings, get_settings

__all__ = ["PredictionLog", "RequestId", "SettingsDep", "WriteAccess", "token_matches"]

_bearer = HTTPBearer(auto_error=False, description="The API token printed by `inloop up` (data dir: api-token).")


async def _settings() -> Settings:
    return get_settings()


SettingsDep = Annotated[Settings, Depends(_settings)]


def token_matches(expected: str, presented: str | None) -> bool:
    """Whether ``presented`` is the API token (constant-time; also used before the body is read)."""
    return presented is not None and secrets.compare_digest(presented.encode(), expected.encode())


async def _require_token(request: Request,
                   credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    expected: str = request.app.state.api_token
    if credentials is None or not token_matches(expected, credentials.credentials):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong API token (Authorization: Bearer <token>)",
                            headers={"WWW-Authenticate": "Bearer"})
    return "token"


WriteAccess = Annotated[str, Depends(_require_token)]


async def _request_id(request: Request) -> str:
    return request.state.request_id  # issued by the server: unique (see RequestContext)


RequestId = Annotated[str, Depends(_request_id)]


class _PredictionLog:
    """What a route uses to log the prediction it served (off the hot path).

    Entries are tagged with the client's ``X-Request-ID`` (the correlation id) here, so a domain
    route only sets the server's request id.
    """

    def __init__(self, writer: PredictionWriter | None, client_request_id: str | None = None) -> None:
        self._writer = writer
        self._client_request_id = client_request_id

    @property
    def enabled(self) -> bool:
        return self._writer is not None

    def record(self, entry: PredictionEntry) -> str:
        """Hand ``entry`` to the background writer; returns its request id."""
        if entry.client_request_id is None:
            entry.client_request_id = self._client_request_id
        if self._writer is not None:
            self._writer.submit(entry)
        return entry.request_id


async def _prediction_log(request: Request) -> _PredictionLog:
    return _PredictionLog(request.app.state.prediction_writer, getattr(request.state, "client_request_id", None))


PredictionLog = Annotated[_PredictionLog, Depends(_prediction_log)]
