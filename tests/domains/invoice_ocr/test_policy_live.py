"""The served review policy on live invoices: its evaluation figures against live STP and clerk-corrected accuracy
per fingerprint (model-2), and a candidate policy in shadow, compared before it may serve (infra-6).

Three synthetic invoices are read by the real engine twice: once as the evaluation set a policy is adopted on,
once by the real pipeline as live mail (booked into a real ledger and ERP in a temporary workspace).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest

from inloop.alerts import list_alerts
from invoice_ocr.defs.checks import card
from invoice_ocr.defs.offline_online import CONCERN, evaluation_figures_hold_live
from invoice_ocr.lib import policy as P
from invoice_ocr.lib import shadow
from invoice_ocr.lib.dataset import write_invoice, write_supplier_master
from invoice_ocr.lib.erp import SqliteErp
from invoice_ocr.lib.intake import take_inbox
from invoice_ocr.lib.invoices import AS_OF
from invoice_ocr.lib.ledger import Ledger
from invoice_ocr.lib.monitoring import ground_truth_index
from invoice_ocr.lib.ocr import OcrEngine
from invoice_ocr.lib.offline_online import live_by_fingerprint, offline_by_fingerprint, relation_from_ledger
from invoice_ocr.lib.pipeline import InvoiceProcessor
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.workspace import Workspace

pytestmark = pytest.mark.slow  # real OCR of six pages

SUPPLIERS = generate_suppliers(40, seed=7)
MASTER = [s.to_dict() for s in SUPPLIERS]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A workspace whose served policy (0.8) was adopted on the evaluation set, then processed three live invoices."""
    workspace = Workspace(tmp_path_factory.mktemp("live") / "ws").prepare()
    write_supplier_master(SUPPLIERS, workspace.supplier_master_path)
    scans = [write_invoice(i, SUPPLIERS, workspace.synthetic_dir, seed=42) for i in (1, 2, 3)]
    engine = OcrEngine()
    cases = P.read_cases([s.path for s in scans], engine)
    adopted = P.adopt(workspace, P.ReviewPolicy(0.8), cases, MASTER, AS_OF, min_slice=3)
    for scan in scans:
        shutil.copy(scan.path, workspace.inbox / scan.path.name)
        then = time.time() - 10
        os.utime(workspace.inbox / scan.path.name, (then, then))
    take_inbox(workspace)
    InvoiceProcessor(workspace, engine=engine).run()
    return workspace, cases, adopted


def _stub(value: object) -> dg.AssetsDefinition:
    @dg.asset(key=["invoice_ocr", "policy_offline_online"])
    def stub():  # type: ignore[no-untyped-def]
        return value

    return stub


def _state(workspace: Workspace) -> tuple[list[tuple[int, str, str | None]], dict]:
    with Ledger(workspace.ledger_path) as ledger:
        entries = [(e.id, e.state, e.booked_by) for e in ledger.entries()]
    return entries, SqliteErp(workspace.erp_path).duplicate_keys()


@pytest.mark.rubric("model-2")
def test_the_served_policys_evaluation_figures_are_judged_on_its_live_invoices_and_a_shortfall_alerts(live) -> None:  # type: ignore[no-untyped-def]
    workspace, _, adopted = live
    fingerprint = adopted["fingerprint"]
    offline = offline_by_fingerprint(workspace)[fingerprint]
    assert offline["stp"] == adopted["evaluation"]["candidate"]["stp_rate"] and offline["invoices"] == 3
    on = live_by_fingerprint(workspace)[fingerprint]
    assert on["finished"] == 3 and on["judged"] == 3  # every live invoice has its ground truth beside it

    concern = card().concern(CONCERN)
    found = relation_from_ledger(workspace, concern, min_invoices=3)
    assert found is not None and {p.metric for p in found.of(fingerprint)} == {"stp", "field_accuracy"}
    assert found.tolerance == concern.threshold.value == 0.15
    assert found.beyond_tolerance == [], found.to_dict()
    assert relation_from_ledger(workspace, concern, min_invoices=4).judged == []  # too few invoices: not judged

    # The live mail reads worse than the evaluation promised: the truth of one invoice says its total differs.
    truth = ground_truth_index(workspace.synthetic_dir)
    first = next(iter(truth))
    worse = {**truth, first: {**truth[first], "total": "999999.99"}}
    degraded = relation_from_ledger(workspace, concern, min_invoices=3, truth=worse)
    assert degraded is not None
    (accuracy,) = [p for p in degraded.of(fingerprint) if p.metric == "field_accuracy"]
    assert accuracy.online == pytest.approx(2 / 3, abs=1e-3) and accuracy.gap > 0.15
    assert degraded.beyond_tolerance == [f"{fingerprint} (field_accuracy)"]

    for found_now, passes in ((found, True), (degraded, False)):
        result = dg.materialize([_stub((fingerprint, found_now)), evaluation_figures_hold_live], raise_on_error=False)
        [evaluation] = result.get_asset_check_evaluations()
        assert evaluation.passed is passes, evaluation.metadata["summary"].value
    [alert] = list_alerts("invoice_ocr")
    assert alert.concern_id == CONCERN and "live_shortfall_vs_evaluation" in alert.message


