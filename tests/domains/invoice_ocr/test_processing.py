"""Real OCR on a handful of pages: fields read exactly, booked once, reconciled; the Dagster wiring."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest

from invoice_ocr.lib.dataset import write_invoice, write_supplier_master
from invoice_ocr.lib.erp import SqliteErp
from invoice_ocr.lib.extract import FIELDS
from invoice_ocr.lib.intake import take_inbox
from invoice_ocr.lib.invoices import generate_invoice
from invoice_ocr.lib.monitoring import (
    double_bookings,
    field_accuracy,
    ground_truth_index,
    reconcile,
    stp_rate,
)
from invoice_ocr.lib.ocr import OcrEngine
from invoice_ocr.lib.pipeline import InvoiceProcessor
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.workspace import Workspace

SEED = 42


def _one_per_layout(suppliers) -> list[int]:  # type: ignore[no-untyped-def]
    """The first invoice of each layout in the seeded stream, one of them a PDF."""
    chosen: dict[str, int] = {}
    pdf_seen = False
    for index in range(1, 200):
        invoice = generate_invoice(index, suppliers, SEED)
        layout, fmt = invoice.supplier.layout, invoice.scan["format"]
        if layout not in chosen and (pdf_seen or fmt == "pdf" or len(chosen) < 2):
            chosen[layout] = index
            pdf_seen = pdf_seen or fmt == "pdf"
        if len(chosen) == 3 and pdf_seen:
            break
    return sorted(chosen.values())


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    return OcrEngine()


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory, engine: OcrEngine):  # type: ignore[no-untyped-def]
    workspace = Workspace(tmp_path_factory.mktemp("clean") / "ws").prepare()
    suppliers = generate_suppliers(40, seed=7)
    write_supplier_master(suppliers, workspace.supplier_master_path)
    scans = [write_invoice(i, suppliers, workspace.synthetic_dir, seed=SEED) for i in _one_per_layout(suppliers)]
    for scan in scans:
        shutil.copy(scan.path, workspace.inbox / scan.path.name)
        then = time.time() - 10
        os.utime(workspace.inbox / scan.path.name, (then, then))
    take_inbox(workspace)
    summary = InvoiceProcessor(workspace, engine=engine).run()
    return workspace, scans, summary


def test_the_clean_set_covers_every_layout_and_a_pdf(processed) -> None:  # type: ignore[no-untyped-def]
    _, scans, _ = processed
    assert {s.truth["layout"] for s in scans} == {"classic", "modern", "compact"}
    assert "pdf" in {s.truth["scan"]["format"] for s in scans}


@pytest.mark.rubric("data-7")
def test_every_field_is_read_exactly_on_clean_scans(processed) -> None:  # type: ignore[no-untyped-def]
    workspace, scans, summary = processed
    accuracy = field_accuracy(workspace, ground_truth_index(workspace.synthetic_dir))
    assert accuracy["invoices"]["ground_truth"] == len(scans)
    assert accuracy["per_field"] == dict.fromkeys(FIELDS, 1.0), accuracy["counts"]


def test_clean_invoices_are_booked_straight_through_exactly_once(processed) -> None:  # type: ignore[no-untyped-def]
    workspace, scans, summary = processed
    assert (summary.processed, summary.booked, summary.needs_review) == (len(scans), len(scans), 0)
    assert summary.gx and all(g["success"] for g in summary.gx)
    bookings = SqliteErp(workspace.erp_path).bookings()
    assert sorted(b["total"] for b in bookings) == sorted(s.truth["total"] for s in scans)
    assert double_bookings(workspace) == {}
    assert reconcile(workspace).gap == 0
    assert stp_rate(workspace)[0] == 1.0


def test_processing_again_books_nothing_twice(processed, engine: OcrEngine) -> None:  # type: ignore[no-untyped-def]
    workspace, scans, _ = processed
    again = InvoiceProcessor(workspace, engine=engine).run()
    assert again.processed == 0
    assert len(SqliteErp(workspace.erp_path).bookings()) == len(scans)


@pytest.mark.rubric("infra-1", "infra-5")
def test_replaying_an_invoice_shows_each_step_and_reproduces_what_was_recorded(processed) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from invoice_ocr.commands import app
    from invoice_ocr.lib.ledger import Ledger
    from invoice_ocr.lib.policy import load_policy

    workspace, scans, summary = processed
    with Ledger(workspace.ledger_path) as ledger:
        entry = ledger.by_sha(scans[0].sha256)
    assert entry is not None and entry.state == "booked"
    served = load_policy(workspace)
    assert summary.fingerprint == served.fingerprint() == entry.fields["fingerprint"]  # recorded with the invoice

    result = CliRunner().invoke(app, ["explain", str(entry.id), "--root", str(workspace.root), "--boxes"])
    assert result.exit_code == 0, result.output
    replay = json.loads(result.output)
    # The same stored file through OCR + extraction again: every field, confidence and source as recorded.
    assert replay["replay_matches_record"] and replay["differences"] == {}
    assert replay["fields"] == entry.fields["extracted"]
    assert {f: replay["fields"][f]["value"] for f in FIELDS} == {f: str(scans[0].truth[f]).upper()
                                                                if f == "invoice_number" else str(scans[0].truth[f])
                                                                for f in FIELDS}
    assert all(0 < replay["fields"][f]["confidence"] <= 1 and replay["fields"][f]["source"] for f in FIELDS)
    texts = {box["text"] for box in replay["ocr"]["boxes"]}
    assert all(replay["fields"][f]["source"] in texts for f in ("invoice_number", "total"))  # traceable to a box
    assert len(replay["rules"]) == 10 and all(r["passed"] for r in replay["rules"])
    assert replay["route"] == "book" and replay["policy"]["fingerprint"] == served.fingerprint()
    assert [e["to_state"] for e in replay["history"]][-1] == "booked"

    missing = CliRunner().invoke(app, ["explain", "999", "--root", str(workspace.root)])
    assert missing.exit_code == 1 and "no such invoice" in missing.output


def test_the_inbox_sensor_takes_files_and_requests_one_run_per_new_batch(inloop_env: Path) -> None:
    from invoice_ocr.definitions import defs
    from invoice_ocr.defs.resources import resources
    from invoice_ocr.defs.sensors import invoice_inbox_sensor

    workspace = Workspace.default().prepare()
    (workspace.inbox / "scan-a.png").write_bytes(b"not really a png, but a file that arrived")
    then = time.time() - 10
    os.utime(workspace.inbox / "scan-a.png", (then, then))
    with dg.instance_for_test() as instance:
        result = invoice_inbox_sensor(dg.build_sensor_context(instance=instance, definitions=defs,
                                                              resources=resources()))
        assert isinstance(result, dg.SensorResult)
        [request] = result.run_requests or []
        assert request.run_key == "ledger-1"
        assert not (workspace.inbox / "scan-a.png").exists()
        skipped = invoice_inbox_sensor(dg.build_sensor_context(instance=instance, definitions=defs,
                                                               resources=resources()))
        assert isinstance(skipped, dg.SensorResult) and skipped.run_requests[0].run_key == "ledger-1"


@pytest.mark.rubric("infra-3")
def test_the_pipeline_asset_runs_its_concern_checks_and_logs_to_mlflow(inloop_env: Path) -> None:
    from inloop.checks import latest_results
    from inloop.tracking import client, experiment_id
    from invoice_ocr.defs.assets import supplier_master, synthetic_invoices
    from invoice_ocr.defs.checks import concern_checks
    from invoice_ocr.defs.processing import processed_invoices
    from invoice_ocr.defs.resources import resources

    result = dg.materialize(
        [supplier_master, synthetic_invoices, processed_invoices, *concern_checks()],
        run_config={"ops": {"invoice_ocr__synthetic_invoices": {"config": {"count": 2, "seed": 5}}}},
        resources=resources(),
    )
    assert result.success
    outcome = result.output_for_node("invoice_ocr__processed_invoices")
    assert outcome["run"]["processed"] == 2
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations == {"supplier_master_valid": True, "reconciliation_gap": True, "no_stuck_invoice": True,
                           "no_double_booking": True, "field_accuracy": True, "stp_rate": True}
    assert {r.concern_id for r in latest_results("invoice_ocr")} >= {"never-lose-an-invoice", "no-double-booking"}
    runs = client().search_runs([experiment_id("invoice_ocr")])
    assert runs and runs[0].data.params["extractor_version"]
    assert {"stp_rate", "field_accuracy_total", "invoices_per_minute"} <= set(runs[0].data.metrics)
