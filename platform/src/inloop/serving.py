"""What a domain serves: the ``served_model`` capability of its plugin, read by the model tooling.

The canary and rollback (:mod:`inloop.canary`), model cards (:mod:`inloop.model_card`) and the
console find a domain's registered model, its prediction-log component and the keys of its
logged outputs here, without importing the domain by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["ServedModel", "ServedModels", "served_model"]


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


class ServedModels(Protocol):
    """The platform serving slot a domain's plugin will fill (``DomainPlugin.served_models``).

    Reserved for the slot that owns champion/challenger loading, reload, readiness, canary routing
    and shadow calls; until it exists, domains load their models through ``DomainApi.load_models``.
    """

    def load(self) -> str:
        """Load the champion (and challenger); return a status line, raise when nothing can serve."""
        ...

    def reload(self) -> str:
        """Load again from the registry; the loaded models keep serving if that fails."""
        ...


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

