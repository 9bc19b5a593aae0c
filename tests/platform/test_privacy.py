"""Forgetting a person (data-5): every store loses them, everyone else stays, asking twice is safe.

The credit domain's real eraser runs against data for several applicants spread over every store
the platform and the domain keep: prediction log, labels, bug reports with screenshots, alerts,
spilled log lines, reports, the live inbox and core-banking ledger (parquet) and the pipelines'
stored outputs (pickles). After ``forget`` an independent scan of every table and every file
under the data directory finds nothing of the person, and all of the others.
"""

from __future__ import annotations

import io
import json
import pickle
import re
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from PIL import Image

from inloop import db
from inloop.alerts import raise_alert
from inloop.db.models import Alert, BugReport, BugReportEvent, CheckResult, Label, Prediction, SubjectErasure
from inloop.incidents.bug_reports import file_report
from inloop.predictions import PredictionEntry, log_predictions
from inloop.privacy import ErasureError, forget, subject_key
from inloop.settings import get_settings


def _png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(buf, format="PNG")
    return buf.getvalue()


def _db_text() -> str:
    """Every row of every table the erasure touches, as one string (the scan's haystack)."""
    parts = []
    with db.read_session() as sess:
        for model in (Prediction, Label, BugReport, BugReportEvent, Alert, CheckResult, SubjectErasure):
            for row in sess.scalars(sa.select(model)):
                parts.append(json.dumps({c.name: getattr(row, c.key) for c in model.__table__.columns}, default=str))
    return "\n".join(parts)


def _file_hits(root: Path, needle: str) -> list[str]:
    """Files under ``root`` that still hold ``needle``: in parquet rows, pickled objects or raw bytes."""
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            found = pd.read_parquet(path).astype(str).eq(needle).any().any()
        elif "storage" in path.parts:
            found = needle in repr(pickle.loads(path.read_bytes()))
        else:
            found = needle.encode() in path.read_bytes()
        if found:
            hits.append(str(path.relative_to(root)))
    return hits


@pytest.fixture
def credit_world(inloop_env: Path) -> dict[str, object]:
    """Three applicants (A is forgotten; B and C stay) in every store."""
    from credit.lib.live import inbox_dir, simulate_frontend_batch

    settings = get_settings().prepare()
    batch_id = simulate_frontend_batch(18, 30, seed=5)
    inbox = pd.read_parquet(inbox_dir() / f"{batch_id}.parquet")
    a, b, c = (str(x) for x in inbox["application_id"].iloc[:3])

    entries = [PredictionEntry(domain="credit", component="decision", subject_id=s,
                               features={"application_id": s, "income_monthly_eur": 2000.0 + i},
                               output={"decision": "approve"}, model_name="m", model_version="1")
               for i, s in enumerate([a, a, b, c])]
    log_predictions(entries)
    rid_a, rid_b = entries[0].request_id, entries[2].request_id
    with db.session() as sess:
        sess.add_all([Label(domain="credit", request_id=rid_a, subject_id=a, name="default_12m", value=1.0),
                      Label(domain="credit", request_id=rid_b, subject_id=b, name="default_12m", value=0.0),
                      Label(domain="credit", subject_id=c, name="default_12m", value=0.0)])

    report_a = file_report({"reporter": "ana", "text": f"Application {a} was refused, odd", "domain": "credit",
                            "request_id": rid_a}, screenshot=_png((200, 10, 10))).report
    report_b = file_report({"reporter": "ben", "text": f"Application {b} looks fine", "domain": "credit",
                            "request_id": rid_b}, screenshot=_png((10, 200, 10))).report
    with db.session() as sess:
        sess.add(CheckResult(domain="credit", concern_id="c", check_name="k", asset_key="a", passed=False,
                             severity="ERROR", metric_name="m", metric_value=0.1, threshold_op="<=",
                             threshold_value=0.0, details={"examples": [a, b]}))
    raise_alert(domain="credit", cause_key="test:odd", title="odd decision",
                message=f"see request {rid_a} and {rid_b}", evidence={"request_ids": [rid_a, rid_b]})

    spill = settings.data_dir / "spill"
    spill.mkdir(parents=True)
    (spill / "batch.jsonl").write_text("".join(
        json.dumps({"domain": "credit", "subject_id": s, "features": {"application_id": s}}) + "\n" for s in (a, b)))
    reports = settings.reports_dir / "credit"
    reports.mkdir(parents=True)
    (reports / "failing_rows.csv").write_text(f"application_id,column\n{a},income\n{b},income\n")
    (settings.reports_dir / "drift").mkdir()
    (settings.reports_dir / "drift" / "live.html").write_text(f"<html><script>{{'ids': ['{a}', '{b}']}}</script></html>")

    storage = settings.dagster_home_dir / "storage"
    storage.mkdir(parents=True)
    (storage / "live_applications").write_bytes(pickle.dumps(
        __import__("credit.defs.monitoring", fromlist=["LiveBatch"]).LiveBatch(batch_id, inbox)))
    return {"a": a, "b": b, "c": c, "rid_a": rid_a, "rid_b": rid_b, "report_a": report_a, "report_b": report_b,
            "data_dir": settings.data_dir}


