"""Checks that run before a route reads the request body (pure ASGI, in front of FastAPI).

* :class:`TokenFirst` refuses a request without the API token before a byte of its body is read:
  a 20 MB body from someone without the token costs the server nothing. Which operations need
  the token is read from the app's own OpenAPI schema (an operation that declares ``security``),
  which FastAPI derives from the routes' ``WriteAccess`` dependency: one source of truth.
* :class:`MultipartText` refuses a multipart form whose text fields are not UTF-8 with 400, as a
  JSON body that is not UTF-8 is refused (Starlette would otherwise decode them as latin-1 and the
  report would be stored as mojibake).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.security.utils import get_authorization_scheme_param
from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inloop.api.deps import token_matches
from inloop.api.errors import send_error

__all__ = ["MultipartText", "TokenFirst"]

_TOKEN_PROBLEM = "missing or wrong API token (Authorization: Bearer <token>)"


class TokenFirst:
    """401 before the body is read, for every operation whose schema declares ``security``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._secured: list[tuple[re.Pattern[str], frozenset[str]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and self._secured is None and "app" in scope:
            # Read the schema once at start-up, not on the first request's event-loop turn.
            self._secured = _secured_operations(scope["app"].openapi())
        if scope["type"] == "http":
            fastapi_app = scope.get("app")
            expected = getattr(getattr(fastapi_app, "state", None), "api_token", None)
            if expected is not None and self._needs_token(fastapi_app, scope["method"], scope["path"]):
                header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), "")
                scheme, credentials = get_authorization_scheme_param(header)
                if scheme.lower() != "bearer" or not token_matches(expected, credentials):
                    await send_error(send, scope, 401, _TOKEN_PROBLEM, {"WWW-Authenticate": "Bearer"})
                    return
        await self.app(scope, receive, send)

    def _needs_token(self, app: Any, method: str, path: str) -> bool:
        if self._secured is None:
            self._secured = _secured_operations(app.openapi())
        return any(method in methods and pattern.fullmatch(path) for pattern, methods in self._secured)


def _secured_operations(schema: dict[str, Any]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """(path pattern, methods) of every operation that declares ``security`` in the schema."""
    secured = []
    for template, operations in schema.get("paths", {}).items():
        methods = frozenset(
            m.upper() for m, op in operations.items() if isinstance(op, dict) and op.get("security")
        )
        if methods:
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            secured.append((re.compile(pattern), methods))
    return secured


class MultipartText:
    """400 for a multipart form whose text fields (parts without a file name) are not UTF-8."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
        kind, options = parse_options_header(content_type)
        if kind != b"multipart/form-data" or not options.get(b"boundary"):
            await self.app(scope, receive, send)
            return
        # The body is already bounded (BodyLimit runs first); read it, check it, hand it on unchanged.
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        problem = _non_utf8_field(options[b"boundary"], b"".join(chunks))
        if problem is not None:
            await send_error(send, scope, 400, problem)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _non_utf8_field(boundary: bytes, body: bytes) -> str | None:
    """The first text field that is not UTF-8, as a message; None when all are (or none is)."""
    part: dict[str, Any] = {}
    header_field = bytearray()
    header_value = bytearray()
    found: list[str] = []

    def on_part_begin() -> None:
        part.clear()
        part.update(headers={}, data=bytearray())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        part["headers"][bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part["data"].extend(data[start:end])

    def on_part_end() -> None:
        _, disposition = parse_options_header(part["headers"].get(b"content-disposition", b""))
        if b"filename" in disposition or found:
            return  # a file's bytes are its own business (screenshots are checked on their content)
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        try:
            bytes(part["data"]).decode("utf-8")
        except UnicodeDecodeError as exc:
            found.append(
                f"form field {name!r} is not valid UTF-8 (byte {exc.start}); send text fields as UTF-8"
            )

    callbacks: dict[str, Callable[..., None]] = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except Exception:
        return found[0] if found else None  # a broken form is the form parser's to refuse (400), as before
    return found[0] if found else None
