"""Dependency watch: the installed packages and the upstream data schemas, compared with the last known.

A model depends on more than its code: a library upgrade can change its numbers, and an upstream
source that renames a column or changes a type can break it silently. :func:`check_dependencies`
takes a snapshot — every installed distribution (``importlib.metadata``) and the column names and
dtypes of each source the domain reads (its ``data_sources`` hook) — compares it with the snapshot
stored in ``<data dir>/dependencies/<domain>.json``, raises an alert listing each change in plain
words, and stores the new snapshot (so one change is announced once). The first run only records.
:func:`dependency_sensor` runs it on a schedule in every domain's code location.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inloop.readiness import rubric
from inloop.settings import get_settings

__all__ = ["DependencyReport", "check_dependencies", "diff_snapshots", "frame_schema", "installed_packages",
           "snapshot", "snapshot_path"]


def installed_packages() -> dict[str, str]:
    """Every installed distribution (normalised name -> version)."""
    out: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").strip()
        if name:
            out[name.lower().replace("_", "-")] = dist.version
    return dict(sorted(out.items()))


def frame_schema(frame: Any) -> dict[str, str]:
    """Column name -> dtype of a pandas frame (or a mapping that already is one)."""
    if isinstance(frame, Mapping):
        return {str(k): str(v) for k, v in frame.items()}
    return {str(c): str(t) for c, t in frame.dtypes.items()}


def snapshot(domain: str) -> dict[str, Any]:
    """Packages and source schemas as they are now."""
    from inloop.domains import get_domain

    read_sources = get_domain(domain).data_sources
    sources = {name: frame_schema(s) for name, s in (read_sources() if read_sources else {}).items()}
    return {"taken_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "packages": installed_packages(),
            "sources": sources}


def snapshot_path(domain: str, data_dir: Path | None = None) -> Path:
    """Where the last snapshot of ``domain`` is kept (under ``data_dir``, default: the settings')."""
    return (data_dir or get_settings().data_dir) / "dependencies" / f"{domain}.json"


def diff_snapshots(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Each change, one plain sentence per line."""
    changes: list[str] = []
    before, after = old.get("packages", {}), new.get("packages", {})
    for name in sorted(set(before) | set(after)):
        if name not in after:
            changes.append(f"package {name} {before[name]} was removed")
        elif name not in before:
            changes.append(f"package {name} {after[name]} was installed")
        elif before[name] != after[name]:
            changes.append(f"package {name} changed from {before[name]} to {after[name]}")
    before, after = old.get("sources", {}), new.get("sources", {})
    for source in sorted(set(before) | set(after)):
        if source not in after:
            changes.append(f"source {source} is no longer read")
            continue
        if source not in before:
            changes.append(f"source {source} is new ({len(after[source])} columns)")
            continue
        was, now = before[source], after[source]
        for col in was:
            if col not in now:
                changes.append(f"source {source}: column {col} ({was[col]}) is gone")
            elif was[col] != now[col]:
                changes.append(f"source {source}: column {col} changed type from {was[col]} to {now[col]}")
        changes += [f"source {source}: new column {col} ({now[col]})" for col in now if col not in was]
    return changes


@dataclass(frozen=True)
class DependencyReport:
    domain: str
    first_run: bool
    changes: list[str] = field(default_factory=list)
    alert_id: int | None = None

    @property
    def summary(self) -> str:
        if self.first_run:
            return f"{self.domain}: first snapshot of packages and source schemas recorded"
        if not self.changes:
            return f"{self.domain}: no dependency changes"
        return f"{self.domain}: {len(self.changes)} dependency change(s): " + "; ".join(self.changes[:5]) + \
            (" ..." if len(self.changes) > 5 else "")


# domain="*": the dependency sensor that runs this is on by default in every domain's code location
# (inloop.orchestration.domain_definitions), so it counts for every domain once a test reached it.
@rubric("monitor-1", how="automated", domain="*", what="installed packages and upstream source schemas compared with the last known; alert on change")
def check_dependencies(domain: str, current: Mapping[str, Any] | None = None, *, data_dir: Path | None = None,
                       db_url: str | None = None) -> DependencyReport:
    """Compare ``current`` (default: :func:`snapshot`) with the stored one, alert on change, store it.

    The snapshot lives under ``data_dir`` and alerts go to ``db_url`` (defaults: the settings')."""
    from inloop.alerts import raise_alert

    current = dict(current or snapshot(domain))
    path = snapshot_path(domain, data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(path.read_text()) if path.is_file() else None
    report = DependencyReport(domain, first_run=previous is None)
    if previous is not None:
        changes = diff_snapshots(previous, current)
        if changes:
            digest = hashlib.sha256("\n".join(changes).encode()).hexdigest()[:16]
            record = raise_alert(
                domain=domain, source="dependencies", cause_key=f"dependencies:{domain}:{digest}",
                title=f"{len(changes)} dependency change(s) in {domain}: {changes[0]}"[:300],
                message="Since " + str(previous.get("taken_at", "the last check")) + ":\n"
                        + "\n".join(f"- {c}" for c in changes)
                        + "\nRe-run the domain's tests and evaluation before trusting new results.",
                severity="WARN", routes=("console", "log"),
                evidence={"changes": changes, "previous_taken_at": previous.get("taken_at"),
                          "snapshot": str(path)}, db_url=db_url)
            report = DependencyReport(domain, False, changes, record.id)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(current, indent=1, sort_keys=True))
    tmp.replace(path)
    return report
