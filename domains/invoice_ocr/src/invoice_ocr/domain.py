"""How the platform finds this domain (entry point ``inloop.domains: invoice_ocr``)."""

from __future__ import annotations

from pathlib import Path

from inloop.domains import Domain

__all__ = ["DOMAIN_ROOT", "domain"]

#: ``domains/invoice_ocr``: holds project.yaml and postmortems/.
DOMAIN_ROOT = Path(__file__).resolve().parents[2]

domain = Domain(
    name="invoice_ocr",
    root=DOMAIN_ROOT,
    definitions_module="invoice_ocr.definitions",
    demos_module="invoice_ocr.demos",
    api_module="invoice_ocr.api",
    extras={"review_service": "invoice_ocr.api:review_service", "bench": "invoice_ocr.bench:measure"},
)
