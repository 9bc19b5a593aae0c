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
from invoice_ocr.lib.workspace import Workspace

__all__ = ["GeneratedInvoice", "deliver_to_inbox", "load_ground_truth", "write_invoice", "write_invoices", "write_supplier_master"]

_EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "pdf": ".pdf"}


@dataclass(frozen=True)
class GeneratedInvoice:
    path: Path
    truth_path: Path
    sha256: str
    truth: dict[str, Any]


def write_invoice(index: int, suppliers: list[Supplier], out_dir: Path, seed: int = 42,
                  scan_variant: int = 0) -> GeneratedInvoice:
    """Render invoice ``index`` of the seeded stream into ``out_dir`` (scan + ``.json`` ground truth).

    ``scan_variant`` > 0 scans the same paper invoice again: same content, different noise and
    rotation, always a PNG (a re-scan of an invoice that was already received).
    """
    invoice = generate_invoice(index, suppliers, seed)
    scan = dict(invoice.scan)
    if scan_variant:
        scan.update(format="png", rotation=round(-0.5 * float(scan["rotation"]) + 0.3, 2))
    image = scan_effects(render_page(invoice), scan, seed=seed * 1_000_003 + index + 7919 * scan_variant)
    data = scan_bytes(image, str(scan["format"]), int(scan["jpeg_quality"]))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"invoice-{index:05d}{_EXTENSIONS[str(scan['format'])]}"
    truth = {"file": path.name, "index": index, "seed": seed, "sha256": hashlib.sha256(data).hexdigest(),
             **invoice.ground_truth(), "scan": scan}
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


def deliver_to_inbox(workspace: Workspace, scans: list[Path]) -> int:
    """Drop scans into the inbox as a scanner would (atomically), skipping those the ledger already has."""

    workspace.prepare()
    delivered = 0
    with workspace.ledger() as ledger:
        for scan in scans:
            data = scan.read_bytes()
            if ledger.by_sha(hashlib.sha256(data).hexdigest()) is not None or (workspace.inbox / scan.name).exists():
                continue
            _atomic_write(workspace.inbox / scan.name, data)
            delivered += 1
    return delivered


def load_ground_truth(scan_path: Path) -> dict[str, Any]:
    return json.loads(Path(scan_path).with_suffix(".json").read_text(encoding="utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    # Write then rename, so a reader (the inbox sensor) never sees a half-written file under its final name.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
