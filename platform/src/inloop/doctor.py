"""``inloop doctor``: what is installed, where things are, what is reachable, and how to fix what is not."""

from __future__ import annotations

import importlib.metadata
import platform as stdlib_platform
import shutil
from collections.abc import Callable
from pathlib import Path

from inloop.settings import Settings, get_settings, redact_url

__all__ = ["run_doctor"]

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
