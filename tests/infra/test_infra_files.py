"""infra/ checked without a container engine or a cluster (neither exists here): the compose file
against the Compose Specification's schema, the Helm values against the Dagster chart's keys, the
production dagster.yaml with Dagster's own config validation, and the settings wiring that joins them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
SCHEMAS = INFRA / "schemas"


def _compose() -> dict[str, Any]:
    return yaml.safe_load((INFRA / "compose.yaml").read_text())


def _compose_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    # The dialect the schema declares (2020-12: `unevaluatedProperties` is what rejects unknown keys).
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_the_compose_file_is_valid_against_the_compose_spec_schema() -> None:
    assert _compose_errors(_compose()) == []


def test_the_compose_schema_check_catches_a_misspelt_key() -> None:
    broken = _compose()
    broken["services"]["api"]["helthcheck"] = broken["services"]["api"].pop("healthcheck")
    assert any("helthcheck" in error for error in _compose_errors(broken))


def test_every_long_running_service_has_a_healthcheck_and_waits_for_what_it_needs() -> None:
    services = _compose()["services"]
    one_shot = {name for name, s in services.items() if s.get("restart") == "no"}
    assert one_shot == {"create-bucket", "migrate"}
    for name, service in services.items():
        if name not in one_shot:
            assert "healthcheck" in service, f"{name} has no healthcheck"
        for dependency, condition in (service.get("depends_on") or {}).items():
            expected = "service_completed_successfully" if dependency in one_shot else "service_healthy"
            assert condition["condition"] == expected, (name, dependency)
    # host ports only on loopback: a reverse proxy with TLS exposes them
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_compose_wires_every_inloop_process_through_the_settings() -> None:
    from inloop.settings import Settings

    services = _compose()["services"]
    fields = set(Settings.model_fields)
    for name in ("migrate", "dagster-webserver", "dagster-daemon", "api", "console"):
        env = services[name]["environment"]
        inloop_keys = {k.removeprefix("INLOOP_").lower() for k in env if k.startswith("INLOOP_")}
        assert inloop_keys <= fields, f"{name}: unknown settings {inloop_keys - fields}"
        assert env["INLOOP_DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:5432/inloop" in env[
            "INLOOP_DATABASE_URL"]
        assert env["INLOOP_MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
        assert env["INLOOP_ENVIRONMENT"] == "production" and "INLOOP_API_TOKEN" in env
    mlflow = " ".join(services["mlflow"]["command"])
    assert "--backend-store-uri postgresql+psycopg://" in mlflow and "--artifacts-destination s3://" in mlflow
    assert services["mlflow"]["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    # Dagster's webserver and daemon read the production instance file
    for name in ("dagster-webserver", "dagster-daemon"):
        assert "./dagster/dagster.yaml:/opt/dagster/home/dagster.yaml:ro" in services[name]["volumes"]
        assert services[name]["environment"]["DAGSTER_HOME"] == "/opt/dagster/home"


# --- the Dockerfile --------------------------------------------------------------------------------

def test_the_dockerfile_is_multi_stage_frozen_and_non_root() -> None:
    text = (INFRA / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)", text, flags=re.M)
    assert stages == ["build", "runtime"]
    syncs = re.findall(r"uv sync ([^\n]*)", text)
    assert syncs and all("--frozen" in s and "--no-dev" in s for s in syncs)
    runtime = text.split("AS runtime", 1)[1]
    users = re.findall(r"^USER (\S+)", runtime, flags=re.M)
    assert users and not users[-1].startswith(("root", "0"))
    assert "/uv" not in runtime  # no uv in the final image
    ignored = (INFRA / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", ".inloop", ".git", ".env"} <= set(ignored)


# --- Helm values -----------------------------------------------------------------------------------

def _chart_keys() -> tuple[set[str], list[str]]:
    exact, open_prefixes = set(), []
    for line in (SCHEMAS / "dagster-helm-keys.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith(".*"):
            open_prefixes.append(line[:-2])
        else:
            exact.add(line)
    return exact, open_prefixes


def _paths(value: Any, prefix: str = "") -> list[str]:
    """Every leaf path of a values document: `a.b`, list items as `a[]`; empty maps and lists end a path."""
    if isinstance(value, dict) and value:
        out = []
        for key, child in value.items():
            out += _paths(child, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list) and value:
        return [p for item in value for p in _paths(item, prefix + "[]")]
    return [prefix]


def _unknown_keys(values: dict[str, Any]) -> list[str]:
    exact, open_prefixes = _chart_keys()
    known_parents = {k.rsplit(".", 1)[0] for k in exact if "." in k} | {p for p in open_prefixes}

    def known(path: str) -> bool:
        if path in exact or path in known_parents:
            return True
        return any(path == p or path.startswith((p + ".", p + "[]")) for p in open_prefixes)

    return [p for p in _paths(values) if not known(p)]


def _helm_values() -> dict[str, Any]:
    return yaml.safe_load((INFRA / "helm" / "values.yaml").read_text())


def test_every_key_of_our_helm_values_exists_in_the_dagster_chart() -> None:
    assert _unknown_keys(_helm_values()) == []


def test_the_helm_key_check_catches_a_misspelt_key() -> None:
    values = _helm_values()
    values["runLauncher"]["config"]["k8sRunLauncher"]["envSecret"] = [{"name": "x"}]
    values["dagsterWebserver"]["image"]["tags"] = "1"
    assert set(_unknown_keys(values)) == {"runLauncher.config.k8sRunLauncher.envSecret[].name",
                                          "dagsterWebserver.image.tags"}


def test_helm_runs_in_kubernetes_jobs_with_one_code_server_per_domain() -> None:
    from inloop.launcher import workspace_modules

    values = _helm_values()
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    deployments = values["dagster-user-deployments"]["deployments"]
    names = [d["name"] for d in deployments]
    assert len(set(names)) == len(names) and all(re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", n) for n in names)
    served = {d["dagsterApiGrpcArgs"][d["dagsterApiGrpcArgs"].index("-m") + 1] for d in deployments}
    # A deployment of a deleted domain would crash-loop. (A domain just added with `inloop new-domain`
    # may not have its deployment yet: infra/README.md asks for it before deploying on Kubernetes.)
    stale = served - set(workspace_modules(REPO / "workspace.yaml"))
    assert not stale, f"Helm user-code deployments for code locations not in workspace.yaml: {sorted(stale)}"
    for d in deployments:
        assert {"name", "image", "port"} <= set(d) and d["image"]["tag"] not in {"", "latest"}
        assert {"name": "inloop-secrets"} in d["envSecrets"]


# --- Dagster's production instance -----------------------------------------------------------------

@pytest.fixture
def dagster_pg_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"DAGSTER_PG_HOST": "postgres", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USER": "inloop",
                       "DAGSTER_PG_PASSWORD": "secret", "DAGSTER_PG_DB": "dagster"}.items():
        monkeypatch.setenv(key, value)


def test_the_production_dagster_yaml_passes_dagsters_config_validation(dagster_pg_env: None) -> None:
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster._serdes import ConfigurableClassData
    from dagster_postgres import DagsterPostgresStorage

    config, _ = dagster_instance_config(str(INFRA / "dagster"))  # the instance schema, env sources resolved
    assert config["telemetry"] == {"enabled": False}
    storage = process_config(DagsterPostgresStorage.config_type(), config["storage"]["postgres"])
    assert storage.success, storage.errors
    assert storage.value["postgres_db"] | {"password": "***"} == {
        "hostname": "postgres", "port": 5432, "username": "inloop", "password": "***", "db_name": "dagster",
        "params": {}, "scheme": "postgresql+psycopg2"}
    for key in ("run_coordinator", "run_launcher", "compute_logs", "local_artifact_storage"):
        section = config[key]
        # each configurable class validates its own config when it is built (no connection is opened)
        ConfigurableClassData(section["module"], section["class"],
                              yaml.safe_dump(section.get("config", {}))).rehydrate(as_type=object)


def test_the_dagster_yaml_needs_its_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster_postgres import DagsterPostgresStorage

    for key in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"):
        monkeypatch.delenv(key, raising=False)
    raw = yaml.safe_load((INFRA / "dagster" / "dagster.yaml").read_text())
    assert all(isinstance(v, dict) and "env" in v for k, v in raw["storage"]["postgres"]["postgres_db"].items()
               if k != "scheme"), "a credential is written into the file"
    config, _ = dagster_instance_config(str(INFRA / "dagster"))
    result = process_config(DagsterPostgresStorage.config_type(), config["storage"]["postgres"])
    assert not result.success and "DAGSTER_PG_HOST" in str([e.message for e in result.errors])


# --- the settings that switch every component --------------------------------------------------------

def test_settings_write_a_postgres_dagster_yaml_and_pass_the_stores_to_children(
        inloop_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._core.instance.config import dagster_instance_config

    from inloop.settings import get_settings, reset_settings

    get_settings().prepare()
    local = (inloop_env / "dagster" / "dagster.yaml").read_text()
    assert "storage:" not in local  # the laptop default: Dagster's SQLite files
    monkeypatch.setenv("INLOOP_DAGSTER_POSTGRES_URL", "postgresql+psycopg://dagster:pw@db:5432/dagster")
    monkeypatch.setenv("INLOOP_MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("INLOOP_MLFLOW_S3_ENDPOINT_URL", "http://minio:9000")
    reset_settings()
    settings = get_settings().prepare()  # an inloop-written file follows the settings
    env = settings.child_environment()
    assert env["INLOOP_DAGSTER_STORAGE_URL"] == "postgresql+psycopg2://dagster:pw@db:5432/dagster"
    assert env["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000" and env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert settings.mlflow_artifacts is None  # the tracking server decides (proxied artifacts)
    monkeypatch.setenv("INLOOP_DAGSTER_STORAGE_URL", env["INLOOP_DAGSTER_STORAGE_URL"])
    config, _ = dagster_instance_config(str(inloop_env / "dagster"))
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "INLOOP_DAGSTER_STORAGE_URL"}}}


def test_a_hand_written_dagster_yaml_is_left_alone(inloop_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inloop.settings import get_settings, reset_settings

    home = inloop_env / "dagster"
    home.mkdir(parents=True)
    mine = (INFRA / "dagster" / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text(mine)
    monkeypatch.setenv("INLOOP_DAGSTER_POSTGRES_URL", "postgresql://u@db/dagster")
    reset_settings()
    get_settings().prepare()
    assert (home / "dagster.yaml").read_text() == mine


def test_a_dagster_storage_url_that_is_not_postgres_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from inloop.settings import get_settings, reset_settings

    monkeypatch.setenv("INLOOP_DAGSTER_POSTGRES_URL", "mysql://u@db/dagster")
    reset_settings()
    with pytest.raises(ValueError, match="INLOOP_DAGSTER_POSTGRES_URL must be a postgresql:// URL"):
        get_settings().child_environment()
