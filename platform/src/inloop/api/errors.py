"""One error shape for the whole API, always with the request id (documented in docs/api.md).

Every 4xx/5xx body is JSON with ``request_id`` (the id also answered as ``X-Request-ID``):

* ``{"detail": "<what is wrong>", "request_id": "..."}`` for every status but 422;
* ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}, ...], "error_count": N, "request_id": "..."}``
  for 422: one entry per problem (where, what, a machine-readable kind), the first
  :data:`MAX_LISTED_ERRORS` of them, and how many were found in all. The cap keeps a body of
  100,000 unknown keys from turning into a multi-megabyte answer built on the event loop.

The same shapes are what the OpenAPI schema states (:func:`document`), so clients and
schemathesis hold the server to them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send

__all__ = [
    "MAX_LISTED_ERRORS",
    "ErrorBody",
    "FieldProblem",
    "ValidationErrorBody",
    "document",
    "install",
    "send_error",
]

log = logging.getLogger("inloop.api")

#: A 422 lists at most this many problems (``error_count`` says how many there were).
MAX_LISTED_ERRORS = 20


class FieldProblem(BaseModel):
    """One input problem: where (``loc``, e.g. ``["body", "applied_at"]``), what, and its kind."""

    loc: list[str | int] = Field(description='Where: "body", "query", "path" or "header", then the field.')
    msg: str = Field(description="What is wrong, in words.")
    type: str = Field(description="A machine-readable kind, e.g. missing, extra_forbidden, value_error.")


class ValidationErrorBody(BaseModel):
    """A 422: the request was read but some of its values cannot be used."""

    detail: list[FieldProblem] = Field(
        max_length=MAX_LISTED_ERRORS, description=f"The first {MAX_LISTED_ERRORS} problems found."
    )
    error_count: int = Field(ge=1, description="How many problems were found in all.")
    request_id: str


class ErrorBody(BaseModel):
    """Every other error: what is wrong, and the request id to quote."""

    detail: str
    request_id: str


def _request_id(scope: Scope) -> str:
    return str((scope.get("state") or {}).get("request_id") or "")


def _problem(item: Any, default_loc: Sequence[str | int] = ("body",)) -> dict[str, Any]:
    """An error-list entry in the documented shape, whatever the raiser put in it."""
    if not isinstance(item, Mapping):
        return {"loc": list(default_loc), "msg": str(item), "type": "value_error"}
    loc = item.get("loc") or default_loc
    return {
        "loc": [p if isinstance(p, int) else str(p) for p in loc],
        "msg": str(item.get("msg", "")),
        "type": str(item.get("type") or "value_error"),
    }


def validation_body(problems: Iterable[Any], request_id: str) -> dict[str, Any]:
    """The 422 body: the first :data:`MAX_LISTED_ERRORS` problems and how many there were."""
    every = list(problems)
    listed = [_problem(item) for item in every[:MAX_LISTED_ERRORS]]
    count = len(every)
    if not listed:
        listed, count = [_problem("the request cannot be used as sent")], 1
    return {"detail": listed, "error_count": count, "request_id": request_id}


async def send_error(
    send: Send, scope: Scope, status: int, detail: str, headers: Mapping[str, str] | None = None
) -> None:
    """Answer from pure ASGI code (body limit, token check) in the documented shape."""
    body = json.dumps({"detail": detail, "request_id": _request_id(scope)}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def allowed_methods(app: Any, path: str) -> list[str]:
    """Every method the schema states for this path (all its operations, not only the first route's)."""
    methods: set[str] = set()
    for template, operations in app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path):
            methods |= {m.upper() for m, op in operations.items() if isinstance(op, dict)}
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Route every error the app raises through the one documented shape."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(exc.errors(), _request_id(request.scope)), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        request_id = _request_id(request.scope)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first route that matched the path; a client needs them all.
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        detail = exc.detail
        if exc.status_code == 422:
            # A route's own refusal reads like a field error: a bare message is located in the body.
            items = detail if isinstance(detail, list) else [detail]
            return JSONResponse(validation_body(items, request_id), 422, headers=headers or None)
        if not isinstance(detail, str):
            detail = json.dumps(detail, default=str)
        return JSONResponse(
            {"detail": detail, "request_id": request_id}, exc.status_code, headers=headers or None
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = _request_id(request.scope)
        log.exception("unhandled error (request %s)", request_id)
        return JSONResponse(
            {
                "detail": "internal server error; the request id lets an operator find it in the log",
                "request_id": request_id,
            },
            500,
            headers={"X-Request-ID": request_id},
        )


#: Statuses any route may answer, whatever it declares itself.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed request body (not JSON, not UTF-8, broken multipart)"},
    401: {"description": "Missing or wrong API token"},
    413: {"description": "Request body too large"},
}


def document(app: FastAPI) -> None:
    """Make the OpenAPI schema state the error shapes the server really sends."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _state_error_shapes(generate())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _state_error_shapes(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (FieldProblem, ValidationErrorBody, ErrorBody):
        components[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    # FastAPI's own names stay (clients may refer to them), now describing what is really sent.
    components["ValidationError"] = components["FieldProblem"]
    components["HTTPValidationError"] = components["ValidationErrorBody"]
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    validation_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationErrorBody"}}}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for code, response in operation["responses"].items():
                if not str(code).isdigit() or int(code) < 400:
                    continue
                if int(code) == 422:
                    response["content"] = validation_ref
                elif "content" not in response:
                    response["content"] = error_ref
