"""Domain registration: how the platform finds domains without importing any by name.

Each domain package declares an entry point in the group ``inloop.domains`` that points at a
:class:`Domain` object. The CLI, API, console and Dagster workspace discover domains through
:func:`discover_domains`, so adding or deleting a domain touches no platform code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inloop.cards import ProjectCard, load_card

if TYPE_CHECKING:
    import dagster as dg

    from inloop.demos import Demo

__all__ = ["Domain", "DomainLoadError", "UnknownDomainError", "discover_domains", "get_domain"]

ENTRY_POINT_GROUP = "inloop.domains"


class DomainLoadError(ImportError):
    """A registered domain whose package does not import; names the entry point and the cause."""


class UnknownDomainError(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown domain {name!r}; known domains: {', '.join(known) or '(none installed)'}")
        self.name = name


@dataclass(frozen=True, eq=False)
class Domain:
    """What a domain tells the platform about itself. Everything heavy is loaded lazily.

    Attributes:
        name: the domain's id (also its Python package and code location name).
        root: the domain's folder (holds ``project.yaml`` and ``postmortems/``).
        definitions_module: module with a ``defs`` attribute (its Dagster code location).
        demos_module: module with a ``DEMOS`` mapping of demo id to :class:`~inloop.demos.Demo`.
        api_module: module with a ``router`` (FastAPI) attribute, if the domain serves HTTP.
        extras: named hooks other platform parts look up (e.g. ``replay_runner``), as
            ``"module:attribute"`` strings.
    """

    name: str
    root: Path
    definitions_module: str
    demos_module: str | None = None
    api_module: str | None = None
    extras: Mapping[str, str] = field(default_factory=dict)

    @property
    def card_path(self) -> Path:
        return self.root / "project.yaml"

    @property
    def postmortems_dir(self) -> Path:
        return self.root / "postmortems"

    def card(self) -> ProjectCard:
        """The domain's project card (validated; raises CardError with file and field)."""
        return load_card(self.card_path)

    def definitions(self) -> dg.Definitions:
        return importlib.import_module(self.definitions_module).defs

    @cached_property
    def _demos(self) -> Mapping[str, Demo]:
        if self.demos_module is None:
            return {}
        return dict(importlib.import_module(self.demos_module).DEMOS)

    def demos(self) -> Mapping[str, Demo]:
        return self._demos

    def hook(self, name: str) -> Callable[..., Any] | None:
        """A named extra hook (``"module:attribute"``), or None when the domain has none."""
        target = self.extras.get(name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def check_names(self) -> set[str]:
        """Names of every asset check the domain's Dagster definitions implement."""
        defs = self.definitions()
        names: set[str] = set()
        for checks_def in defs.asset_checks or []:
            names.update(key.name for key in checks_def.check_keys)
        for asset_def in defs.assets or []:
            names.update(key.name for key in getattr(asset_def, "check_keys", ()))
        return names


def discover_domains() -> dict[str, Domain]:
    """Every installed domain, by name, from the ``inloop.domains`` entry points."""
    found: dict[str, Domain] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            domain = ep.load()
        except Exception as exc:
            raise DomainLoadError(
                f"domain {ep.name!r} (entry point {ep.value}) failed to load: {type(exc).__name__}: {exc}. "
                "Reinstall with `uv sync --frozen`, or fix the domain package."
            ) from exc
        if not isinstance(domain, Domain):
            raise TypeError(f"entry point {ep.name} = {ep.value} is not an inloop.domains.Domain")
        if domain.name != ep.name:
            raise ValueError(f"entry point {ep.name!r} points at a Domain named {domain.name!r}")
        found[domain.name] = domain
    return found


def get_domain(name: str) -> Domain:
    domains = discover_domains()
    if name not in domains:
        raise UnknownDomainError(name, sorted(domains))
    return domains[name]
