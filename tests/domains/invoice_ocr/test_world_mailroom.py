"""#17 for invoice_ocr: the simulated mailroom drops invoices into the real inbox, the simulated clerk works
the review queue through the real API, and each incident is caught by the running platform's own inbox
sensor, concern checks and alert routing, then recovers after stop with a reconciliation gap of 0.

The slow tests drive the world and the platform tick by tick (one simulated day: the world's arrivals and
clerk shift, the inbox sensor, the processing run its request asks for, the alert router), so what the
clerk finds in the queue is decided by the ticks, never by how fast the machine happens to be.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
from PIL import Image
from typer.testing import CliRunner

from inloop import db
from inloop.db.models import Alert, CheckResult
from inloop.world import (
    SIMULATED_EPOCH,
    HttpWorldApi,
    SimulatedDay,
    active_incidents,
    incident_kinds,
    incident_times,
    start_incident,
    stop_incident,
    world_clock,
)
from invoice_ocr.lib.dataset import write_supplier_master
from invoice_ocr.lib.erp import ErpUnavailable, SqliteErp
from invoice_ocr.lib.ledger import Ledger
from invoice_ocr.lib.monitoring import reconcile
from invoice_ocr.lib.ocr import MIN_SHORT_SIDE
from invoice_ocr.lib.suppliers import generate_suppliers
from invoice_ocr.lib.workspace import Workspace
from invoice_ocr.world.mailroom import (
    WORLD_ERP_MARK,
    MailRates,
    day_mail,
    deliver,
    regular_supplier,
    set_erp_outage,
)

SUPPLIERS = generate_suppliers(40, seed=7)


def _day(index: int) -> SimulatedDay:
    return SimulatedDay(index, SIMULATED_EPOCH + dt.timedelta(days=index))


@pytest.mark.slow  # 15-40 s under load: it renders and scans a few days of mail
def test_the_mail_is_seeded_and_incidents_change_only_the_world(inloop_env: Path) -> None:
    from schwifty import IBAN

    rates = MailRates(born_digital=2, scans=1, einvoices=1, regular=1)
    normal = day_mail(4, SUPPLIERS, rates=rates)
    assert [(x.name, x.data) for x in normal] == [(x.name, x.data) for x in day_mail(4, SUPPLIERS, rates=rates)]
    assert [x.channel for x in normal] == ["born-digital"] * 2 + ["scan", "e-invoice", "born-digital"]
    assert len({x.printed["invoice_number"] for x in normal + day_mail(5, SUPPLIERS, rates=rates)}) == 10
    assert {"invoice_ocr:erp-outage", "invoice_ocr:scanner-degraded", "invoice_ocr:supplier-bank-change"} <= set(
        incident_kinds())

    degraded = day_mail(4, SUPPLIERS, {"scanner-degraded"}, rates)
    for before, after in zip(normal, degraded, strict=True):
        if before.channel == "scan":
            assert min(Image.open(io.BytesIO(after.data)).size) < MIN_SHORT_SIDE  # too coarse for OCR
            assert min(Image.open(io.BytesIO(before.data)).size) >= MIN_SHORT_SIDE
        else:
            assert after.data == before.data  # only the scanner is broken
        assert after.printed == before.printed  # the paper is the same

    regular = regular_supplier(SUPPLIERS)
    moved = day_mail(4, SUPPLIERS, {"supplier-bank-change"}, rates)
    [(old, new)] = [(b, a) for b, a in zip(normal, moved, strict=True) if b.data != a.data]
    assert old.printed["supplier_id"] == regular.supplier_id and old.printed["iban"] == regular.iban
    account = IBAN(new.printed["iban"])  # schwifty: country, length, BBAN format and check digits
    assert new.printed["iban"] != regular.iban and account.bank_code == IBAN(regular.iban).bank_code
    assert {k: v for k, v in new.printed.items() if k != "iban"} == {
        k: v for k, v in old.printed.items() if k != "iban"}
    assert new.printed["iban"].encode() not in old.data  # the old account is not on the new invoice

    workspace = Workspace.default().prepare()
    assert deliver(workspace, normal) == len(normal)
    assert sorted(p.name for p in workspace.inbox.iterdir()) == sorted(x.name for x in normal)


def test_the_world_takes_the_erp_down_and_brings_back_only_its_own_outage(inloop_env: Path) -> None:
    workspace = Workspace.default().prepare()
    erp = SqliteErp(workspace.erp_path)
    set_erp_outage(workspace, True)
    with pytest.raises(ErpUnavailable, match=WORLD_ERP_MARK):
        erp.book(None)  # type: ignore[arg-type]  # refused before the booking is looked at
    set_erp_outage(workspace, False)
    assert not erp.down_flag.exists()
    erp.set_available(False, "planned maintenance by the ERP team")
    set_erp_outage(workspace, False)  # not the world's outage: left as it is
    assert erp.down_flag.read_text() == "planned maintenance by the ERP team"


@pytest.mark.slow  # about 15 s under load: the pipeline's first imports (GX)
def test_the_erp_back_off_is_paid_once_per_run(inloop_env: Path) -> None:
    from invoice_ocr.lib.intake import take_inbox
    from invoice_ocr.lib.pipeline import InvoiceProcessor, ProcessingConfig

    workspace = Workspace.default().prepare()
    write_supplier_master(SUPPLIERS, workspace.supplier_master_path)
    deliver(workspace, day_mail(1, SUPPLIERS, rates=MailRates(born_digital=3, scans=0, einvoices=0, regular=0)))
    take_inbox(workspace)
    set_erp_outage(workspace, True)
    config = ProcessingConfig(erp_attempts=4, erp_wait_initial_s=0.01, erp_wait_max_s=0.02)
    summary = InvoiceProcessor(workspace, config=config).run()
    assert summary.review_reasons == {"erp_unavailable": 3}
    assert summary.erp_retries == 3  # the first booking waits through its back-off; the other two try once


# The whole loop, tick by tick -------------------------------------------------------------------------


def _latest(concern: str) -> CheckResult:
    with db.read_session() as sess:
        return sess.scalars(
            sa.select(CheckResult)
            .where(CheckResult.domain == "invoice_ocr", CheckResult.concern_id == concern)
            .order_by(CheckResult.id.desc())
            .limit(1)
        ).one()


def _check_alert(concern: str) -> Alert:
    with db.read_session() as sess:
        return sess.scalars(sa.select(Alert).where(Alert.cause_key == f"check:invoice_ocr:{concern}")).one()


Tick = Callable[[int, MailRates], dict[str, Any]]


@pytest.fixture
def tick(real_api: Callable[..., Any]) -> Tick:
    """``tick(day, rates)`` runs one simulated day of world and platform and returns the processing run's output."""
    from inloop.orchestration import alert_router_sensor
    from invoice_ocr.defs.checks import concern_checks
    from invoice_ocr.defs.processing import processed_invoices
    from invoice_ocr.defs.resources import resources
    from invoice_ocr.defs.sensors import invoice_inbox_sensor
    from invoice_ocr.world import arrive

    workspace = Workspace.default().prepare()
    write_supplier_master(SUPPLIERS, workspace.supplier_master_path)
    server = real_api()
    api = HttpWorldApi(server.base, server.token)
    checks = [c for c in concern_checks() if processed_invoices.key in {k.asset_key for k in c.check_keys}]
    router = alert_router_sensor("invoice_ocr")

    def one_day(day: int, rates: MailRates) -> dict[str, Any]:
        assert arrive(_day(day), api, active_incidents("invoice_ocr"), rates) == rates.per_day
        with dg.instance_for_test() as instance:
            request = invoice_inbox_sensor(dg.build_sensor_context(instance=instance, resources=resources()))
            assert isinstance(request, dg.SensorResult) and request.run_requests, request
            result = dg.materialize(
                [processed_invoices, *checks], instance=instance, raise_on_error=False, resources=resources(),
                run_config={"ops": {"invoice_ocr__processed_invoices": {"config": {"log_to_mlflow": False}}}},
            )
            # A failing blocking check (supplier-master-valid) fails the run; the processing itself must not.
            assert not [e for e in result.all_events if e.is_step_failure
                        and e.step_key == "invoice_ocr__processed_invoices"]
            router(dg.build_sensor_context(instance=instance))
            output: dict[str, Any] = result.output_for_node("invoice_ocr__processed_invoices")
        assert not any(workspace.inbox.iterdir())  # the sensor took the whole day's mail
        return output

    return one_day


