"""The platform database: migrations, schema parity with the models, and behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from inloop import db
from inloop.alerts import raise_alert
from inloop.db.models import (
    ActionItem,
    Alert,
    Base,
    BugReport,
    CheckResult,
    Label,
    PostmortemIndex,
    Prediction,
)
from inloop.predictions import PredictionEntry, get_prediction, log_prediction, log_predictions


def test_blank_database_upgrades_to_head(db_url: str) -> None:
    assert db.current_revision(db_url) is None
    assert db.upgrade(db_url) == db.head_revision()
    tables = set(sa.inspect(db.engine(db_url)).get_table_names())
    assert {"check_results", "alerts", "predictions", "bug_reports", "postmortems", "action_items",
            "labels", "alembic_version"} <= tables


def test_migrations_match_the_models(db_url: str) -> None:
    """Autogenerate finds nothing to do: models and migrations describe the same schema."""
    db.upgrade(db_url)
    with db.engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(db_url: str) -> None:
    db.upgrade(db_url)
    assert db.upgrade(db_url) == db.head_revision()


def test_every_table_round_trips(db_url: str) -> None:
    db.upgrade(db_url)
    now = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)
    with db.session(db_url) as sess:
        sess.add_all([
            CheckResult(domain="d", concern_id="c", check_name="k", asset_key="a", passed=False, severity="ERROR",
                        metric_name="m", metric_value=0.5, threshold_op="<=", threshold_value=0.1,
                        evaluated_at=now, details={"rows": [1, 2]}),
            Prediction(request_id="r1", domain="d", component="box", features={"x": 1.5, "s": "ä"},
                       output={"y": [1, 2]}, created_at=now),
            Label(domain="d", request_id="r1", name="default_12m", value=1.0),
            BugReport(reporter="ana", text="why?", domain="d", group_key="d|box|odd"),
            PostmortemIndex(domain="d", slug="s", path="p.md", title="t", status="draft",
                            incident_date=dt.date(2026, 3, 1)),
            ActionItem(domain="d", postmortem_slug="s", position=1, kind="prevent", description="x",
                       owner="o", priority="high", status="open"),
        ])
    with db.read_session(db_url) as sess:
        check = sess.scalars(sa.select(CheckResult)).one()
        pred = sess.scalars(sa.select(Prediction)).one()
        assert check.evaluated_at == now and check.evaluated_at.tzinfo is not None
        assert check.details == {"rows": [1, 2]}
        assert pred.features == {"x": 1.5, "s": "ä"} and pred.output == {"y": [1, 2]}
        assert sess.scalar(sa.select(sa.func.count()).select_from(ActionItem)) == 1


def test_naive_datetimes_are_refused(db_url: str) -> None:
    db.upgrade(db_url)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), db.session(db_url) as sess:
        sess.add(Label(domain="d", name="n", value=1.0, observed_at=dt.datetime(2026, 1, 1)))
        sess.flush()


def test_prediction_log_writes_and_reads_back(db_url: str) -> None:
    db.upgrade(db_url)
    rid = log_prediction(domain="credit", component="decision", features={"income": 3200.0, "bad": float("nan")},
                         output={"decision": "approve"}, model_name="m", model_version="3", policy_version="p1",
                         live_test_set=True, db_url=db_url)
    entry = get_prediction(rid, db_url=db_url)
    assert entry.features == {"income": 3200.0, "bad": None}
    assert (entry.model_version, entry.policy_version, entry.live_test_set) == ("3", "p1", True)
    n = log_predictions([PredictionEntry(domain="d", component="c", features={"i": i}, output={})
                         for i in range(500)], db_url=db_url)
    assert n == 500
    with db.read_session(db_url) as sess:
        assert sess.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 501


def test_duplicate_request_ids_are_refused(db_url: str) -> None:
    db.upgrade(db_url)
    log_prediction(domain="d", component="c", features={}, output={}, request_id="same", db_url=db_url)
    with pytest.raises(sa.exc.IntegrityError):
        log_prediction(domain="d", component="c", features={}, output={}, request_id="same", db_url=db_url)


def test_concurrent_alerts_of_one_cause_group_into_one(db_url: str) -> None:
    """Eight writers raising the same cause at once: one open alert with eight occurrences."""
    db.upgrade(db_url)
    errors: list[BaseException] = []

    def raise_one() -> None:
        try:
            raise_alert(domain="d", cause_key="check:d:c", title="t", message="m", db_url=db_url)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=raise_one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read_session(db_url) as sess:
        alerts = sess.scalars(sa.select(Alert)).all()
    assert len(alerts) == 1 and alerts[0].occurrences == 8


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(inloop_env) -> None:
    url = f"sqlite:///{inloop_env / 'wal.db'}"
    db.upgrade(url)
    with db.engine(url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
