"""One settings object for the whole platform.

Every path and URL derives from ``data_dir`` unless it is set explicitly, so a laptop runs
on SQLite and local files while production points the same code at Postgres, an MLflow
server and object storage by configuration alone. Nothing here touches the disk at import
time: :func:`get_settings` builds the object, :meth:`Settings.prepare` creates folders.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "disable_telemetry", "get_settings", "redact_url", "reset_settings"]

_TELEMETRY_OFF = {
    # Great Expectations analytics, MLflow telemetry, Streamlit usage stats, Dagster telemetry
    # (the last one is also written into dagster.yaml): the platform makes no outbound calls.
    "GX_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "DAGSTER_DISABLE_TELEMETRY": "1",
    # MLflow would copy the workspace's uv.lock into every logged model (and run uv to find it);
    # models name their own pip requirements instead.
    "MLFLOW_LOG_UV_FILES": "false",
}


_DAGSTER_YAML_MARK = "# Written by inloop"


class Settings(BaseSettings):
    """Platform settings, read from ``INLOOP_*`` environment variables and ``.env``."""

    model_config = SettingsConfigDict(
        env_prefix="INLOOP_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default=Path(".inloop"), description="Root of every local default.")
    database_url: str | None = Field(
        default=None, description="Platform database; default sqlite:///<data_dir>/inloop.db"
    )
    invoice_ledger_url: str | None = Field(
        default=None, description="invoice_ocr's intake ledger (invoices, submissions, events); default "
        "sqlite:///<data_dir>/domains/invoice_ocr/ledger.db. PostgreSQL for several machines.")
    invoice_erp_url: str | None = Field(
        default=None, description="invoice_ocr's ERP stand-in; default sqlite:///<data_dir>/domains/invoice_ocr/erp.db")
    stored_files_url: str | None = Field(
        default=None, description="Content-addressed stored files (received invoices): a folder path, or "
        "s3://bucket/prefix (endpoint from INLOOP_MLFLOW_S3_ENDPOINT_URL or AWS_ENDPOINT_URL); default: a folder "
        "under each domain's directory.")
    mlflow_tracking_uri: str | None = Field(
        default=None, description="MLflow tracking; default sqlite:///<data_dir>/mlflow.db"
    )
    mlflow_artifact_root: str | None = Field(
        default=None, description="Where new MLflow experiments store artifacts (path or s3://); default "
        "<data_dir>/mlartifacts, or the tracking server's own default when the tracking URI is http(s)."
    )
    mlflow_s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (MinIO, SeaweedFS) for s3:// artifacts; "
        "exported as MLFLOW_S3_ENDPOINT_URL."
    )
    dagster_home: Path | None = Field(default=None, description="DAGSTER_HOME; default <data_dir>/dagster")
    dagster_postgres_url: str | None = Field(
        default=None, description="Dagster run/event/schedule storage on PostgreSQL (postgresql://...); "
        "default: SQLite files under DAGSTER_HOME."
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    console_port: int = Field(default=8501, ge=1, le=65535)
    dagster_port: int = Field(default=3000, ge=1, le=65535)
    api_token: str | None = Field(default=None, description="Token for write endpoints; generated if unset.")
    alert_webhook_url: str | None = Field(
        default=None, description="Optional Slack-compatible webhook for alerts routed to 'webhook'."
    )
    demo_data_scale: float = Field(default=1.0, gt=0, le=100, description="Multiplier on demo data sizes.")
    world: bool = Field(default=True, description="Run the simulated world (traffic, incidents) under `inloop up`; "
                        "off for a fork with real traffic.")
    world_day_seconds: float = Field(default=60.0, gt=0, le=86_400,
                                     description="Real seconds per simulated day (the world's clock speed).")
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    auto_migrate: bool = Field(default=True, description="Upgrade the platform DB schema on first use.")
    prediction_logging: bool = Field(default=True, description="Log every served prediction (off only to measure its cost).")
    max_request_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, description="Largest request body the API accepts.")
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS; closed by default.")
    canary_share: float = Field(default=0.05, ge=0, le=0.5,
                                description="Share of traffic (by subject hash) a challenger model serves before promotion.")
    canary_min_requests: int = Field(default=30, ge=1, description="Requests a challenger must serve before promotion.")
    canary_min_agreement: float = Field(default=0.8, ge=0, le=1,
                                        description="Least share of canary decisions the champion would have made alike.")
    canary_max_latency_ratio: float = Field(default=2.0, gt=0, description="Challenger p95 latency / champion p95 at most.")
    canary_max_quality_drop: float = Field(default=0.02, ge=0,
                                           description="Largest live-quality drop (e.g. AUC) vs the champion, where labels exist.")
    card_overlays: dict[str, Path] = Field(default_factory=dict, description=(
        "Per domain, a card overlay whose top-level keys replace the project card's (e.g. data_sources pointing "
        "at a team's own data): INLOOP_CARD_OVERLAYS='{\"credit\": \"domains/credit/examples/german_credit/"
        "card-overlay.yaml\"}'. See docs/own-data.md."))
    bench_regression_tolerance: float = Field(default=0.3, ge=0,
                                              description="Relative slow-down of a bench figure that counts as a regression.")

    @field_validator("data_dir", "dagster_home", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().resolve()

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment == "production" and self.api_token in {None, "", "changeme", "change-me"}:
            raise ValueError("INLOOP_API_TOKEN must be set to a real secret when INLOOP_ENVIRONMENT=production")
        return self

    # Derived locations -------------------------------------------------------------------

    @property
    def platform_db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'inloop.db'}"

    @property
    def mlflow_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.data_dir / 'mlflow.db'}"

    @property
    def mlflow_artifacts(self) -> str | None:
        """Artifact root for new experiments; None lets an MLflow server use its own (proxied) default."""
        if self.mlflow_artifact_root:
            return self.mlflow_artifact_root
        if self.mlflow_uri.startswith(("http://", "https://")):
            return None
        return str(self.data_dir / "mlartifacts")

    @property
    def dagster_storage_url(self) -> str | None:
        """Dagster's Postgres storage URL for psycopg2 (dagster-postgres' driver), or None for SQLite."""
        url = self.dagster_postgres_url
        if not url:
            return None
        scheme, rest = url.split("://", 1)
        if scheme not in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
            raise ValueError(f"INLOOP_DAGSTER_POSTGRES_URL must be a postgresql:// URL, not {scheme}://")
        return "postgresql+psycopg2://" + rest

    @property
    def dagster_home_dir(self) -> Path:
        return self.dagster_home or self.data_dir / "dagster"

    @property
    def files_dir(self) -> Path:
        """Durable files the platform keeps (screenshots, reports, content-addressed copies)."""
        return self.data_dir / "files"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    def domain_dir(self, domain: str) -> Path:
        """A domain's own corner of the data directory (its generated data, inbox, ERP...)."""
        return self.data_dir / "domains" / domain

    # Side effects, only when asked ------------------------------------------------------

    def prepare(self) -> Settings:
        """Create the data directory tree and Dagster's instance config; idempotent."""
        for folder in (self.data_dir, self.files_dir, self.reports_dir, self.dagster_home_dir):
            folder.mkdir(parents=True, exist_ok=True)
        artifacts = self.mlflow_artifacts
        if artifacts and ":/" not in artifacts:
            Path(artifacts).mkdir(parents=True, exist_ok=True)
        dagster_yaml = self.dagster_home_dir / "dagster.yaml"
        # A file inloop wrote follows the settings (SQLite <-> Postgres); a hand-written one is kept.
        if not dagster_yaml.exists() or dagster_yaml.read_text().startswith(_DAGSTER_YAML_MARK):
            text = self.dagster_instance_yaml()
            if not dagster_yaml.exists() or dagster_yaml.read_text() != text:
                dagster_yaml.write_text(text)
        return self

    def dagster_instance_yaml(self) -> str:
        """The dagster.yaml inloop writes: telemetry off, a queued run coordinator, and Postgres
        storage (credentials read from the environment at run time) when configured."""
        text = (
            f"{_DAGSTER_YAML_MARK} from its settings: edit those (INLOOP_*), not this file;\n"
            "# a hand-written dagster.yaml (without this first line) is left alone.\n"
            "telemetry:\n  enabled: false\n"
            "run_coordinator:\n  module: dagster.core.run_coordinator\n"
            "  class: QueuedRunCoordinator\n  config:\n    max_concurrent_runs: 2\n"
        )
        if self.dagster_storage_url:
            # Runs, event logs and schedules in one Postgres database (dagster-postgres).
            text += "storage:\n  postgres:\n    postgres_url:\n      env: INLOOP_DAGSTER_STORAGE_URL\n"
        return text

    def resolved_api_token(self) -> str:
        """The API write token: configured, or generated once into the data directory."""
        if self.api_token:
            return self.api_token
        token_file = self.data_dir / "api-token"
        if token_file.exists():
            return token_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(32)
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        return token

    def child_environment(self) -> dict[str, str]:
        """Environment for processes inloop starts: same settings, telemetry off."""
        env = dict(os.environ)
        env.update(_TELEMETRY_OFF)
        env["INLOOP_DATA_DIR"] = str(self.data_dir)
        env["DAGSTER_HOME"] = str(self.dagster_home_dir)
        env["MLFLOW_TRACKING_URI"] = self.mlflow_uri
        if self.mlflow_s3_endpoint_url:
            env["MLFLOW_S3_ENDPOINT_URL"] = self.mlflow_s3_endpoint_url
        if self.dagster_storage_url:
            env["INLOOP_DAGSTER_STORAGE_URL"] = self.dagster_storage_url
        return env


def redact_url(url: str) -> str:
    """A database or tracking URL with its password masked, fit for the terminal and logs."""
    from sqlalchemy.engine import make_url  # only the commands that print a URL pay for SQLAlchemy

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def disable_telemetry() -> None:
    """Turn off every library's telemetry in this process (idempotent)."""
    for key, value in _TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call :func:`reset_settings`)."""
    disable_telemetry()
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings so the next :func:`get_settings` re-reads the environment."""
    get_settings.cache_clear()
