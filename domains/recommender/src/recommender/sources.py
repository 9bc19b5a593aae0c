"""The schema the recommender's clickstream maps onto, for ``inloop data check recommender`` and a team's own log.

``shop_events`` is the synthetic shop by default; a team points it at its own tracking export (a Parquet
folder, a warehouse query) with a column mapping in the card (docs/own-data.md,
``domains/recommender/examples/clickstream_parquet/``). :func:`read_shop_events` gives the rows in the
names the page service and the models read (:data:`recommender.lib.history.HISTORY_INPUTS`).
"""

from __future__ import annotations

import pandas as pd

from inloop.cards import ProjectCard
from inloop.sources import DomainSchema, MappedSource, TargetColumn, read_source

__all__ = ["SHOP_EVENTS", "clickstream_schema", "domain_schemas", "read_shop_events"]

#: The card's data source the models learn from.
SHOP_EVENTS = "shop_events"


def clickstream_schema() -> DomainSchema:
    """What a clickstream must map onto: account, article, device, event kind and size, with the event time."""
    from recommender.lib.shop import DEVICES, EVENT_TYPES, generate_shop

    def synthetic_events() -> pd.DataFrame:
        return generate_shop().events

    return DomainSchema(
        domain="recommender",
        columns=(
            TargetColumn("account_id", "integer", min_value=0),
            TargetColumn("item_id", "integer", min_value=0),
            TargetColumn("device", "category", values=DEVICES),
            TargetColumn("event_type", "category", values=EVENT_TYPES),
            TargetColumn("size", "text"),
        ),
        event_time="ts",
        synthetic={SHOP_EVENTS: synthetic_events},
    )


def domain_schemas() -> dict[str, DomainSchema]:
    """Source id -> the schema its rows must map onto (the catalog is the shop's own, not configurable yet)."""
    return {SHOP_EVENTS: clickstream_schema()}


def read_shop_events(card: ProjectCard) -> MappedSource:
    """The clickstream as the card's ``shop_events`` source configures it, time-ordered, in the domain's names.

    Raises :class:`inloop.sources.SourceError` (naming source, column and owner) when the mapping does not fit.
    """
    events = read_source(card.source(SHOP_EVENTS), clickstream_schema())
    events.frame = events.frame.sort_values("ts", kind="stable").reset_index(drop=True)
    for column in ("account_id", "item_id"):
        events.frame[column] = events.frame[column].astype("int64")
    return events
