"""Experiment tracking and the model registry (MLflow), on the settings' tracking URI.

Local default: ``sqlite:///<data_dir>/mlflow.db`` with artifacts under ``<data_dir>/mlartifacts``;
production: an MLflow tracking server (``INLOOP_MLFLOW_TRACKING_URI=http://...``) with object
storage, by configuration alone. Promotion to the ``champion`` alias goes through
:func:`promote`, which moves the alias only when every gate passed and otherwise records
*why* it refused on the model version (tags), so the console can show it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from inloop.readiness import rubric
from inloop.settings import get_settings

__all__ = [
    "CHAMPION",
    "GateResult",
    "PromotionDecision",
    "champion_version",
    "client",
    "experiment_id",
    "load_champion",
    "promote",
    "rollback_champion",
    "start_run",
]

CHAMPION = "champion"
_lock = threading.Lock()
_configured: str | None = None


def _configure() -> str:
    """Point MLflow at the settings' tracking URI (once per process and URI)."""
    global _configured
    import mlflow

    settings = get_settings()
    uri = settings.mlflow_uri
    with _lock:
        if _configured != uri:
            from mlflow import MlflowClient

            from inloop.db import MIGRATION_LOCK

            settings.prepare()
            if settings.mlflow_s3_endpoint_url:  # s3:// artifacts written by this process
                os.environ.setdefault("MLFLOW_S3_ENDPOINT_URL", settings.mlflow_s3_endpoint_url)
            mlflow.set_tracking_uri(uri)
            mlflow.set_registry_uri(uri)
            # The first store access creates MLflow's tables with Alembic: never concurrently
            # with the platform's own migrations in this process.
            with MIGRATION_LOCK:
                MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments(max_results=1)
            _configured = uri
    return uri


def client():  # type: ignore[no-untyped-def]
    """An ``MlflowClient`` on the configured tracking URI."""
    from mlflow import MlflowClient

    uri = _configure()
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(domain: str, name: str | None = None) -> str:
    """The experiment ``<domain>`` (or ``<domain>/<name>``), created with artifacts under the settings' root."""
    full = domain if name is None else f"{domain}/{name}"
    mlc = client()
    existing = mlc.get_experiment_by_name(full)
    if existing is not None:
        return existing.experiment_id
    root = get_settings().mlflow_artifacts
    # No root: an MLflow server stores the artifacts where its --artifacts-destination says.
    location = f"{root.rstrip('/')}/{full}" if root else None
    try:
        return mlc.create_experiment(full, artifact_location=location)
    except Exception:
        # Created concurrently by another process: use theirs.
        existing = mlc.get_experiment_by_name(full)
        if existing is None:
            raise
        return existing.experiment_id


@contextmanager
def start_run(domain: str, run_name: str, *, experiment: str | None = None,
              tags: dict[str, str] | None = None) -> Iterator[Any]:
    """An MLflow run in the domain's experiment, tagged with the domain."""
    import mlflow

    exp = experiment_id(domain, experiment)
    with mlflow.start_run(experiment_id=exp, run_name=run_name,
                          tags={"inloop.domain": domain, **(tags or {})}) as run:
        yield run


@dataclass(frozen=True)
class GateResult:
    """One promotion gate: its name, whether it passed, and the figures behind it."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class PromotionDecision:
    model_name: str
    version: str
    promoted: bool
    gates: tuple[GateResult, ...]
    previous_champion: str | None

    @property
    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    @property
    def reason(self) -> str:
        if self.promoted:
            return f"{self.model_name} v{self.version} is now {CHAMPION}"
        failed = "; ".join(f"{g.name}: {g.detail}" for g in self.failed_gates)
        return f"promotion of {self.model_name} v{self.version} refused by {len(self.failed_gates)} gate(s): {failed}"


def champion_version(model_name: str) -> str | None:
    """The version the ``champion`` alias points at, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client().get_model_version_by_alias(model_name, CHAMPION).version)
    except MlflowException:
        return None


def promote(model_name: str, version: str | int, gates: Sequence[GateResult]) -> PromotionDecision:
    """Move ``champion`` to ``version`` only if every gate passed; record the decision either way.

    A promotion with no gates is refused: a model must show something before it serves.
    """
    version = str(version)
    gates = tuple(gates)
    if not gates:
        gates = (GateResult("has_gates", False, "no promotion gates were evaluated"),)
    mlc = client()
    previous = champion_version(model_name)
    promoted = all(g.passed for g in gates)
    mlc.set_model_version_tag(model_name, version, "inloop.promotion_gates", json.dumps([asdict(g) for g in gates]))
    if promoted:
        mlc.set_registered_model_alias(model_name, CHAMPION, version)
        mlc.set_model_version_tag(model_name, version, "inloop.promotion", "promoted")
        if previous and previous != version:
            mlc.set_model_version_tag(model_name, version, "inloop.previous_champion", previous)
    else:
        failed = [g.name for g in gates if not g.passed]
        mlc.set_model_version_tag(model_name, version, "inloop.promotion", "refused")
        mlc.set_model_version_tag(model_name, version, "inloop.promotion_refused_by", ",".join(failed))
    return PromotionDecision(model_name, version, promoted, gates, previous)


@rubric("infra-7", what="points the champion alias back at the previous champion in one call", how="manual")
def rollback_champion(model_name: str, to_version: str | int | None = None) -> tuple[str | None, str]:
    """Point ``champion`` back at ``to_version`` (default: the champion before the current one).

    Returns ``(from_version, to_version)``; raises ValueError when there is nothing to go back to.
    """
    mlc = client()
    current = champion_version(model_name)
    if to_version is None:
        if current is None:
            raise ValueError(f"{model_name} has no champion to roll back")
        tags = mlc.get_model_version(model_name, current).tags
        to_version = tags.get("inloop.previous_champion")
        if to_version is None:
            raise ValueError(f"{model_name} v{current} records no previous champion to roll back to")
    to_version = str(to_version)
    mlc.get_model_version(model_name, to_version)  # raises a clear MLflow error if it does not exist
    mlc.set_registered_model_alias(model_name, CHAMPION, to_version)
    mlc.set_model_version_tag(model_name, to_version, "inloop.rolled_back_from", current or "")
    return current, to_version


def load_champion(model_name: str, flavor: str = "pyfunc") -> tuple[Any, str]:
    """Load ``models:/<name>@champion`` with the given MLflow flavor; returns (model, version)."""
    import importlib

    _configure()
    version = champion_version(model_name)
    if version is None:
        raise LookupError(f"no {CHAMPION} for model {model_name!r}: train and promote one first")
    module = importlib.import_module(f"mlflow.{flavor}")
    return module.load_model(f"models:/{model_name}/{version}"), version
