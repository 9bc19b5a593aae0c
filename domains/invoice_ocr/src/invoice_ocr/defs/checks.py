"""Concern checks: the card's concerns, enforced on the assets (measurement logic lives in ``lib``)."""

from __future__ import annotations

from typing import Any

import dagster as dg
from inloop.cards import ProjectCard, load_card
from inloop.checks import Measurement, concern_check

from invoice_ocr.defs.assets import supplier_master
from invoice_ocr.domain import domain
from invoice_ocr.lib.suppliers import supplier_problems

__all__ = ["card", "concern_checks", "measure_supplier_master"]


def card() -> ProjectCard:
    return load_card(domain.card_path)


def measure_supplier_master(records: list[dict[str, Any]]) -> Measurement:
    """Count supplier records the booking must not rely on (bad IBAN, VAT id or address)."""
    bad = {str(r.get("supplier_id") or f"row {i}"): supplier_problems(r) for i, r in enumerate(records)}
    bad = {k: v for k, v in bad.items() if v}
    summary = (f"{len(bad)} of {len(records)} supplier records are invalid" if bad
               else f"all {len(records)} supplier records are valid")
    examples = {k: "; ".join(v) for k, v in list(bad.items())[:10]}
    return Measurement(value=float(len(bad)), summary=summary,
                       details={"records": len(records), "invalid": examples})


def concern_checks() -> list[dg.AssetChecksDefinition]:
    project = card()
    return [
        concern_check(project, "supplier-master-valid", asset=supplier_master, measure=measure_supplier_master),
    ]
