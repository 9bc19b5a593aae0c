"""Bug reports over HTTP: a colleague's WTF moment, with an optional screenshot."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status
from pydantic import BaseModel

from inloop.api.deps import WriteAccess
from inloop.api.inputs import installed_domain, not_blank
from inloop.api.resources import PlatformDatabaseDep
from inloop.domains import discover_domains
from inloop.incidents.bug_reports import (
    MAX_SCREENSHOT_BYTES,
    BugReportError,
    file_report,
    inspect_screenshot,
    list_reports,
)
from inloop.predictions import UnknownRequestError, get_prediction

router = APIRouter(prefix="/bug-reports", tags=["bug reports"])


class BugReportPublic(BaseModel):
    id: int
    created_at: dt.datetime
    reporter: str
    text: str
    domain: str
    page: str | None
    component: str | None
    segment: str | None
    failure_kind: str | None
    severity: str
    request_id: str | None
    has_screenshot: bool
    status: str
    group_key: str
    postmortem_slug: str | None
    resolution: str | None


class BugReportFiled(BaseModel):
    report: BugReportPublic
    group_size_in_window: int
    escalation_threshold: int
    escalated: bool
    alert_id: int | None


def _public(record) -> BugReportPublic:  # type: ignore[no-untyped-def]
    return BugReportPublic.model_validate({**record.__dict__, "has_screenshot": record.screenshot_path is not None})


@router.post(
    "",
    response_model=BugReportFiled,
    status_code=status.HTTP_201_CREATED,
    summary="Report a bad experience (optionally with a screenshot and the request id)",
    responses={404: {"description": "The request id is not in the prediction log"},
               409: {"description": "The request id was served by another domain"},
               413: {"description": f"The screenshot is over {MAX_SCREENSHOT_BYTES} bytes"},
               415: {"description": "The screenshot is not a readable PNG, JPEG or WebP (checked on its bytes)"},
               422: {"description": "A field is wrong (names each field and its problem)"}},
)
async def create_bug_report(
    _: WriteAccess,
    reporter: Annotated[str, Form(min_length=1, max_length=200, pattern=not_blank(1))],
    text: Annotated[str, Form(min_length=3, max_length=20_000, pattern=not_blank(3),
                              description="At least 3 characters besides surrounding whitespace.")],
    domain: Annotated[str, Form(min_length=1, max_length=64, json_schema_extra=installed_domain())],
    page: Annotated[str | None, Form(max_length=200)] = None,
    component: Annotated[str | None, Form(max_length=64)] = None,
    segment: Annotated[str | None, Form(max_length=128)] = None,
    failure_kind: Annotated[str | None, Form(max_length=128)] = None,
    severity: Annotated[Literal["low", "medium", "high", "critical"], Form()] = "medium",
    request_id: Annotated[str | None, Form(max_length=64, description="A request id the API answered "
                                                                      "(404 when it is not in the prediction log)")] = None,
    # Typed as a file, not "file or null": a multipart form has no null, and a text part is not a file.
    screenshot: Annotated[UploadFile, File(description="PNG, JPEG or WebP; checked on its bytes")] = None,  # type: ignore[assignment]
) -> BugReportFiled:
    data = None
    if screenshot is not None:
        # Read one byte past the limit: enough to refuse an oversized file without holding all of it.
        data = await screenshot.read(MAX_SCREENSHOT_BYTES + 1)
        if not data and not screenshot.filename:
            data = None  # an empty optional file field from an HTML form: no screenshot
    if data is not None:
        if len(data) > MAX_SCREENSHOT_BYTES:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                                f"screenshot: over the {MAX_SCREENSHOT_BYTES:,}-byte limit; crop it or send a smaller one")
        try:
            inspect_screenshot(data)
        except BugReportError as exc:
            raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                                "; ".join(f"{field}: {problem}" for field, problem in exc.problems)) from None
    if request_id and request_id.strip() and domain in discover_domains():
        # A reference to a prediction that does not exist is a 404 (the schema cannot know the log).
        try:
            logged = get_prediction(request_id.strip())
        except UnknownRequestError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"request_id: {exc}; copy it from the page or API response") from None
        if logged.domain != domain:
            raise HTTPException(status.HTTP_409_CONFLICT, f"request_id: request {request_id.strip()!r} was served "
                                f"by domain {logged.domain!r}, not {domain!r}")
    fields = {"reporter": reporter, "text": text, "domain": domain, "page": page or None,
              "component": component or None, "segment": segment or None, "failure_kind": failure_kind or None,
              "severity": severity, "request_id": request_id or None}
    try:
        filed = file_report(fields, screenshot=data)
    except BugReportError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            [{"loc": ["body", field], "msg": problem, "type": "value_error"}
                             for field, problem in exc.problems]) from None
    return BugReportFiled(report=_public(filed.report), group_size_in_window=filed.group.open_in_window,
                          escalation_threshold=filed.group.threshold, escalated=filed.group.escalated,
                          alert_id=filed.group.alert_id)


@router.get("", response_model=list[BugReportPublic], summary="Bug reports, newest first")
def read_bug_reports(
    _: WriteAccess,
    database: PlatformDatabaseDep,
    domain: Annotated[str | None, Query(max_length=64)] = None,
    report_status: Annotated[Literal["new", "triaged", "linked", "closed"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[BugReportPublic]:
    return [_public(r) for r in list_reports(domain, status=report_status, limit=limit, db_url=database.url)]