@pytest.mark.rubric("infra-6")
def test_a_candidate_policy_runs_in_shadow_books_nothing_and_serves_only_after_the_comparison(live) -> None:  # type: ignore[no-untyped-def]
    workspace, cases, adopted = live
    before = _state(workspace)
    with pytest.raises(ValueError, match="is the served policy"):
        shadow.stage(workspace, P.ReviewPolicy(0.8), by="anna")

    # A strict candidate: in shadow it would send right invoices to a person; it decides, books nothing.
    shadow.stage(workspace, P.ReviewPolicy(0.999), by="anna")
    assert shadow.run(workspace) == 3 and shadow.run(workspace) == 0  # each live invoice is shadowed once
    assert _state(workspace) == before  # read only: no invoice moved, nothing booked in the ERP
    strict = shadow.compare(workspace)
    assert strict.invoices == 3 and strict.served == adopted["fingerprint"] and strict.served_stp == 1.0
    assert strict.shadow_stp < strict.served_stp and strict.fewer_booked
    with pytest.raises(P.PolicyRefused, match="shadow STP"):
        shadow.promote(workspace, cases, MASTER, AS_OF, by="anna", min_invoices=3, min_slice=3)
    assert P.load_policy(workspace) == P.ReviewPolicy(0.8)  # the served policy stays

    # A candidate that decides the live invoices as well as the served one, and passes the evaluation gates too.
    shadow.stage(workspace, P.ReviewPolicy(0.75), by="anna")
    with pytest.raises(P.PolicyRefused, match="shadowed"):  # nothing shadowed yet: it may not serve
        shadow.promote(workspace, cases, MASTER, AS_OF, by="anna", min_invoices=3, min_slice=3)
    assert shadow.run(workspace) == 3
    report = shadow.compare(workspace)
    assert report.agreement == 1.0 and report.shadow_stp == report.served_stp
    assert all(g.passed for g in shadow.shadow_gates(report, min_invoices=3))
    record = shadow.promote(workspace, cases, MASTER, AS_OF, by="anna", min_invoices=3, min_slice=3)
    assert P.load_policy(workspace) == P.ReviewPolicy(0.75) and record["shadow"]["invoices"] == 3
    assert shadow.staged(workspace) is None and _state(workspace) == before


def test_the_shadow_gates_refuse_a_wrong_booking_the_served_policy_avoided() -> None:
    report = shadow.ShadowReport("cand", "served", 80, 0.95, 0.80, 0.85, shadow_wrong_bookings=(4, 9),
                                 served_wrong_bookings=(9,), more_booked=(4,), fewer_booked=())
    gates = {g.name: g for g in shadow.shadow_gates(report)}
    assert gates["shadowed_enough"].passed and gates["stp_not_lower"].passed
    assert not gates["no_new_wrong_booking"].passed and "[4]" in gates["no_new_wrong_booking"].detail
    lower = shadow.ShadowReport("cand", "served", 80, 0.9, 0.80, 0.77, (), (), (), (1, 2))
    assert not {g.name: g for g in shadow.shadow_gates(lower)}["stp_not_lower"].passed


def test_no_candidate_in_shadow_is_a_clear_error(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws").prepare()
    assert shadow.staged(workspace) is None and shadow.run(workspace) == 0
    with pytest.raises(LookupError, match="stage one first"):
        shadow.compare(workspace)
    (workspace.root / shadow.SHADOW_FILE).write_text("{not json")
    with pytest.raises(ValueError, match="cannot be read"):
        shadow.staged(workspace)
    with pytest.raises(ValueError, match="who stages"):
        shadow.stage(workspace, P.ReviewPolicy(0.7), by=" ")