@pytest.mark.rubric("data-5")
def test_forget_removes_one_person_from_every_store_and_keeps_the_others(credit_world: dict) -> None:
    a, b, c, rid_a = credit_world["a"], credit_world["b"], credit_world["c"], credit_world["rid_a"]
    data_dir: Path = credit_world["data_dir"]
    shot_a, shot_b = credit_world["report_a"].screenshot_file, credit_world["report_b"].screenshot_file
    assert a in _db_text() and _file_hits(data_dir, a)  # the scan sees the person before

    receipt = forget("credit", a, reason="GDPR art. 17 request #1", requested_by="dpo@example.com")

    assert receipt.status == "done" and receipt.remaining == 0 and not receipt.already_erased
    assert any("event log" in note for note in receipt.not_covered)  # said, not silently skipped
    removed = {s.store: s.removed for s in receipt.stores}
    assert removed["prediction log"] == 2 and removed["labels"] == 1 and removed["bug reports"] == 1
    assert removed["alerts"] == 1 and removed["check results"] == 1 and removed["prediction log spill files"] == 1 and removed["reports"] >= 1
    assert removed["credit: parquet files"] == 2  # the inbox batch and the core-banking ledger
    assert removed["credit: pipeline outputs"] == 1

    # Independent scan: not one table row, not one file under the data directory names A any more.
    text = _db_text()
    assert a not in text and rid_a not in text
    assert _file_hits(data_dir, a) == [] and _file_hits(data_dir, rid_a) == []
    assert not shot_a.exists()
    # Everyone else is intact.
    for other in (b, c, credit_world["rid_b"]):
        assert other in text
    assert shot_b.exists()
    kept = {str(Path(h).parent) if "storage" not in h else h for h in _file_hits(data_dir, b)}
    assert {"domains/credit/inbox", "domains/credit/core_banking", "dagster/storage/live_applications",
            "reports/credit", "reports/drift", "spill"} <= kept
    with db.read_session() as sess:
        assert sess.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 2
        report_b = sess.get(BugReport, credit_world["report_b"].id)
        assert report_b.request_id == credit_world["rid_b"] and b in report_b.text
        register = sess.scalars(sa.select(SubjectErasure)).one()
        assert register.subject_key == subject_key("credit", a) and register.status == "done"

    again = forget("credit", a, reason="GDPR art. 17 request #1", requested_by="dpo@example.com")
    assert again.already_erased and again.runs == 2 and again.removed == 0 and again.status == "done"
    assert again.erasure_id == receipt.erasure_id


@pytest.mark.rubric("data-5")
def test_bad_erasure_requests_are_refused_before_anything_changes(credit_world: dict,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from inloop import domains as registry
    from inloop.domains import DomainPlugin

    # A domain that keeps nobody (no subject_eraser): every installed domain now declares one.
    bare = DomainPlugin(name="bare", root=Path("."), definitions=lambda: None)  # type: ignore[arg-type, return-value]
    real = registry.get_domain
    monkeypatch.setattr(registry, "get_domain", lambda name: bare if name == "bare" else real(name))
    before = _db_text()
    cases = [("nope", "x1", "unknown domain", 404), ("bare", "x1", "no person-level subjects", 404),
             ("invoice_ocr", "no supplier", "not a valid", 422),
             ("credit", "a b/../c", "not a valid", 422), ("credit", "", "not a valid", 422)]
    for domain, subject, message, code in cases:
        with pytest.raises(ErasureError, match=message) as info:
            forget(domain, subject, reason="request #2", requested_by="dpo")
        assert info.value.status_code == code
    with pytest.raises(ErasureError, match="reason"):
        forget("credit", credit_world["a"], reason=" ", requested_by="dpo")
    assert _db_text() == before


@pytest.mark.slow  # the app's lifespan loads every domain's models
@pytest.mark.rubric("data-5")
def test_erasure_api_needs_the_token_and_returns_the_receipt(credit_world: dict) -> None:
    from fastapi.testclient import TestClient

    from inloop.api.app import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        url = f"/subjects/credit/{credit_world['a']}/erasure"
        body = {"reason": "GDPR art. 17 request #3", "requested_by": "dpo"}
        assert client.post(url, json=body).status_code == 401
        client.headers["Authorization"] = f"Bearer {client.app.state.api_token}"
        assert client.post("/subjects/nope/x1/erasure", json=body).status_code == 404  # no such domain
        bad = client.post("/subjects/credit/a%20b/erasure", json=body)  # the schema states each domain's id format
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "subject_id"]
        assert client.post(url, json={"reason": "x"}).status_code == 422
        response = client.post(url, json=body)
    # The app's MLflow probe may still be creating MLflow's tables (Alembic, module-global state):
    # let it finish so the next test's Dagster instance does not race it.
    client.app.state.mlflow_probe._thread.join(60)
    assert response.status_code == 200
    receipt = response.json()
    assert receipt["status"] == "done" and receipt["remaining"] == 0 and receipt["removed"] >= 8
    assert receipt["not_covered"]
    assert {s["store"] for s in receipt["stores"]} >= {"prediction log", "labels", "bug reports",
                                                        "credit: parquet files", "credit: pipeline outputs"}
    assert credit_world["a"] not in _db_text()


