"""The monitoring job's data-quality report: a batch in milliseconds reaches the front-end team as failing rows."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest


@pytest.mark.slow  # imports the whole credit code location
@pytest.mark.rubric("monitor-2")
def test_each_live_batch_gets_a_report_for_its_owner(inloop_env) -> None:
    from credit.definitions import monitor_live_batch  # the report is part of the monitoring job
    from credit.defs.monitoring import live_applications
    from credit.defs.quality import data_quality_report
    from credit.lib.live import simulate_frontend_batch

    assert data_quality_report.key in monitor_live_batch.selection.selected_keys
    batch_id = simulate_frontend_batch(18, 120, seed=21, duration_unit="milliseconds")
    result = dg.materialize([live_applications, data_quality_report],
                            run_config={"ops": {"live_applications": {"config": {"batch_id": batch_id}}}})
    (event,) = [e for e in result.get_asset_materialization_events()
                if e.asset_key == data_quality_report.key]
    meta = event.materialization.metadata
    batch = pd.read_parquet(inloop_env / "domains" / "credit" / "inbox" / f"{batch_id}.parquet")
    own_channels = batch["channel"].astype(str).isin(["web", "app"])  # only the bank's own front end changed units
    assert meta["rows_breaking"].value == int(own_channels.sum()) and meta["owner"].value == "Loan Front End team"
    csv = pd.read_csv(inloop_env / "reports" / "credit" / "data-quality" / "failing-rows-frontend_batches.csv")
    assert set(csv["application_id"]) == set(batch.loc[own_channels, "application_id"])
    assert set(csv["column"]) == {"application_duration_seconds"}