def _booked_by(names: list[str]) -> dict[str, str | None]:
    with Ledger(Workspace.default().ledger_path) as ledger:
        return {e.original_name: e.booked_by for e in ledger.entries() if e.original_name in names}


def _assert_caught_and_recovered(ref: str, concern: str, alert: Alert) -> None:
    from inloop.cli import app

    assert alert.routed_at is not None  # announced by the platform's alert router
    assert _check_alert(concern).status != "open"  # resolved by the passing check
    assert reconcile(Workspace.default()).gap == 0
    (times,) = incident_times()
    assert times.ref == ref and times.alert_id == alert.id
    assert times.first_failing_check_at is not None and times.recovered_at is not None
    assert times.started_at <= times.first_failing_check_at and times.stopped_at <= times.recovered_at  # type: ignore[operator]
    listed = CliRunner().invoke(app, ["incident", "list"])
    assert listed.exit_code == 0 and f"incident: {ref}" in listed.output
    assert "to detect: -" not in listed.output and "to recover: -" not in listed.output
    print(listed.output)  # the figures for the report
    print({k: v and round(v[0], 1) for k, v in times.spans(world_clock()).items()})


@pytest.mark.slow
def test_a_degraded_scanner_is_caught_on_its_own_channel_and_recovers(tick: Tick) -> None:
    # Scans are what costs (OCR): 5 broken ones, then the 6 good ones a window of 10 needs to pass again.
    tick(0, MailRates(born_digital=6, scans=0, einvoices=0, regular=0))
    assert _latest("straight-through-processing").passed

    start_incident("invoice_ocr:scanner-degraded")
    tick(1, MailRates(born_digital=6, scans=5, einvoices=0, regular=0))
    broken = _latest("straight-through-processing")
    assert not broken.passed, broken.details
    scans = broken.details["channels"]["scan"]
    assert scans["judged"] and scans["rate"] < 0.6
    # Most mail is born-digital: the overall rate alone would have hidden the broken scanner.
    assert broken.details["overall"]["rate"] >= 0.6
    alert = _check_alert("straight-through-processing")
    assert alert.evidence["check_result_id"] == broken.id
    with Ledger(Workspace.default().ledger_path) as ledger:
        reasons = {e.original_name: e.reason_kind for e in ledger.entries("needs_review") if "-scan." in e.original_name}
    assert sorted(reasons.values()) == ["low_resolution"] * 5, reasons

    stop_incident("invoice_ocr:scanner-degraded")
    for day in range(2, 5):  # the window of 10 scans fills with readable ones again (a misread scan needs a day more)
        tick(day, MailRates(born_digital=1, scans=6 if day == 2 else 2, einvoices=0, regular=0))
        if _latest("straight-through-processing").passed:
            break
    again = _latest("straight-through-processing")
    assert again.passed, again.details
    keyed = _booked_by(list(reasons))
    assert keyed and set(keyed.values()) == {"world clerk"}, keyed  # keyed from the paper by the clerk
    assert len(keyed) == 5
    _assert_caught_and_recovered("invoice_ocr:scanner-degraded", "straight-through-processing", alert)


