"""The FastAPI app factory: platform routers, each installed domain's router, and the plumbing.

Plumbing: a server-issued, unique request id on every request (``X-Request-ID`` in the response
and the JSON log line; a sane id the client sent as ``X-Request-ID`` is kept beside it as the
correlation id, echoed as ``X-Client-Request-ID`` and stored with the prediction), a body-size
limit enforced on the bytes actually received, no stack traces to clients, CORS closed unless
configured, and the prediction-log writer started and drained with the app's lifespan.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inloop import db
from inloop.api import errors, guards, inputs
from inloop.api.prediction_writer import PredictionWriter
from inloop.api.resources import bind_resources
from inloop.api.routes import alerts, bug_reports, health, labels, models, predictions, subjects
from inloop.domains import discover_domains
from inloop.resources import ModelTracking
from inloop.settings import get_settings

__all__ = ["create_app"]

log = logging.getLogger("inloop.api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContext:
    """A request id on every request, answered as ``X-Request-ID``, and one JSON log line per request.

    The request id is always issued here (unique: it keys the prediction log). A client's own
    ``X-Request-ID`` may repeat (retries, reused ids), so it is a correlation id beside it, never
    the key: a repeated one cannot collide with another request's log entry.

    Pure ASGI (not ``@app.middleware("http")``, whose ``call_next`` wraps every response in an
    extra task and stream): this runs on every served prediction.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        client_request_id = incoming if _REQUEST_ID.match(incoming) else None
        request_id = uuid.uuid4().hex
        state = scope.setdefault("state", {})  # read back as request.state.request_id
        state["request_id"], state["client_request_id"] = request_id, client_request_id
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in (b"x-request-id", b"x-client-request-id")]
                headers.append((b"x-request-id", request_id.encode()))
                if client_request_id is not None:
                    headers.append((b"x-client-request-id", client_request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            line = {"event": "request", "request_id": request_id, "method": scope["method"], "path": scope["path"],
                    "status": status, "ms": round((time.perf_counter() - start) * 1000, 2)}
            if client_request_id is not None:
                line["client_request_id"] = client_request_id
            log.info(json.dumps(line))


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413, counting what arrives (chunked bodies too)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send, scope, self.limit)
            return
        # Read the whole body first (bounded by the limit), so an oversized chunked upload is
        # refused with 413 before any route sees a byte of it.
        messages: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > self.limit:
                await _too_large(send, scope, self.limit)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send, scope: Scope, limit: int) -> None:
    await errors.send_error(send, scope, 413, f"request body too large (limit {limit} bytes)")


def _configure_logging() -> None:
    """JSON request lines and warnings from inloop go to stderr, unless the host configured logging."""
    root = logging.getLogger("inloop")
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False


class MlflowProbe:
    """Checks MLflow (the app's :class:`~inloop.resources.ModelTracking`) in the background (every
    ``interval_s``) so /ready answers instantly."""

    def __init__(self, tracking: ModelTracking, interval_s: float = 30.0) -> None:
        self.tracking = tracking
        self.interval_s = interval_s
        self.ready = False
        self.detail = "not checked yet"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlflow-probe", daemon=True)

    def start(self) -> MlflowProbe:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop and wait for an in-flight probe: it must not outlive the app (it opens MLflow's store)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tracking.client().search_experiments(max_results=1)
                self.ready, self.detail = True, "reachable"
            except Exception as exc:
                self.ready, self.detail = False, f"unreachable: {type(exc).__name__}"
            self._stop.wait(self.interval_s)


def create_app(*, prediction_logging: bool | None = None) -> FastAPI:
    """Build the app. ``prediction_logging`` overrides the setting (benchmarks measure both)."""
    settings = get_settings()
    _configure_logging()
    logging_on = settings.prediction_logging if prediction_logging is None else prediction_logging
    domains = discover_domains()
    domain_apis = {name: d.api() for name, d in domains.items() if d.api is not None}
    # One serving slot per domain that serves models, per app (tests build several apps in one process).
    served_models = {name: d.served_models() for name, d in domains.items() if d.served_models is not None}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = get_settings().prepare()  # read again: the data dir may differ from creation time (tests)
        app.state.api_token = current.resolved_api_token()
        bind_resources(app, current)  # what routes receive (inloop.api.resources): built once, from these settings
        database = app.state.platform_database
        db.ensure_schema(database.url)  # migrate before serving, so no request ever waits on a migration
        writer = PredictionWriter(db_url=database.url).start() if logging_on else None
        app.state.prediction_writer = writer
        app.state.mlflow_probe = MlflowProbe(app.state.model_tracking).start()
        for name, slot in served_models.items():
            try:
                slot.load()
            except Exception as exc:  # a domain without a model degrades (/ready says why), never crashes
                log.error("domain %s: models not loaded: %s", name, exc)
        try:
            yield
        finally:
            app.state.mlflow_probe.stop()
            if writer is not None:
                writer.close()  # drain: nothing served is lost on a clean stop

    app = FastAPI(
        title="inloop API",
        version="0.1.0",
        summary="Serving, intake, bug reports and replay for the inloop domains. Every prediction is logged.",
        lifespan=lifespan,
        responses=errors.COMMON_RESPONSES,
    )
    app.state.domain_apis = domain_apis
    app.state.served_models = served_models
    app.include_router(health.router)
    app.include_router(predictions.router)
    app.include_router(bug_reports.router)
    app.include_router(labels.router)
    app.include_router(alerts.router)
    app.include_router(models.router)
    app.include_router(subjects.erasure_router(domains))
    for name, api in domain_apis.items():
        app.include_router(api.router, prefix=api.prefix or f"/{name}",
                           tags=[name])

    errors.install(app)  # one error shape, with the request id (docs/api.md)
    errors.document(app)  # ... and the OpenAPI schema says so
    inputs.document(app, list(domains))  # a field naming a domain: the installed ones

    # Outermost last: request id -> CORS -> token -> body limit -> UTF-8 form fields -> routes.
    app.add_middleware(guards.MultipartText)
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    app.add_middleware(guards.TokenFirst)  # before the body is read: no token, no bytes parsed
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "HEAD", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-Request-ID"])
    app.add_middleware(RequestContext)
    return app

