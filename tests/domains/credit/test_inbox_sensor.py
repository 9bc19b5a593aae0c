"""The inbox sensor monitors every new front-end batch once, and never the batch a monitoring run made
itself (the first run's simulated batch): before the fix, that batch was decided, logged and labelled twice."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from inloop import db
from inloop.db.models import Label, Prediction


def _count(model: type, *where: object) -> int:
    with db.read_session() as sess:
        return int(sess.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


def _tick(cursor: str | None = None) -> tuple[list[dg.RunRequest], str | None]:
    from credit.defs.monitoring import credit_inbox_sensor

    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(cursor=cursor, instance=instance)
        requests = [r for r in credit_inbox_sensor(context) or [] if isinstance(r, dg.RunRequest)]
        return requests, context.cursor


@pytest.mark.slow  # about 20 s, nearly all of it importing the monitoring definitions (Dagster, Evidently)
def test_a_claimed_batch_is_left_to_the_run_that_claimed_it(inloop_env: Path) -> None:
    from credit.lib.live import claim_batch, is_claimed, simulate_frontend_batch

    mine = simulate_frontend_batch(18, 30, seed=1, claimed=True)
    theirs = simulate_frontend_batch(18, 30, seed=2)
    assert is_claimed(mine) and not is_claimed(theirs)
    requests, cursor = _tick()
    assert [r.run_key for r in requests] == [theirs]
    claim_batch(theirs)  # the run it started claims it; the cursor already keeps it from a second request
    assert _tick(cursor)[0] == []


@pytest.mark.slow
def test_the_first_runs_batch_is_decided_logged_and_labelled_once(own_champion_env: Path) -> None:
    from credit.defs.applications import loan_applications
    from credit.defs.monitoring import monitoring_assets, monitoring_checks

    decided_before = _count(Prediction, Prediction.domain == "credit")
    labels_before = _count(Label, Label.domain == "credit")
    # As the first run: an empty inbox, so the monitoring run simulates a front-end batch and monitors it.
    result = dg.materialize([loan_applications, *monitoring_assets, *monitoring_checks], raise_on_error=False)
    assert result.success
    # A fresh install raises no alarm. Its batch (July 2025) is older than CBPE's recent months by the wall
    # clock, so there is nothing recent to judge: the CBPE checks do not run rather than fail.
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert all(evaluations.values()), evaluations
    assert "performance_before_labels" not in evaluations and "default_rate_before_labels" not in evaluations
    batch = result.output_for_node("live_applications")
    decisions = result.output_for_node("live_decisions").decisions
    assert _count(Prediction, Prediction.domain == "credit") - decided_before == len(batch.applications)
    # July 2025's outcomes are more than a year old by the wall clock (no world clock here): all reported.
    granted = sum(d.decision == "approve" for d in decisions)
    assert _count(Label, Label.domain == "credit") - labels_before == granted > 0
    # The inbox sensor's next tick finds the batch already monitored: no second run, nothing logged twice.
    assert _tick()[0] == []
