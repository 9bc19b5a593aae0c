"""Invoices over HTTP: upload into the same durable intake as the inbox, status, and the review queue.

``POST /invoices`` registers the file exactly like the inbox sensor does (content-addressed copy and
ledger entry first); the Dagster pipeline then reads, validates and books it. The file is checked on
its bytes (a PDF or an image, size limited), never on its name. The review routes are the clerk's
actions of :class:`invoice_ocr.lib.review.ReviewService`. Routes receive the workspace (inbox, stored
files, ledger, ERP stand-in) as a dependency, :data:`InvoiceWorkspaceDep`; tests swap it through
``app.dependency_overrides[invoice_workspace]``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Path, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from inloop.api.deps import WriteAccess
from inloop.api.inputs import STRIPPED, RequestBody, not_blank
from invoice_ocr.lib.workspace import Workspace

if TYPE_CHECKING:
    from invoice_ocr.lib.review import ReviewService

__all__ = ["PREFIX", "InvoiceWorkspaceDep", "ReviewServiceDep", "invoice_workspace", "review_service", "router"]

PREFIX = "/invoices"
router = APIRouter()

MAX_INVOICE_BYTES = 15 * 1024 * 1024
#: A clerk corrects a handful of fields; more in one approval is not a correction.
MAX_CORRECTIONS = 100
#: What an invoice file may be, by its first bytes.
_SIGNATURES = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg",
               b"II*\x00": "image/tiff", b"MM\x00*": "image/tiff"}


async def invoice_workspace() -> Workspace:
    """The installation's workspace, from the settings (the edge); tests override this dependency."""
    return Workspace.default()


InvoiceWorkspaceDep = Annotated[Workspace, Depends(invoice_workspace)]


async def review_service(workspace: InvoiceWorkspaceDep) -> ReviewService:
    """The clerk's review service on the request's workspace."""
    from invoice_ocr.lib.review import ReviewService

    return ReviewService(workspace)


ReviewServiceDep = Annotated["ReviewService", Depends(review_service)]


def _sniff(data: bytes) -> str | None:
    if b"%PDF-" in data[:1024]:  # PDF readers accept a header anywhere in the first KiB
        return "application/pdf"
    return next((kind for magic, kind in _SIGNATURES.items() if data.startswith(magic)), None)


class InvoiceReceived(BaseModel):
    invoice_id: int
    state: str
    duplicate: bool
    sha256: str
    original_name: str
    size: int


class InvoicePublic(BaseModel):
    invoice_id: int
    original_name: str
    source: str
    received_at: dt.datetime
    state: str
    state_since: dt.datetime
    reason: str | None
    reason_kind: str | None
    invoice_key: str | None
    erp_booking_id: int | None
    notice: str | None
    fields: dict[str, Any]
    history: list[dict[str, Any]]


class ReviewItemPublic(BaseModel):
    invoice_id: int
    original_name: str
    received_at: dt.datetime
    waiting_hours: float
    reason_kind: str | None
    reason: str | None


class Approval(RequestBody):
    # Checked as sent (the schema's rules), then stripped: minimum lengths are stated as patterns.
    model_config = ConfigDict(extra="forbid")

    clerk: Annotated[str, Field(min_length=1, max_length=200, pattern=not_blank(1)), STRIPPED]
    corrections: dict[str, Annotated[str, Field(max_length=200), STRIPPED]] = Field(max_length=MAX_CORRECTIONS,
        default_factory=dict, description="Field name -> corrected value; fields not given keep the value read.")

    @field_validator("corrections", mode="before")
    @classmethod
    def _few_corrections(cls, value: Any) -> Any:
        # Counted before each value is checked: 100,000 entries are one error, not 100,000.
        if isinstance(value, dict) and len(value) > MAX_CORRECTIONS:
            raise ValueError(f"{len(value)} corrections; at most {MAX_CORRECTIONS} fields can be corrected at once")
        return value


