"""The MLflow runs and registry as the console shows them (no Streamlit here).

Models belong to a domain through the ``inloop.domain`` tag that :func:`inloop.tracking.start_run`
puts on every run; the promotion gate's decision is read from the version tags
:func:`inloop.tracking.promote` writes (``inloop.promotion``, ``inloop.promotion_gates``,
``inloop.promotion_refused_by``). MLflow is imported only when its store exists, so an empty
installation answers "no models yet" instantly instead of creating a tracking database.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inloop.settings import get_settings

__all__ = ["ModelView", "VersionView", "domain_models", "domain_runs", "run_artifact_text", "tracking_store_exists"]


def tracking_store_exists() -> bool:
    """False when the local SQLite tracking store has not been created yet (nothing was ever logged)."""
    uri = get_settings().mlflow_uri
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).is_file()
    return True


@dataclass(frozen=True)
class VersionView:
    version: str
    created: dt.datetime
    run_id: str | None
    aliases: list[str]
    promotion: str | None
    gates: list[dict[str, Any]]
    refused_by: list[str]
    previous_champion: str | None
    #: who reviewed the promotion (``inloop models promote --reviewer``); "" when nobody did
    reviewed_by: str = ""

    @property
    def decision(self) -> str:
        if self.promotion == "promoted":
            return "promoted"
        if self.promotion == "refused":
            return "refused by " + (", ".join(self.refused_by) or "a gate")
        return "not put to the gate"

    @property
    def review(self) -> str:
        """Who reviewed the promotion, in words (the console's model card shows the same)."""
        return f"reviewed by {self.reviewed_by}" if self.reviewed_by else "unreviewed"


@dataclass(frozen=True)
class ModelView:
    name: str
    versions: list[VersionView] = field(default_factory=list)

    @property
    def champion(self) -> VersionView | None:
        return next((v for v in self.versions if "champion" in v.aliases), None)

    @property
    def challenger(self) -> VersionView | None:
        """The ``challenger`` alias, else the newest version after the champion."""
        aliased = next((v for v in self.versions if "challenger" in v.aliases), None)
        if aliased is not None:
            return aliased
        champion = self.champion
        newer = [v for v in self.versions if champion is None or int(v.version) > int(champion.version)]
        return max(newer, key=lambda v: int(v.version)) if newer else None


def _when(ms: int | None) -> dt.datetime:
    return dt.datetime.fromtimestamp((ms or 0) / 1000, tz=dt.UTC)


def domain_models(domain: str, max_versions: int = 20) -> list[ModelView]:
    """Registered models whose runs carry ``inloop.domain = domain``, newest versions first."""
    if not tracking_store_exists():
        return []
    from inloop.tracking import client

    mlc = client()
    out = []
    for model in mlc.search_registered_models(max_results=200):
        versions = mlc.search_model_versions(f"name = '{model.name}'", max_results=max_versions,
                                             order_by=["version_number DESC"])
        if not versions:
            continue
        owner = None
        for v in versions:
            if v.run_id:
                try:
                    owner = mlc.get_run(v.run_id).data.tags.get("inloop.domain")
                except Exception:
                    owner = None
                break
        if owner != domain:
            continue
        aliases: dict[str, list[str]] = {}
        for alias, version in (getattr(model, "aliases", None) or {}).items():
            aliases.setdefault(str(version), []).append(alias)
        views = []
        for v in versions:
            tags = v.tags or {}
            try:
                gates = json.loads(tags.get("inloop.promotion_gates", "[]"))
            except json.JSONDecodeError:
                gates = [{"name": "(unreadable gate record)", "passed": False, "detail": tags["inloop.promotion_gates"]}]
            refused = [g for g in tags.get("inloop.promotion_refused_by", "").split(",") if g]
            views.append(VersionView(str(v.version), _when(v.creation_timestamp), v.run_id,
                                     aliases.get(str(v.version), list(getattr(v, "aliases", []) or [])),
                                     tags.get("inloop.promotion"), gates, refused, tags.get("inloop.previous_champion"),
                                     (tags.get("inloop.reviewed_by") or "").strip()))
        out.append(ModelView(model.name, views))
    return out


def domain_runs(domain: str, limit: int = 50) -> list[dict[str, Any]]:
    """The domain's newest MLflow runs (every experiment named ``<domain>`` or ``<domain>/...``)."""
    if not tracking_store_exists():
        return []
    from inloop.tracking import client

    mlc = client()
    experiments = [e.experiment_id for e in mlc.search_experiments()
                   if e.name == domain or e.name.startswith(domain + "/")]
    if not experiments:
        return []
    runs = mlc.search_runs(experiments, order_by=["attributes.start_time DESC"], max_results=limit)
    rows = []
    for run in runs:
        row: dict[str, Any] = {"run": run.info.run_name, "started": _when(run.info.start_time),
                               "status": run.info.status, "run id": run.info.run_id}
        row.update({k: round(v, 4) for k, v in sorted(run.data.metrics.items())})
        rows.append(row)
    return rows


def run_artifact_text(run_id: str, artifact: str) -> str | None:
    """A small text artifact of a run (e.g. ``slices.csv``), or None when the run has none."""
    if not tracking_store_exists():
        return None
    from inloop.tracking import client

    mlc = client()
    try:
        names = {a.path for a in mlc.list_artifacts(run_id)}
        if artifact not in names:
            return None
        import mlflow

        return mlflow.artifacts.load_text(f"runs:/{run_id}/{artifact}")
    except Exception:
        return None
