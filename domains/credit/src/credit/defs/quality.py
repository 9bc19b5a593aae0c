"""Each live batch's data-quality report, written for the loan front-end team (the batch's producer)."""

# No `from __future__ import annotations` here: Dagster resolves annotations at runtime.
import dagster as dg

from credit.defs.monitoring import LiveBatch
from inloop.data_quality import build_report, write_report
from inloop.readiness import rubric


@dg.asset(group_name="credit_monitoring")
@rubric("monitor-2", what="every live batch gets a data-quality report of the rows breaking the application "
        "schema, with examples and the owner (the front-end team) named", how="automated")
def data_quality_report(context: dg.AssetExecutionContext, live_applications: LiveBatch) -> dict:
    """The batch's broken rules in plain words, failing rows and share, for the front-end team
    (``<data dir>/reports/credit/data-quality/``; ``inloop data-quality credit`` adds the history)."""
    report = build_report("credit", frames={"frontend_batches": live_applications.applications},
                          only=["frontend_batches"])
    paths = write_report(report)
    (source,) = report.sources
    # Counts only: the event log is not scrubbed by `inloop forget`, so no example row goes into it.
    context.add_output_metadata({
        "batch_id": live_applications.batch_id, "rows": source.rows, "rows_breaking": source.rows_breaking,
        "share_breaking": round(source.share_breaking, 4), "broken_rules": len(source.findings),
        "owner": source.owner or "", "report": dg.MetadataValue.path(str(paths["markdown"])),
    })
    return {"batch_id": live_applications.batch_id, "rows_breaking": source.rows_breaking,
            "paths": {k: str(v) for k, v in paths.items()}}