class Rejection(RequestBody):
    model_config = ConfigDict(extra="forbid")

    clerk: Annotated[str, Field(min_length=1, max_length=200, pattern=not_blank(1)), STRIPPED]
    notice: Annotated[str, Field(min_length=10, max_length=5000, pattern=not_blank(10),
                                 description="Sent to the supplier."), STRIPPED]


InvoiceId = Annotated[int, Path(ge=1, le=2**53, description="The ledger id")]


@router.post("", response_model=InvoiceReceived, status_code=status.HTTP_201_CREATED,
             summary="Upload an invoice (PDF, PNG, JPEG or TIFF) into the durable intake",
             responses={413: {"description": f"Over {MAX_INVOICE_BYTES} bytes"},
                        415: {"description": "Empty, or not a PDF or an image (checked on the bytes)"}})
async def upload_invoice(_: WriteAccess, workspace: InvoiceWorkspaceDep,
                         file: Annotated[UploadFile, File(description="The scan or PDF")]) -> InvoiceReceived:
    from invoice_ocr.lib.intake import receive

    data = await file.read(MAX_INVOICE_BYTES + 1)
    if not data:  # no content is no invoice: the same refusal as any other unreadable content
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "the file is empty: send a PDF, PNG, JPEG or TIFF")
    if len(data) > MAX_INVOICE_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"invoice files are limited to {MAX_INVOICE_BYTES} bytes")
    if _sniff(data) is None:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            "not a PDF, PNG, JPEG or TIFF (checked on the file's content, not its name)")
    name = (file.filename or "upload").replace("\x00", "")[:255] or "upload"
    result = receive(workspace, data, name, source="api")

    with workspace.ledger() as ledger:
        state = ledger.get(result.invoice_id).state
    return InvoiceReceived(invoice_id=result.invoice_id, state=state, duplicate=result.duplicate,
                           sha256=result.sha256, original_name=result.original_name, size=result.size)


@router.get("/review", response_model=list[ReviewItemPublic], summary="Invoices waiting for a clerk, oldest first")
def review_queue(_: WriteAccess, service: ReviewServiceDep) -> list[ReviewItemPublic]:
    return [ReviewItemPublic.model_validate(item, from_attributes=True) for item in service.queue()]


@router.get("/{invoice_id}", response_model=InvoicePublic, summary="Where an invoice is, and how it got there",
            responses={404: {"description": "Not in the ledger"}})
def read_invoice(invoice_id: InvoiceId, _: WriteAccess, service: ReviewServiceDep) -> InvoicePublic:
    return _invoice(service, invoice_id)


def _invoice(service: Any, invoice_id: int) -> InvoicePublic:
    try:
        shown = service.show(invoice_id)
    except KeyError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc).strip("'\"")) from None
    inv = shown["invoice"]
    return InvoicePublic(invoice_id=inv["id"], original_name=inv["original_name"], source=inv["source"],
                         received_at=inv["received_at"], state=inv["state"], state_since=inv["state_since"],
                         reason=inv["reason"], reason_kind=inv["reason_kind"], invoice_key=inv["invoice_key"],
                         erp_booking_id=inv["erp_booking_id"], notice=inv["notice"], fields=shown["fields"],
                         history=shown["history"])


def _review_action(service: ReviewService, action: str, invoice_id: int, **kwargs: Any) -> InvoicePublic:
    from invoice_ocr.lib.review import ReviewError

    try:
        getattr(service, action)(invoice_id, **kwargs)
    except KeyError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc).strip("'\"")) from None
    except ReviewError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return _invoice(service, invoice_id)


@router.post("/{invoice_id}/approve", response_model=InvoicePublic, summary="Correct and approve: book it",
             responses={404: {"description": "Not in the ledger"},
                        409: {"description": "Not waiting for review, already booked, or the ERP refused"}})
