"""infra/dagster/dagster.yaml, the file compose mounts, running a job on a real PostgreSQL.

Needs ``INLOOP_TEST_POSTGRES_URL`` (``scripts/with-postgres.sh``; ``.ci/run``); skipped otherwise.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_the_production_dagster_yaml_stores_runs_and_events_in_postgres(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = os.environ.get("INLOOP_TEST_POSTGRES_URL")
    if not admin:
        pytest.skip("INLOOP_TEST_POSTGRES_URL not set: run under scripts/with-postgres.sh (as .ci/run does)")
    name = f"inloop_dagster_{uuid.uuid4().hex[:10]}"
    admin_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        server = sa.engine.make_url(admin)
        for key, value in {"DAGSTER_PG_HOST": server.host, "DAGSTER_PG_PORT": str(server.port or 5432),
                           "DAGSTER_PG_USER": server.username, "DAGSTER_PG_PASSWORD": server.password or "",
                           "DAGSTER_PG_DB": name}.items():
            monkeypatch.setenv(key, value)
        home = tmp_path / "dagster-home"
        home.mkdir()
        # The file as shipped; only the container's data volume (/data) becomes a folder of this test.
        text = (REPO / "infra" / "dagster" / "dagster.yaml").read_text()
        (home / "dagster.yaml").write_text(text.replace(" /data/", f" {tmp_path}/data/"))

        @dg.asset
        def numbers() -> list[int]:
            return [1, 2, 3]

        @dg.asset
        def total(numbers: list[int]) -> int:
            return sum(numbers)

        instance = dg.DagsterInstance.from_config(str(home))
        try:
            result = dg.materialize([numbers, total], instance=instance)
            assert result.success and result.output_for_node("total") == 6
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        finally:
            instance.dispose()
        engine = sa.create_engine(sa.engine.make_url(admin).set(database=name))
        try:
            with engine.connect() as conn:
                runs = conn.exec_driver_sql("SELECT run_id, status FROM runs").all()
                materialized = conn.exec_driver_sql(
                    "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'").scalar()
        finally:
            engine.dispose()
        assert [(r.run_id, r.status) for r in runs] == [(result.run_id, "SUCCESS")]
        assert materialized == 2
        assert (tmp_path / "data" / "dagster" / "storage").is_dir()  # step outputs on the shared volume
    finally:
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_engine.dispose()