@pytest.mark.rubric("data-5")
def test_concurrent_requests_for_one_person_share_one_register_entry(credit_world: dict) -> None:
    import threading

    receipts, errors = [], []

    def ask() -> None:
        try:
            receipts.append(forget("credit", credit_world["a"], reason="request #4", requested_by="dpo"))
        except Exception as exc:  # pragma: no cover - the assertion below shows it
            errors.append(repr(exc))

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.runs for r in receipts) == [1, 2, 3] and {r.erasure_id for r in receipts} == {receipts[0].erasure_id}
    assert sum(r.removed for r in receipts if r.stores) >= 2 and all(r.status == "done" for r in receipts)
    with db.read_session() as sess:
        assert sess.scalar(sa.select(sa.func.count()).select_from(SubjectErasure)) == 1
        assert sess.scalar(sa.select(sa.func.count()).select_from(Prediction)
                           .where(Prediction.subject_id == credit_world["a"])) == 0


@pytest.mark.rubric("data-5")
def test_forget_command_prints_the_receipt_and_refuses_domains_without_subjects(credit_world: dict,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from inloop import domains as registry
    from inloop.cli import app
    from inloop.domains import DomainPlugin

    bare = DomainPlugin(name="bare", root=Path("."), definitions=lambda: None)  # type: ignore[arg-type, return-value]
    real = registry.get_domain
    monkeypatch.setattr(registry, "get_domain", lambda name: bare if name == "bare" else real(name))

    runner = CliRunner()
    before = _db_text()
    dry = runner.invoke(app, ["forget", "credit", credit_world["a"], "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "DRY RUN" in dry.output and re.search(r"prediction log\s+2\b", dry.output)
    assert _db_text() == before  # nothing changed, not even the register
    assert runner.invoke(app, ["forget", "credit", credit_world["a"]]).exit_code == 2  # a real one needs a reason
    done = runner.invoke(app, ["forget", "credit", credit_world["a"], "--reason", "GDPR request #5",
                               "--requested-by", "dpo"])
    assert done.exit_code == 0, done.output
    assert f"credit: subject {credit_world['a']} — DONE" in done.output and "prediction log" in done.output
    refused = runner.invoke(app, ["forget", "bare", "S-1", "--reason", "GDPR request #6"])
    assert refused.exit_code == 2 and "no person-level subjects" in refused.output
    assert credit_world["a"] not in _db_text()


@pytest.mark.rubric("data-5")
def test_a_store_that_cannot_be_read_makes_the_erasure_incomplete_not_silent(credit_world: dict) -> None:
    from typer.testing import CliRunner

    from inloop.cli import app

    storage = get_settings().dagster_home_dir / "storage"
    (storage / "loan_applications").write_bytes(b"not a pickle")  # e.g. an output whose class was renamed
    receipt = forget("credit", credit_world["a"], reason="request #7", requested_by="dpo")
    outputs = next(s for s in receipt.stores if s.store == "credit: pipeline outputs")
    assert receipt.status == "incomplete" and outputs.remaining == 1 and "unreadable" in outputs.detail
    assert credit_world["a"] not in _db_text()  # everything readable was still erased
    again = CliRunner().invoke(app, ["forget", "credit", credit_world["a"], "--reason", "request #7"])
    assert again.exit_code == 1 and "INCOMPLETE" in again.output
    with db.read_session() as sess:
        assert sess.scalars(sa.select(SubjectErasure.status)).one() == "incomplete"
