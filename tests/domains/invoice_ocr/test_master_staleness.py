"""The supplier master ages (the extractor does not): its staleness curve, logged; the age check built on it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from inloop.alerts import list_alerts
from inloop.staleness import LIMIT_METRIC
from invoice_ocr.lib.dataset import write_supplier_master
from invoice_ocr.lib.master_staleness import (
    CEILING,
    MAX_STP_LOSS,
    STALENESS_FILE,
    check_master_age,
    log_curve,
    staleness_curve,
    supplier_history,
)
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.workspace import Workspace


def test_the_supplier_history_changes_bank_details_and_adds_suppliers_week_by_week() -> None:
    history = supplier_history(20)
    assert len(history) == 21 and len(history[-1]) > len(history[0])
    ibans_then = {s.supplier_id: s.iban for s in history[0]}
    changed = [s for s in history[-1] if s.supplier_id in ibans_then and s.iban != ibans_then[s.supplier_id]]
    assert changed  # some suppliers moved banks; the new IBANs are valid (the checksum rule still passes them)
    from invoice_ocr.lib.iban import is_valid_iban

    assert all(is_valid_iban(s.iban) for s in changed)


@pytest.mark.rubric("model-4")
def test_the_curve_shows_stp_lost_to_an_aging_master_and_its_limit_is_stored_with_the_run(inloop_env: Path) -> None:
    from inloop.tracking import client

    curve = staleness_curve(snapshots=2, max_age_weeks=6, invoices_per_week=60)
    by_age = curve.by_age()
    assert by_age["value"].iloc[0] == 0.0  # a fresh master costs nothing
    assert by_age["value"].iloc[-1] < -MAX_STP_LOSS  # six weeks old, it costs more than the limit allows
    assert by_age["quality"].iloc[-1] < by_age["quality"].iloc[0]
    assert curve.limit_days % 7 == 0 and curve.limit_days < 42 and not curve.censored

    workspace = Workspace(inloop_env / "ws").prepare()
    record = log_curve(workspace, curve)
    run = client().get_run(record["run_id"])
    assert run.data.metrics[LIMIT_METRIC] == curve.limit_days
    assert {a.path for a in client().list_artifacts(record["run_id"], "staleness")} >= {
        "staleness/staleness_curve.csv", "staleness/staleness_curve.png"}
    assert (workspace.root / STALENESS_FILE).exists()


@pytest.mark.rubric("monitor-4")
def test_the_age_check_uses_the_curves_limit_and_alerts_on_a_master_older_than_it(inloop_env: Path) -> None:
    workspace = Workspace(inloop_env / "ws").prepare()
    write_supplier_master(generate_suppliers(5), workspace.supplier_master_path)
    no_curve = check_master_age(workspace)
    assert no_curve["passed"] and no_curve["threshold"] == f"<= {CEILING.value:g} days"  # the ceiling alone

    curve = staleness_curve(snapshots=2, max_age_weeks=4, invoices_per_week=60)
    log_curve(workspace, curve)
    fresh = check_master_age(workspace)
    assert fresh["passed"] and fresh["from"] == "the staleness curve"
    assert fresh["threshold"] == f"<= {min(curve.limit_days, CEILING.value):g} days"
    assert list_alerts("invoice_ocr") == []

    written = time.time() - (curve.limit_days + 2) * 86_400  # the master was last refreshed too long ago
    os.utime(workspace.supplier_master_path, (written, written))
    old = check_master_age(workspace)
    assert not old["passed"] and old["age_days"] == pytest.approx(curve.limit_days + 2, abs=0.01)
    [alert] = list_alerts("invoice_ocr")
    assert alert.source == "staleness" and "Supplier master is" in alert.title

    (workspace.supplier_master_path).unlink()
    with pytest.raises(FileNotFoundError, match="no supplier master"):
        check_master_age(workspace)
