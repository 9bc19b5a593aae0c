"""``inloop doctor``: what is installed, where things are, what is reachable, and how to fix what is not."""

from __future__ import annotations

import importlib.metadata
import platform as stdlib_platform
import shutil
from collections.abc import Callable

from inloop.settings import get_settings

__all__ = ["run_doctor"]

_PACKAGES = ["inloop", "dagster", "dagster-webserver", "dagster-postgres", "mlflow", "great-expectations",
             "evidently", "pandas", "scikit-learn", "lightgbm", "implicit", "rapidocr-onnxruntime", "fastapi",
             "uvicorn", "streamlit", "sqlalchemy", "alembic"]


def run_doctor(echo: Callable[[str], None]) -> int:
    """Print a report; returns 0 when everything needed is there, 1 otherwise."""
    problems: list[str] = []
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

    from inloop import db
    from inloop.cli import _redact

    url = settings.platform_db_url
    try:
        current, head = db.current_revision(url), db.head_revision()
        state = "up to date" if current == head else f"at {current or 'blank'}, latest {head}"
        echo(f"  platform database      {_redact(url)} ({state})")
        if current != head:
            problems.append("the platform database schema is not current: run `inloop db upgrade`")
    except Exception as exc:
        echo(f"  platform database      {_redact(url)} UNREACHABLE: {exc}")
        problems.append(f"cannot reach the platform database ({type(exc).__name__}); check INLOOP_DATABASE_URL")
    try:
        from inloop import tracking

        tracking.client().search_experiments(max_results=1)
        echo(f"  MLflow tracking        {_redact(settings.mlflow_uri)} (reachable)")
    except Exception as exc:
        echo(f"  MLflow tracking        {_redact(settings.mlflow_uri)} UNREACHABLE: {exc}")
        problems.append("cannot reach MLflow; check INLOOP_MLFLOW_TRACKING_URI")
    dagster_yaml = settings.dagster_home_dir / "dagster.yaml"
    echo(f"  dagster.yaml           {'present' if dagster_yaml.exists() else 'not yet written (inloop up writes it)'}")

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
            problems.append(f"{dom.name}: fix its Dagster definitions ({dom.definitions_module})")
    echo("Optional tools:")
    for tool, why in (("chromium", "real-browser console check"), ("pg_ctl", "PostgreSQL tests")):
        echo(f"  {tool:22} {shutil.which(tool) or 'not found'} ({why})")
    if problems:
        echo("\nTo fix:")
        for p in problems:
            echo(f"  - {p}")
        return 1
    echo("\nEverything needed is in place.")
    return 0