@pytest.mark.slow
def test_an_erp_outage_is_caught_and_the_parked_invoices_are_booked_after_it(tick: Tick) -> None:
    rates = MailRates(born_digital=4, scans=0, einvoices=2, regular=0)
    tick(0, rates)
    assert _latest("straight-through-processing").passed

    start_incident("invoice_ocr:erp-outage")
    out = tick(1, rates)
    assert out["run"]["review_reasons"] == {"erp_unavailable": 6}
    assert out["run"]["erp_retries"] == 3  # the back-off is paid once in the run, not once per invoice
    broken = _latest("straight-through-processing")
    assert not broken.passed, broken.details
    alert = _check_alert("straight-through-processing")
    parked = [f"world-d00001-{k:02d}-{c}" for k, c in enumerate(["born-digital.pdf"] * 4 + ["e-invoice.xml"] * 2, 1)]

    stop_incident("invoice_ocr:erp-outage")
    out = tick(2, rates)
    assert out["run"]["requeued"] == 6
    assert _latest("straight-through-processing").passed
    # The clerk left them to the machine, which booked each once the ERP was back.
    assert _booked_by(parked) == dict.fromkeys(parked, "machine")
    assert not SqliteErp(Workspace.default().erp_path).duplicate_keys()
    _assert_caught_and_recovered("invoice_ocr:erp-outage", "straight-through-processing", alert)


@pytest.mark.slow
def test_a_supplier_bank_change_is_caught_and_recovers(tick: Tick) -> None:
    rates = MailRates(born_digital=2, scans=0, einvoices=0, regular=1)
    regular = regular_supplier(SUPPLIERS)
    tick(0, rates)
    assert _latest("supplier-master-valid").passed

    start_incident("invoice_ocr:supplier-bank-change")
    tick(1, rates)
    broken = _latest("supplier-master-valid")
    assert not broken.passed and broken.metric_value == 1.0, broken.details
    [(supplier, stale)] = broken.details["accounts_out_of_date"].items()
    assert supplier == regular.supplier_id and stale["master"] == regular.iban and stale["asks_for"] != regular.iban
    alert = _check_alert("supplier-master-valid")

    stop_incident("invoice_ocr:supplier-bank-change")
    tick(2, rates)
    assert _latest("supplier-master-valid").passed
    # The clerk confirmed the change with the supplier and booked that invoice to the account it asked for.
    name = "world-d00001-03-born-digital.pdf"
    assert _booked_by([name]) == {name: "world clerk"}
    bookings = SqliteErp(Workspace.default().erp_path).bookings()
    assert [b["iban"] for b in bookings if b["booked_by"] == "world clerk"] == [stale["asks_for"]]
    _assert_caught_and_recovered("invoice_ocr:supplier-bank-change", "supplier-master-valid", alert)
