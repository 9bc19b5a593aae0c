"""Which names a new domain may have, and why a name is refused.

A domain's name is at once its Python package, its Dagster code location, its API prefix
(``/<name>``), its folder under ``domains/`` and its name in the console, so it must be a valid,
unambiguous import name that shadows nothing and collides with nothing already there.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import keyword
import re
import sys
from pathlib import Path

__all__ = ["RESERVED_NAMES", "SNAKE_CASE", "DomainNameError", "validate_domain_name"]

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
MAX_LENGTH = 40

#: Names the platform, the repository layout or the API already use.
RESERVED_NAMES = frozenset({
    # the platform's own packages and the repository's folders
    "inloop", "inloop_console", "platform", "domains", "dashboards", "tests", "test", "scripts", "bench", "docs",
    "infra", "src", "lib", "defs", "workspace", "console", "template", "scaffold",
    # the API's platform routes (a domain's router is mounted at /<name>)
    "health", "ready", "predictions", "bug_reports", "labels", "alerts", "models", "redoc", "openapi",
    # the CLI's and the console's words for things (a domain's own commands mount as `inloop <name>`)
    "demo", "demos", "bugs", "postmortem", "postmortems", "replay", "incidents", "readiness",
    "up", "serve", "doctor", "db", "forget",
    # what the domain packages contain (a domain named so would shadow its own modules in imports)
    "domain", "definitions", "api", "measures",
})


class DomainNameError(ValueError):
    """A refused domain name; the message says why and what to do instead."""


def _installed_domains() -> set[str]:
    return {ep.name for ep in importlib.metadata.entry_points(group="inloop.domains")}


def _distribution_owning(name: str) -> str | None:
    """The installed distribution that provides the top-level package or is named ``name``."""
    owners = importlib.metadata.packages_distributions().get(name)
    if owners:
        return owners[0]
    for candidate in (name, name.replace("_", "-")):
        try:
            return importlib.metadata.distribution(candidate).metadata["Name"]
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def validate_domain_name(name: str, repo_root: Path | None = None) -> None:
    """Raise :class:`DomainNameError` unless ``name`` can be a new domain in ``repo_root``.

    Refused: not snake_case (or too long), Python keywords, standard-library module names,
    reserved names, an existing domain (installed, or its folder exists), and names that an
    installed distribution or importable package already uses (``pandas``, ``dagster``).
    """
    if not SNAKE_CASE.match(name or ""):
        raise DomainNameError(
            f"{name!r} is not a valid domain name: use snake_case, a lower-case letter first, then lower-case "
            "letters, digits and single underscores (e.g. churn or fraud_alerts); it becomes a Python package")
    if len(name) > MAX_LENGTH:
        raise DomainNameError(f"{name!r} is too long ({len(name)} characters, at most {MAX_LENGTH})")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise DomainNameError(f"{name!r} is a Python keyword, so it cannot be imported as a package (try {name}_domain or a word from your business)")
    if name in sys.stdlib_module_names:
        raise DomainNameError(
            f"{name!r} is a module of Python's standard library; a domain named so would shadow it "
            f"(try {name}_domain or a name from your business)")
    if name in RESERVED_NAMES:
        raise DomainNameError(f"{name!r} is reserved by inloop (a platform package, folder, API route or CLI word)")
    if name in _installed_domains():
        raise DomainNameError(f"{name!r} is already a domain (installed; see `inloop demo list`, `inloop doctor`)")
    if repo_root is not None:
        for folder in (repo_root / "domains" / name, repo_root / "tests" / "domains" / name):
            if folder.exists():
                raise DomainNameError(f"{name!r} already exists: {folder} is there (remove it, or pick another name)")
    owner = _distribution_owning(name)
    if owner is not None:
        raise DomainNameError(
            f"{name!r} clashes with the installed package {owner}: a domain named so would shadow it on import")
    if importlib.util.find_spec(name) is not None:
        raise DomainNameError(f"{name!r} clashes with an importable module of that name; pick another name")
