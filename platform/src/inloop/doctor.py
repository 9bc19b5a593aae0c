"""``inloop doctor``: what is installed, where things are, what is reachable, and how to fix what is not."""

from __future__ import annotations

import importlib.metadata
import platform as stdlib_platform
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inloop.settings import Settings, get_settings, redact_url

__all__ = ["Instigator", "declared_instigators", "run_doctor", "stopped_instigators"]

_PACKAGES = ["inloop", "dagster", "dagster-webserver", "dagster-postgres", "mlflow", "great-expectations",
             "evidently", "pandas", "scikit-learn", "lightgbm", "implicit", "rapidocr-onnxruntime", "fastapi",
             "uvicorn", "streamlit", "sqlalchemy", "alembic"]


def run_doctor(echo: Callable[[str], None]) -> int:
    """Print a report; returns 1 when something is broken or missing, else 0.

    A fresh clone (no database or tracking store yet) is reported as not initialised, which
    ``make up`` does, and is not a failure: a newcomer's first check should not fail.
    """
    problems: list[str] = []
    #: What a fresh clone has not created yet: reported, but not a failure (``make up`` creates it).
    not_yet: list[str] = []
    settings = get_settings()
    echo(f"Python {stdlib_platform.python_version()} on {stdlib_platform.system()} {stdlib_platform.machine()}")
    echo("Packages:")
    for name in _PACKAGES:
        try:
            echo(f"  {name:22} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            echo(f"  {name:22} MISSING")
            problems.append(f"{name} is not installed: run `make setup` (uv sync --frozen) from the repository")
    echo("Paths:")
    echo(f"  data directory         {settings.data_dir}")
    echo(f"  DAGSTER_HOME           {settings.dagster_home_dir}")
    echo(f"  MLflow artifacts       {settings.mlflow_artifacts or '(chosen by the tracking server)'}")

    _check_platform_database(settings, echo, problems, not_yet)
    _check_tracking(settings, echo, problems, not_yet)
    dagster_yaml = settings.dagster_home_dir / "dagster.yaml"
    echo(f"  dagster.yaml           {'present' if dagster_yaml.exists() else 'not written yet (make up writes it)'}")

    from inloop.cards import CardError
    from inloop.domains import discover_domains

    echo("Domains:")
    domains = discover_domains()
    if not domains:
        problems.append("no domains installed: run `uv sync --frozen`")
    for dom in domains.values():
        try:
            card = dom.card()
            checks = dom.check_names()
            echo(f"  {dom.name:22} card OK ({len(card.concerns)} concerns), {len(checks)} asset checks, "
                 f"{len(dom.demos())} demos")
        except CardError as exc:
            echo(f"  {dom.name:22} CARD INVALID")
            problems.append(str(exc))
        except Exception as exc:
            echo(f"  {dom.name:22} DEFINITIONS DO NOT LOAD: {type(exc).__name__}: {exc}")
            problems.append(f"{dom.name}: fix its Dagster definitions (`cd {dom.root} && dg check defs`)")
    _check_instigators(settings, domains.values(), echo, problems, not_yet)
    echo("Optional tools:")
    for tool, why in (("chromium", "real-browser console check"), ("pg_ctl", "PostgreSQL tests")):
        echo(f"  {tool:22} {shutil.which(tool) or 'not found'} ({why})")
    if not_yet:
        echo(f"\nNot initialised yet ({', '.join(not_yet)}): `make up` does it.")
    if problems:
        echo("\nTo fix:")
        for p in problems:
            echo(f"  - {p}")
        return 1
    echo("\nEverything needed is in place.")
    return 0


def _local_file_missing(url: str) -> bool:
    """True for a SQLite URL whose file does not exist yet (opening it would create it)."""
    from sqlalchemy.engine import make_url

    if not url.startswith("sqlite"):
        return False
    database = make_url(url).database
    return database is not None and database not in ("", ":memory:") and not Path(database).exists()


def _check_platform_database(settings: Settings, echo: Callable[[str], None], problems: list[str],
                             not_yet: list[str]) -> None:
    from inloop import db

    url = settings.platform_db_url
    where = f"  platform database      {redact_url(url)}"
    # A fresh clone has no database file: say so without creating one (doctor only looks).
    if _local_file_missing(url):
        echo(f"{where} (not initialised yet: `make up` does it)")
        not_yet.append("platform database")
        return
    try:
        current, head = db.current_revision(url), db.head_revision()
    except Exception as exc:
        echo(f"{where} UNREACHABLE: {exc}")
        problems.append(f"cannot reach the platform database ({type(exc).__name__}); check INLOOP_DATABASE_URL")
        return
    if current is None:
        echo(f"{where} (blank: not initialised yet, `make up` does it)")
        not_yet.append("platform database")
    elif current == head:
        echo(f"{where} (up to date)")
    elif not db.is_known_revision(current):
        echo(f"{where} (at {current}, which this code does not know; latest here is {head})")
        problems.append(f"the platform database is at revision {current}, written by newer code: "
                        "run this checkout's matching version, or point INLOOP_DATABASE_URL elsewhere")
    elif settings.auto_migrate:
        # Behind, but the first process that uses it upgrades it (ensure_schema): not broken.
        echo(f"{where} (at {current}, latest {head}: upgraded on next start, or now by `inloop db upgrade`)")
    else:
        echo(f"{where} (at {current}, latest {head})")
        problems.append("the platform database schema is behind and INLOOP_AUTO_MIGRATE is off: "
                        "run `inloop db upgrade`")


def _check_tracking(settings: Settings, echo: Callable[[str], None], problems: list[str],
                    not_yet: list[str]) -> None:

    where = f"  MLflow tracking        {redact_url(settings.mlflow_uri)}"
    # Opening a missing local store would create MLflow's tables: a fresh clone is only reported.
    if _local_file_missing(settings.mlflow_uri):
        echo(f"{where} (not initialised yet: `make up` does it)")
        not_yet.append("MLflow tracking store")
        return
    try:
        from inloop import tracking

        tracking.client().search_experiments(max_results=1)
        echo(f"{where} (reachable)")
    except Exception as exc:
        echo(f"{where} UNREACHABLE: {exc}")
        problems.append("cannot reach MLflow; check INLOOP_MLFLOW_TRACKING_URI")


@dataclass(frozen=True)
class Instigator:
    """A sensor or schedule of a domain's code location (every one feeds a concern or its alerts)."""

    location: str
    kind: str  # "sensor" | "schedule"
    name: str
    running_by_default: bool


def declared_instigators(location: str, defs: Any) -> list[Instigator]:
    """Every sensor and schedule a code location's Definitions declare, with their default status."""
    import dagster as dg

    found = [Instigator(location, "sensor", s.name, s.default_status == dg.DefaultSensorStatus.RUNNING)
             for s in defs.sensors or []]
    found += [Instigator(location, "schedule", s.name, s.default_status == dg.DefaultScheduleStatus.RUNNING)
              for s in defs.schedules or []]
    return found


def stopped_instigators(instance: Any, declared: Iterable[Instigator]) -> list[Instigator]:
    """The declared sensors and schedules that do not run in ``instance``.

    A stored state (someone pressed stop or start in the UI or CLI) wins over the code's default;
    without one, the default status declared in code is what the daemon follows.
    """
    from dagster._core.scheduler.instigation import InstigatorStatus

    stored: dict[tuple[str, str], Any] = {}
    for state in instance.all_instigator_state():
        location = state.origin.repository_origin.code_location_origin.location_name
        stored[(location, state.instigator_name)] = state.status
    stopped = []
    for item in declared:
        status = stored.get((item.location, item.name))
        if status in (InstigatorStatus.RUNNING, InstigatorStatus.AUTOMATICALLY_RUNNING):
            continue
        if status == InstigatorStatus.STOPPED or not item.running_by_default:
            stopped.append(item)
    return stopped


def _check_instigators(settings: Settings, domains: Iterable[Any], echo: Callable[[str], None],
                       problems: list[str], not_yet: list[str]) -> None:
    """Every concern sensor and schedule must run: a stopped one means a concern silently goes unchecked."""
    declared: list[Instigator] = []
    for dom in domains:
        try:
            declared += declared_instigators(dom.name, dom.definitions())
        except Exception:
            continue  # already reported above as definitions that do not load
    echo("Sensors and schedules:")
    home = settings.dagster_home_dir
    if not home.is_dir():
        # Doctor only looks: opening an instance in a missing DAGSTER_HOME would create it.
        stopped = [d for d in declared if not d.running_by_default]
        echo(f"  {len(declared)} declared, {len(declared) - len(stopped)} running by default "
             "(no Dagster instance yet: `make up` creates it)")
    else:
        from dagster import DagsterInstance

        try:
            with DagsterInstance.from_config(str(home)) as instance:
                stopped = stopped_instigators(instance, declared)
        except Exception as exc:
            echo(f"  Dagster instance in {home} UNREADABLE: {type(exc).__name__}: {exc}")
            problems.append(f"cannot read the Dagster instance in {home}; check DAGSTER_HOME and dagster.yaml")
            return
        echo(f"  {len(declared)} declared, {len(declared) - len(stopped)} running in the instance at {home}")
    for item in stopped:
        echo(f"  STOPPED {item.kind} {item.location}/{item.name}")
        problems.append(f"the {item.kind} {item.name} of {item.location} is stopped, so the concerns it feeds go "
                        f"unchecked: start it in the Dagster UI (Automation) or `dagster {item.kind} start "
                        f"{item.name} -w workspace.yaml`")
