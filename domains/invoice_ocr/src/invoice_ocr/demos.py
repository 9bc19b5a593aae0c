"""Worst-case demos of invoice_ocr (``inloop demo run invoice_ocr:<id>``)."""

from __future__ import annotations

from inloop.demos import Demo

__all__ = ["DEMOS"]

DEMOS: dict[str, Demo] = {}
