"""The served review policy watched against its evaluation (model-2) and a candidate in shadow (infra-6)."""

# No "from __future__ import annotations" here: Dagster reads the asset's types from the real annotations.

from typing import Any

import dagster as dg

from inloop.checks import Measurement, concern_check
from inloop.offline_online import Relation
from inloop.offline_online_check import relation_measurement
from invoice_ocr.defs.checks import card
from invoice_ocr.lib import shadow
from invoice_ocr.lib.offline_online import relation_from_ledger
from invoice_ocr.lib.policy import load_policy
from invoice_ocr.lib.workspace import Workspace

__all__ = ["evaluation_figures_hold_live", "policy_offline_online", "policy_watch_job", "policy_watch_schedule",
           "review_policy_shadow"]

CONCERN = "offline-online-agreement"
PROCESSED = dg.AssetKey(["invoice_ocr", "processed_invoices"])


@dg.asset(key=["invoice_ocr", "policy_offline_online"], group_name="invoice_ocr", deps=[PROCESSED],
          output_required=False)
def policy_offline_online(context: dg.AssetExecutionContext):  # type: ignore[no-untyped-def]
    """The served policy's evaluation STP and field accuracy beside its live ones (once 30 invoices carry it)."""
    workspace = Workspace.default()
    serving = load_policy(workspace).fingerprint()
    found = relation_from_ledger(workspace, card().concern(CONCERN))
    if found is None or not [p for p in found.of(serving) if p.online is not None]:
        context.log.info(f"policy {serving}: no evaluation record or too few live invoices to judge yet")
        return
    context.add_output_metadata({"serving": serving, "summary": found.describe(),
                                 "pairs": dg.MetadataValue.json(found.to_dict())})
    yield dg.Output((serving, found))


def measure(value: tuple[str, Relation]) -> Measurement:
    serving, found = value
    return relation_measurement(found, serving, what="live STP and clerk-corrected accuracy vs the evaluation's")


evaluation_figures_hold_live = concern_check(card(), CONCERN, asset=policy_offline_online,
                                             measure=measure)


@dg.asset(key=["invoice_ocr", "review_policy_shadow"], group_name="invoice_ocr", deps=[PROCESSED])
def review_policy_shadow(context: dg.AssetExecutionContext) -> dict[str, Any]:
    """A staged candidate policy decides the live invoices in shadow (books nothing); its comparison so far."""
    workspace = Workspace.default()
    if shadow.staged(workspace) is None:
        return {"staged": False}
    added = shadow.run(workspace)
    report = shadow.compare(workspace)
    gates = shadow.shadow_gates(report)
    context.add_output_metadata({"shadowed_now": added, "summary": report.describe(),
                                 "gates": dg.MetadataValue.json([g.__dict__ for g in gates])})
    return {"staged": True, "report": report.to_dict(), "may_serve": all(g.passed for g in gates)}


policy_watch_job = dg.define_asset_job(
    "policy_watch", selection=dg.AssetSelection.assets(policy_offline_online, review_policy_shadow),
    executor_def=dg.in_process_executor,
    description="The served policy against its evaluation figures (model-2); a staged candidate in shadow (infra-6).")

policy_watch_schedule = dg.ScheduleDefinition(
    name="invoice_policy_watch", job=policy_watch_job, cron_schedule="15 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour: live STP and clerk-corrected accuracy against the served policy's evaluation; a "
                "staged candidate decides the new invoices in shadow.")
