"""Domain registration: the one typed contract between the platform and its domains.

Each domain package declares an entry point in the group ``inloop.domains`` that points at a
:class:`DomainPlugin`: its name, its folder and every capability it offers, each a typed field.
The CLI, API, console, Dagster launcher and readiness read only this object, so adding or
deleting a domain touches no platform code, and an IDE or a type checker can follow every
capability to the code behind it (no ``"module:attribute"`` strings).

Capabilities are zero-argument callables that return the capability (``definitions`` returns the
Dagster definitions, ``replay`` the replay runner, ...). Discovery only imports the domain's small
``domain`` module; the heavy parts (Dagster assets, FastAPI routers, models) load when first asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from inloop.cards import ProjectCard, load_card

if TYPE_CHECKING:
    import dagster as dg
    import typer
    from fastapi import APIRouter

    from inloop.bench.report import Figure
    from inloop.data_quality import QualitySource
    from inloop.demos import Demo
    from inloop.incidents.replay import ReplayRunner
    from inloop.privacy.erasure import SubjectEraser
    from inloop.serving import ServedModel, ServedModels

__all__ = [
    "BenchMeasure",
    "DomainApi",
    "DomainLoadError",
    "DomainPlugin",
    "ReviewService",
    "UnknownDomainError",
    "discover_domains",
    "get_domain",
]

ENTRY_POINT_GROUP = "inloop.domains"

#: A domain's benchmark: ``measure(quick, echo)`` returns its figures (see :mod:`inloop.bench`).
BenchMeasure = Callable[[bool, Callable[[str], None]], "list[Figure]"]


class DomainLoadError(ImportError):
    """A registered domain whose package does not import; names the entry point and the cause."""


class UnknownDomainError(LookupError):
    """A domain name no installed package registers; the message lists the installed ones."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown domain {name!r}; known domains: {', '.join(known) or '(none installed)'}")
        self.name = name


@dataclass(frozen=True)
class DomainApi:
    """A domain's HTTP surface, mounted by :func:`inloop.api.app.create_app`.

    The models its routes serve live in the domain's serving slot (``DomainPlugin.served_models``),
    which the API loads at start-up, reloads on ``POST /models/reload`` and reads for ``/ready``.

    Attributes:
        router: the domain's FastAPI routes.
        prefix: where they are mounted (default ``/<domain name>``).
    """

    router: APIRouter
    prefix: str | None = None


class ReviewService(Protocol):
    """The clerk's review queue as the console reads it (``inloop_console.pages.review_queue``)."""

    def queue(self) -> Sequence[Any]:
        """Items waiting for a person, oldest first (``invoice_id``, ``original_name``, ``reason`` ...)."""
        ...

    def show(self, invoice_id: int) -> Mapping[str, Any]:
        """Fields read (with confidence), the reason and the history of one item."""
        ...

    def file_path(self, invoice_id: int) -> Path:
        """The submitted file, to show beside the fields."""
        ...

    def approve(self, invoice_id: int, clerk: str, corrections: dict[str, Any]) -> Any:
        """Correct fields and book; raises ``ValueError`` (or a subclass) when it cannot."""
        ...

    def reject(self, invoice_id: int, clerk: str, notice: str) -> Any:
        """Reject with a notice to the sender; raises ``ValueError`` (or a subclass) when it cannot."""
        ...


def _no_demos() -> Mapping[str, Demo]:
    return {}


@dataclass(frozen=True, eq=False)
class DomainPlugin:
    """What a domain tells the platform about itself: one field per capability, all but three optional.

    Attributes:
        name: the domain's id (also its Python package, code location and ``inloop <name>`` sub-app).
        root: the domain's folder (holds ``project.yaml`` and ``postmortems/``).
        definitions: its Dagster code location (the ``defs`` that ``workspace.yaml`` and ``dg.toml`` load).
        demos: its worst-case demos, by id (:class:`~inloop.demos.Demo`).
        api: its HTTP routes (:class:`DomainApi`), if it serves HTTP.
        served_model: what it serves, for canary, rollback and model cards (:class:`~inloop.serving.ServedModel`).
        served_models: a new serving slot (:class:`~inloop.serving.ServedModels`) on the domain's model loader;
            the API holds one per app: start-up load, ``POST /models/reload``, ``/ready``, canary routing.
        replay_runner: re-runs a logged prediction on another model version (``inloop replay --against``).
        subject_eraser: where it keeps people, for ``inloop forget`` (:class:`~inloop.privacy.erasure.SubjectEraser`).
        data_sources: column name -> dtype of each upstream source, for the dependency watch.
        data_quality_sources: its upstream sources with their expectations (``inloop data-quality``).
        review_service: the clerk's review queue the console shows (:class:`ReviewService`).
        bench: its benchmark, run by ``inloop bench``.
        cli: its command line, mounted as ``inloop <name> ...``.
        cli_aliases: further words its command line answers to (``inloop invoices ...`` for invoice_ocr).
    """

    name: str
    root: Path
    definitions: Callable[[], dg.Definitions]
    demos: Callable[[], Mapping[str, Demo]] = _no_demos
    api: Callable[[], DomainApi] | None = None
    served_model: Callable[[], ServedModel] | None = None
    served_models: Callable[[], ServedModels[Any]] | None = None
    replay_runner: Callable[[], ReplayRunner] | None = None
    subject_eraser: Callable[[], SubjectEraser] | None = None
    data_sources: Callable[[], Mapping[str, Any]] | None = None
    data_quality_sources: Callable[[], Sequence[QualitySource]] | None = None
    review_service: Callable[[], ReviewService] | None = None
    bench: Callable[[], BenchMeasure] | None = None
    cli: Callable[[], typer.Typer] | None = None
    cli_aliases: tuple[str, ...] = ()

    @property
    def card_path(self) -> Path:
        return self.root / "project.yaml"

    @property
    def postmortems_dir(self) -> Path:
        return self.root / "postmortems"

    def card(self) -> ProjectCard:
        """The domain's project card (validated; raises CardError with file and field)."""
        return load_card(self.card_path)

    def check_names(self) -> set[str]:
        """Names of every asset check the domain's Dagster definitions implement."""
        defs = self.definitions()
        names: set[str] = set()
        for checks_def in defs.asset_checks or []:
            names.update(key.name for key in checks_def.check_keys)
        for asset_def in defs.assets or []:
            names.update(key.name for key in getattr(asset_def, "check_keys", ()))
        return names


def discover_domains() -> dict[str, DomainPlugin]:
    """Every installed domain, by name, from the ``inloop.domains`` entry points."""
    found: dict[str, DomainPlugin] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            domain = ep.load()
        except Exception as exc:
            raise DomainLoadError(
                f"domain {ep.name!r} (entry point {ep.value}) failed to load: {type(exc).__name__}: {exc}. "
                "Reinstall with `uv sync --frozen`, or fix the domain package."
            ) from exc
        if not isinstance(domain, DomainPlugin):
            raise TypeError(f"entry point {ep.name} = {ep.value} is not an inloop.domains.DomainPlugin")
        if domain.name != ep.name:
            raise ValueError(f"entry point {ep.name!r} points at a DomainPlugin named {domain.name!r}")
        found[domain.name] = domain
    return found


def get_domain(name: str) -> DomainPlugin:
    """The installed domain called ``name``; :class:`UnknownDomainError` lists the known ones."""
    domains = discover_domains()
    if name not in domains:
        raise UnknownDomainError(name, sorted(domains))
    return domains[name]
