"""Write a synthetic invoice set to disk: one scan (PNG, JPEG or PDF) and its ground truth JSON each."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invoice_ocr.lib.invoices import generate_invoice
from invoice_ocr.lib.render import render_page, scan_bytes, scan_effects
from invoice_ocr.lib.suppliers import Supplier

__all__ = ["GeneratedInvoice", "load_ground_truth", "write_invoice", "write_invoices", "write_supplier_master"]

_EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "pdf": ".pdf"}


@dataclass(frozen=True)
class GeneratedInvoice:
    path: Path
    truth_path: Path
    sha256: str
    truth: dict[str, Any]


def write_invoice(index: int, suppliers: list[Supplier], out_dir: Path, seed: int = 42) -> GeneratedInvoice:
    """Render invoice ``index`` of the seeded stream into ``out_dir`` (scan + ``.json`` ground truth)."""
    invoice = generate_invoice(index, suppliers, seed)
    scan = invoice.scan
    image = scan_effects(render_page(invoice), scan, seed=seed * 1_000_003 + index)
    data = scan_bytes(image, str(scan["format"]), int(scan["jpeg_quality"]))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"invoice-{index:05d}{_EXTENSIONS[str(scan['format'])]}"
    truth = {"file": path.name, "index": index, "seed": seed, **invoice.ground_truth()}
    _atomic_write(path, data)
    truth_path = path.with_suffix(".json")
    _atomic_write(truth_path, json.dumps(truth, indent=2, ensure_ascii=False).encode())
    return GeneratedInvoice(path, truth_path, hashlib.sha256(data).hexdigest(), truth)


def write_invoices(count: int, suppliers: list[Supplier], out_dir: Path, seed: int = 42,
                   start: int = 1) -> list[GeneratedInvoice]:
    """Invoices ``start .. start+count-1`` of the seeded stream (a larger count extends a smaller one)."""
    if count < 0:
        raise ValueError("count must not be negative")
    return [write_invoice(i, suppliers, out_dir, seed) for i in range(start, start + count)]


def write_supplier_master(suppliers: list[Supplier], path: Path) -> Path:
    """The supplier master as JSON (what the ERP stand-in loads)."""
    _atomic_write(path, json.dumps([s.to_dict() for s in suppliers], indent=2, ensure_ascii=False).encode())
    return path


def load_ground_truth(scan_path: Path) -> dict[str, Any]:
    return json.loads(Path(scan_path).with_suffix(".json").read_text(encoding="utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    # Write then rename, so a reader (the inbox sensor) never sees a half-written file under its final name.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
