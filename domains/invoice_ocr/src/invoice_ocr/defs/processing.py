"""The processing asset: one run of the invoice pipeline over the ledger, with metrics to MLflow."""

# No "from __future__ import annotations": Dagster reads the config class from the real annotation.

import time
from typing import Any

import dagster as dg

from invoice_ocr.defs.assets import GROUP
from invoice_ocr.defs.resources import InvoiceWorkspace
from invoice_ocr.lib.clerk_notifications import notify_clerks
from invoice_ocr.lib.intake import take_inbox
from invoice_ocr.lib.master_staleness import check_master_age
from invoice_ocr.lib.monitoring import field_accuracy, reconcile
from invoice_ocr.lib.ocr import OcrEngine
from invoice_ocr.lib.pipeline import InvoiceProcessor, ProcessingConfig
from invoice_ocr.lib.skew import check_serving_skew

__all__ = ["ProcessingRunConfig", "processed_invoices"]


class ProcessingRunConfig(dg.Config):
    erp_attempts: int = 4
    erp_wait_initial_s: float = 1.0
    limit: int = 0
    """Stop after this many invoices (0: until nothing is pending)."""
    log_to_mlflow: bool = True


@dg.asset(
    key=["invoice_ocr", "processed_invoices"],
    group_name=GROUP,
    deps=[dg.AssetKey(["invoice_ocr", "supplier_master"]), dg.AssetKey(["invoice_ocr", "synthetic_invoices"])],
)
def processed_invoices(context: dg.AssetExecutionContext, config: ProcessingRunConfig,
                       invoice_workspace: InvoiceWorkspace) -> dict[str, Any]:
    """Every pending invoice read (OCR), validated (GX) and booked, or put in review with a reason."""
    workspace = invoice_workspace.get()
    scan = take_inbox(workspace)
    if scan.still_writing:
        time.sleep(2.5)  # files just dropped (e.g. by synthetic_invoices): let them settle, then take them
        scan = take_inbox(workspace)
    processor = InvoiceProcessor(workspace, engine=OcrEngine(), config=ProcessingConfig(
        erp_attempts=config.erp_attempts, erp_wait_initial_s=config.erp_wait_initial_s))
    summary = processor.run(limit=config.limit or None)
    notices = notify_clerks(workspace)  # one grouped notification per review reason, routed as the card says
    recon = reconcile(workspace)
    accuracy = field_accuracy(workspace)
    master_age = check_master_age(workspace)  # alerts when the supplier master is older than its limit
    skew = check_serving_skew(workspace)  # alerts when live scans read unlike the policy's evaluation set
    result = {"run": summary.to_dict(), "reconciliation": recon.to_dict(), "accuracy": accuracy,
              "supplier_master_age": master_age, "serving_skew": skew,
              "review_notifications": {n.reason_kind: len(n.invoice_ids) for n in notices}}
    if config.log_to_mlflow:
        _log_run(context, summary.to_dict(), accuracy)
    context.add_output_metadata({
        "processed": summary.processed, "booked": summary.booked, "needs_review": summary.needs_review,
        "stp_rate": summary.stp_rate if summary.stp_rate is not None else "n/a",
        "invoices_per_minute": round(summary.invoices_per_minute or 0.0, 2),
        "review_reasons": dg.MetadataValue.json(summary.review_reasons),
        "review_notifications": dg.MetadataValue.json({n.reason_kind: {"alert": n.alert_id, "waiting": len(n.invoice_ids)}
                                                       for n in notices}),
        "reconciliation_gap": recon.gap,
        "field_accuracy": dg.MetadataValue.json(accuracy["per_field"]),
        "extractor_version": summary.extractor_version,
        "review_policy_fingerprint": summary.fingerprint,
        "supplier_master_age": dg.MetadataValue.json(master_age),
        "serving_skew": dg.MetadataValue.json(skew),
    })
    return result


def _log_run(context: dg.AssetExecutionContext, run: dict[str, Any], accuracy: dict[str, Any]) -> None:
    from inloop.tracking import start_run

    metrics = {k: float(v) for k, v in run.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    metrics.update({f"field_accuracy_{f}": v for f, v in accuracy["per_field"].items() if v is not None})
    if accuracy["min"] is not None:
        metrics["field_accuracy_min"] = accuracy["min"]
    with start_run("invoice_ocr", "process-invoices", tags={"dagster.run_id": context.run.run_id}) as mlrun:
        import mlflow

        mlflow.log_params({"extractor_version": run["extractor_version"], "ocr_engine": OcrEngine.version,
                           "review_min_confidence": run["min_confidence"], "fingerprint": run["fingerprint"]})
        mlflow.log_metrics(metrics)
        context.log.info(f"logged run metrics to MLflow run {mlrun.info.run_id}")
