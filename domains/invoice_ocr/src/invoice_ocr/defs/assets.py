"""Assets: the supplier master the booking relies on, and the synthetic invoice scans."""

# No "from __future__ import annotations": Dagster reads the config classes from the real annotations.

from typing import Any

import dagster as dg

from inloop.settings import get_settings
from invoice_ocr.defs.resources import InvoiceWorkspace
from invoice_ocr.lib.dataset import deliver_to_inbox, write_invoices, write_supplier_master
from invoice_ocr.lib.suppliers import Supplier, generate_suppliers

__all__ = ["SupplierMasterConfig", "SyntheticInvoicesConfig", "supplier_master", "synthetic_invoices"]

GROUP = "invoice_ocr"


class SupplierMasterConfig(dg.Config):
    count: int = 40
    seed: int = 7


class SyntheticInvoicesConfig(dg.Config):
    count: int = 20
    """Invoices to render before scaling by ``INLOOP_DEMO_DATA_SCALE``."""
    seed: int = 42
    deliver_to_inbox: bool = True
    """Drop the scans the ledger has not seen into the inbox, as the scanner would."""


@dg.asset(key_prefix=["invoice_ocr"], group_name=GROUP)
def supplier_master(context: dg.AssetExecutionContext, config: SupplierMasterConfig,
                    invoice_workspace: InvoiceWorkspace) -> list[dict[str, Any]]:
    """Supplier master data (names, addresses, VAT ids, IBANs): what the ERP books and pays against."""
    suppliers = generate_suppliers(config.count, config.seed)
    path = write_supplier_master(suppliers, invoice_workspace.get().supplier_master_path)
    context.add_output_metadata({"suppliers": len(suppliers), "path": str(path),
                                 "countries": sorted({s.country for s in suppliers})})
    return [s.to_dict() for s in suppliers]


@dg.asset(key_prefix=["invoice_ocr"], group_name=GROUP)
def synthetic_invoices(context: dg.AssetExecutionContext, config: SyntheticInvoicesConfig,
                       supplier_master: list[dict[str, Any]], invoice_workspace: InvoiceWorkspace) -> list[dict[str, Any]]:
    """Seeded synthetic invoice scans (PNG/JPEG/PDF) with ground-truth JSON beside each file."""
    workspace = invoice_workspace.get()
    count = max(1, round(config.count * get_settings().demo_data_scale))
    suppliers = [Supplier.from_dict(r) for r in supplier_master]
    out_dir = workspace.synthetic_dir / f"seed-{config.seed}"
    generated = write_invoices(count, suppliers, out_dir, seed=config.seed)
    manifest = [{"file": str(g.path), "sha256": g.sha256, "format": g.truth["scan"]["format"],
                 "layout": g.truth["layout"], "supplier_id": g.truth["supplier_id"], "total": g.truth["total"]}
                for g in generated]
    delivered = deliver_to_inbox(workspace, [g.path for g in generated]) if config.deliver_to_inbox else 0
    formats = {f: sum(1 for m in manifest if m["format"] == f) for f in ("png", "jpeg", "pdf")}
    layouts = {x: sum(1 for m in manifest if m["layout"] == x) for x in sorted({m["layout"] for m in manifest})}
    context.add_output_metadata({"invoices": count, "folder": str(out_dir), "formats": formats, "layouts": layouts,
                                 "delivered_to_inbox": delivered})
    return manifest