def approve_invoice(invoice_id: InvoiceId, body: Approval, _: WriteAccess, service: ReviewServiceDep) -> InvoicePublic:
    return _review_action(service, "approve", invoice_id, clerk=body.clerk, corrections=body.corrections)


@router.post("/{invoice_id}/reject", response_model=InvoicePublic, summary="Reject with a notice to the supplier",
             responses={404: {"description": "Not in the ledger"}, 409: {"description": "Not waiting for review"}})
def reject_invoice(invoice_id: InvoiceId, body: Rejection, _: WriteAccess, service: ReviewServiceDep) -> InvoicePublic:
    return _review_action(service, "reject", invoice_id, clerk=body.clerk, notice=body.notice)


# Unknown suppliers (issue #18 item 3) ---------------------------------------------------------------


class SupplierProposalPublic(BaseModel):
    invoice_id: int
    record: dict[str, str] = Field(description="name, street, postcode, city, country, vat_id, iban, bic, "
                                               "currency, vat_rate as read from the invoice; empty when refused")
    sources: dict[str, str] = Field(description="Where each value came from")
    problems: list[str] = Field(description="What the clerk must fill in or fix before adding")
    known_supplier: str | None = Field(description="Set when the invoice is from a supplier the master knows")
    refusal: str | None = Field(description="Why no record is offered (a changed IBAN stays a fraud-risk review)")


_RecordText = Annotated[str, Field(max_length=100), STRIPPED]


class SupplierRecordBody(RequestBody):
    """A supplier record as the clerk checked it; whether the values are valid (IBAN check digits, VAT id
    format, everything filled in) is the master data's rule, answered with 409 and what to fix."""

    name: Annotated[str, Field(max_length=200), STRIPPED] = ""
    street: _RecordText = ""
    postcode: _RecordText = ""
    city: _RecordText = ""
    country: _RecordText = ""
    vat_id: _RecordText = ""
    iban: _RecordText = ""
    bic: _RecordText = ""
    currency: _RecordText = ""
    vat_rate: _RecordText = Field(default="", max_length=100, description="e.g. 0.19 for 19 %")


class SupplierAddition(RequestBody):
    clerk: Annotated[str, Field(min_length=1, max_length=200, pattern=not_blank(1),
                                description="Who adds the supplier (recorded)"), STRIPPED]
    record: SupplierRecordBody = Field(description="The checked record; the supplier id is assigned.")


def _waiting(workspace: Workspace, invoice_id: int) -> None:
    with workspace.ledger() as ledger:
        try:
            ledger.get(invoice_id)
        except KeyError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc).strip("'\"")) from None


@router.get("/{invoice_id}/supplier-proposal", response_model=SupplierProposalPublic,
            summary="A supplier master record proposed from an invoice whose supplier is unknown (reads it again)",
            responses={404: {"description": "Not in the ledger"}})
def supplier_proposal(invoice_id: InvoiceId, _: WriteAccess, workspace: InvoiceWorkspaceDep,
                      service: ReviewServiceDep) -> SupplierProposalPublic:
    _waiting(workspace, invoice_id)
    return SupplierProposalPublic.model_validate(service.propose_supplier(invoice_id))


@router.post("/{invoice_id}/supplier", status_code=status.HTTP_201_CREATED, response_model=dict[str, Any],
             summary="Add the checked supplier record to the master data (recorded with the clerk's name)",
             responses={404: {"description": "Not in the ledger"},
                        409: {"description": "Not waiting for review, an invalid value, or a known supplier "
                                             "(a changed IBAN is a fraud-risk review, not a new supplier)"}})
def add_supplier(invoice_id: InvoiceId, body: SupplierAddition, _: WriteAccess, workspace: InvoiceWorkspaceDep,
                 service: ReviewServiceDep) -> dict[str, Any]:
    from invoice_ocr.lib.review import ReviewError

    _waiting(workspace, invoice_id)
    try:
        return service.add_supplier(invoice_id, body.clerk, body.record.model_dump())
    except ReviewError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
