"""What a domain serves: the ``served_model`` spec and the ``served_models`` slot of its plugin.

The canary and rollback (:mod:`inloop.canary`), model cards (:mod:`inloop.model_card`) and the
console find a domain's registered model, its prediction-log component and the keys of its
logged outputs in :class:`ServedModel`, without importing the domain by name.

:class:`ServedModels` is the serving slot the API holds for each domain that serves a model over
HTTP: it loads the champion and challenger through the domain's loader, reloads atomically, says
whether it is ready, routes the canary share to the challenger, computes the champion's shadow
answer beside it and writes the canary block of the prediction-log entry. A domain's API module
keeps only its request/response models and the call into its decision function.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from inloop.settings import get_settings

if TYPE_CHECKING:
    from inloop.predictions import PredictionEntry

__all__ = ["Live", "ModelSet", "ModelsStatus", "NoChampionError", "Route", "ServedModel", "ServedModels",
           "served_model"]

#: What a domain serves: its decision service, page service, ... (the slot never looks inside).
S = TypeVar("S")


@dataclass(frozen=True)
class ServedModel:
    """What a domain serves, for the platform's canary, rollback and model-card tooling.

    ``score_key`` and ``decision_key`` name fields of the logged prediction output; ``label_name``
    is the label (``labels`` table) that says how the subject really turned out, and
    ``higher_score_means_label`` whether a high score predicts label 1 (for the live AUC).
    """

    domain: str
    model_name: str
    component: str | None = None
    score_key: str | None = None
    decision_key: str | None = None
    label_name: str | None = None
    higher_score_means_label: bool = True
    flavor: str = "pyfunc"
    #: the run artifact holding the per-slice evaluation (``.csv``, or ``.json`` with a ``slices`` list)
    slices_artifact: str | None = None
    #: how the log writes a registry version (e.g. ``"recommender-als/"`` + ``"3"``)
    version_prefix: str = ""
    #: for ranked lists: the output field holding the items (dicts with ``item_id``, or ids); the
    #: canary's agreement is then the share of the champion's items the challenger also showed
    items_key: str | None = None
    #: the domain's own least agreement with the champion (default: ``settings.canary_min_agreement``)
    min_agreement: float | None = None


@dataclass(frozen=True)
class ModelSet(Generic[S]):
    """What a domain's loader returns: the champion it serves, and the challenger beside it, if any.

    ``champion_version`` and ``challenger_version`` are written into the canary block of the log as
    the registry writes them (``"3"``, not ``"v3"``); ``detail`` is the status line ``/ready`` shows.
    """

    champion: S
    champion_version: str
    detail: str
    challenger: S | None = None
    challenger_version: str | None = None


class NoChampionError(LookupError):
    """Nothing serves yet (no champion loaded); the message says what to run. The API answers 503."""


#: A shadow summary: what the champion would have answered, computed beside the challenger (logged, not served).
Shadow = Callable[[S], dict[str, Any]]


@dataclass(frozen=True)
class Route(Generic[S]):
    """Which model answers one subject, and the canary block its prediction-log entry carries.

    ``model`` answers; ``role`` is ``"challenger"`` for the canary share and ``"champion"`` otherwise.
    """

    model: S
    role: Literal["champion", "challenger"]
    models: ModelSet[S]

    def canary_block(self, shadow: Shadow[S] | None = None) -> dict[str, Any] | None:
        """The ``canary`` block of the log entry; None when no challenger serves (nothing to compare).

        On a canary request ``shadow(champion)`` adds the champion's answer beside the challenger's,
        so the two can be compared later; a champion that fails there is recorded, not served.
        """
        if self.models.challenger is None:
            return None
        block: dict[str, Any] = {"role": self.role, "champion_version": self.models.champion_version,
                                 "challenger_version": self.models.challenger_version}
        if self.role == "challenger" and shadow is not None:
            try:
                block.update(shadow(self.models.champion))
            except ValueError as exc:  # the challenger's answer stands; the log says why there is no comparison
                block["champion_error"] = str(exc)[:300]
        return block

    def stamp(self, entry: PredictionEntry, shadow: Shadow[S] | None = None) -> None:
        """Put the canary block (with the champion's shadow answer on canary requests) into ``entry``'s output."""
        block = self.canary_block(shadow)
        if block is not None:
            entry.output["canary"] = block


@dataclass(frozen=True)
class ModelsStatus:
    """A slot's readiness: ``ready`` when a champion serves; ``detail`` says which, or why not."""

    ready: bool
    detail: str


@dataclass(frozen=True)
class Live(Generic[S]):
    """One request's view of the slot: the model set at the moment it was taken."""

    models: ModelSet[S]
    routes_to_challenger: Callable[[str], bool]

    @property
    def champion(self) -> S:
        return self.models.champion

    def route(self, subject_key: str) -> Route[S]:
        """Who answers ``subject_key``: the challenger for the sticky canary share, else the champion."""
        challenger = self.models.challenger
        if challenger is not None and self.routes_to_challenger(subject_key):
            return Route(challenger, "challenger", self.models)
        return Route(self.models.champion, "champion", self.models)


class ServedModels(Generic[S]):
    """The platform serving slot: what a domain serves over HTTP, filled by the loader it gives.

    The domain's plugin returns a new slot from ``DomainPlugin.served_models``; the API keeps one per
    app (``app.state.served_models``), loads it at start-up, reloads it on ``POST /models/reload`` and
    reads its :attr:`status` for ``/ready``. A request takes :meth:`live` once and routes on that
    snapshot, so a reload never mixes two model sets in one answer.

    Args:
        domain: the domain's name (in messages).
        load: builds the champion (and challenger) from the registry; raises when it cannot.
        not_loaded: what a request is told while nothing serves (what to run first).
        routes_to_challenger: whether a subject key belongs to the canary share (default: the platform's
            sticky hash, :func:`inloop.canary.routes_to_challenger`).
    """

    def __init__(self, domain: str, load: Callable[[], ModelSet[S]], *, not_loaded: str,
                 routes_to_challenger: Callable[[str], bool] | None = None) -> None:
        if routes_to_challenger is None:
            # Imported here, not at the top: inloop.canary reads ServedModel from this module.
            from inloop.canary import routes_to_challenger as platform_routes

            routes_to_challenger = platform_routes
        self.domain = domain
        self._load = load
        self._not_loaded = not_loaded
        self._routes: Callable[[str], bool] = routes_to_challenger
        self._lock = threading.Lock()
        self._models: ModelSet[S] | None = None
        self._status = ModelsStatus(ready=False, detail="models not loaded yet")

    @property
    def status(self) -> ModelsStatus:
        """Whether the slot serves, and the line ``/ready`` shows for it."""
        return self._status

    def load(self) -> str:
        """At start-up: forget what served before, then load; returns the status line, raises when nothing loads."""
        with self._lock:
            self._models = None
        try:
            return self._replace()
        except Exception as exc:
            self._status = ModelsStatus(ready=False, detail=f"models not loaded: {type(exc).__name__}: {exc}")
            raise

    def reload(self) -> str:
        """Load again; only a successful load replaces what serves (a failure keeps the loaded models)."""
        try:
            return self._replace()
        except Exception as exc:
            with self._lock:
                serving = self._models is not None
            self._status = ModelsStatus(
                ready=serving, detail=f"reload failed ({type(exc).__name__}: {exc}); still serving the loaded model"
                if serving else f"models not loaded: {type(exc).__name__}: {exc}")
            raise

    def live(self) -> Live[S]:
        """The model set serving now, for one request; :class:`NoChampionError` while nothing is loaded."""
        models = self._models
        if models is None:
            raise NoChampionError(self._not_loaded)
        return Live(models, self._routes)

    def _replace(self) -> str:
        models = self._load()  # outside the lock: requests keep being served during a slow load
        if models.challenger is not None and models.challenger_version == models.champion_version:
            models = ModelSet(models.champion, models.champion_version, models.detail)  # one model, no canary
        detail = models.detail
        if models.challenger is not None:
            detail += f"; challenger v{models.challenger_version} serves {get_settings().canary_share:.0%} (canary)"
        with self._lock:
            self._models = models
            self._status = ModelsStatus(ready=True, detail=detail)
        return detail


def served_model(domain: str) -> ServedModel:
    """The domain's :class:`ServedModel` (its plugin's ``served_model``); a clear error if it has none."""
    from inloop.domains import get_domain

    load = get_domain(domain).served_model
    if load is None:
        raise LookupError(f"domain {domain!r} declares no served model (served_model in its DomainPlugin)")
    spec = load()
    if not isinstance(spec, ServedModel):
        raise TypeError(f"{domain}'s served_model gives {type(spec).__name__}, not inloop.serving.ServedModel")
    return spec

