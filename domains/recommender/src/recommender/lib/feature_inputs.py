"""Every input the recommender's model and page service read, by data source, against the card's feature_policy.

The columns are the ones the code keeps (:data:`recommender.lib.collaborative.MODEL_INPUTS`,
:data:`recommender.lib.history.HISTORY_INPUTS`, :data:`recommender.lib.boxes.ASSORTMENT_INPUTS`): the
model and the stores drop every other column on the way in, so a new input has to be added there and
then pass :func:`check_inputs` — the policy on the card says which are allowed and from which source.
"""

from __future__ import annotations

from inloop.cards import ProjectCard
from inloop.feature_policy import Violation, check_features
from recommender.lib.boxes import ASSORTMENT_INPUTS
from recommender.lib.collaborative import MODEL_INPUTS
from recommender.lib.history import HISTORY_INPUTS

__all__ = ["check_inputs", "inputs_in_use"]


def inputs_in_use() -> dict[str, list[str]]:
    """Each column in use and the data sources it is read from (``shop_events``, ``catalog``)."""
    used: dict[str, set[str]] = {}
    for source, columns in (*MODEL_INPUTS.items(), ("shop_events", HISTORY_INPUTS), ("catalog", ASSORTMENT_INPUTS)):
        for column in columns:
            used.setdefault(column, set()).add(source)
    return {column: sorted(sources) for column, sources in used.items()}


def check_inputs(card: ProjectCard) -> list[Violation]:
    """What the card's feature_policy does not allow among the inputs in use (empty: they adhere)."""
    return check_features(card, inputs_in_use())
