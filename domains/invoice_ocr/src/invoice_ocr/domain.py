"""How the platform finds this domain (entry point ``inloop.domains: invoice_ocr``).

Every capability is a small loader: discovery imports only this module, and the heavy parts
(Dagster assets, the FastAPI router, the OCR engine) load when the platform first asks for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from inloop.domains import DomainApi, DomainPlugin
from invoice_ocr.lib.workspace import DOMAIN_ROOT

if TYPE_CHECKING:
    import dagster as dg
    import typer

    from inloop.demos import Demo
    from inloop.domains import BenchMeasure, ReviewService
    from inloop.privacy import SubjectEraser

__all__ = ["DOMAIN_ROOT", "domain"]


def _definitions() -> dg.Definitions:
    from invoice_ocr.definitions import defs

    return defs


def _demos() -> Mapping[str, Demo]:
    from invoice_ocr.demos import DEMOS

    return DEMOS


def _api() -> DomainApi:
    from invoice_ocr import api

    return DomainApi(router=api.router, prefix=api.PREFIX)


def _review_service() -> ReviewService:
    from invoice_ocr.lib.review import ReviewService
    from invoice_ocr.lib.workspace import Workspace

    return ReviewService(Workspace.default())


def _bench() -> BenchMeasure:
    from invoice_ocr.bench import measure

    return measure


def _subject_eraser() -> SubjectEraser:
    from invoice_ocr.privacy import eraser

    return eraser()


def _cli() -> typer.Typer:
    from invoice_ocr.commands import app

    return app


domain = DomainPlugin(
    name="invoice_ocr",
    root=DOMAIN_ROOT,
    definitions=_definitions,
    demos=_demos,
    api=_api,
    review_service=_review_service,
    bench=_bench,
    cli=_cli,
    cli_aliases=("invoices",),
    subject_eraser=_subject_eraser,
)
