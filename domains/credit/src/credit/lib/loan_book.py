"""The loan history, read from wherever the card's ``loan_history`` source says (inloop.sources).

By default that is the synthetic world (:mod:`credit.lib.data`); a team points it at its own loan book
(a CSV or Parquet extract, a warehouse query) with a column mapping in the card. The application schema
below is what every source must map onto. An input the source does not have is declared absent in the
mapping (with the reason) and the model is trained without it; a column carried for slicing only (a
protected group) is evaluated per slice and never becomes a model input.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from credit.lib.data import (
    AGE_BANDS,
    CHANNELS,
    HISTORY_MONTHS,
    LABEL,
    RESIDENCE_PERMITS,
    generate_applications,
)
from credit.lib.evaluation import MIN_CLASS_COUNT
from credit.lib.features import DERIVED, FEATURES, HOLDOUT_MONTHS, SLICE_COLUMNS
from inloop.cards import ProjectCard
from inloop.sources import DomainSchema, MappedSource, TargetColumn, read_source

__all__ = [
    "DEFAULT_HISTORY_SIZE",
    "SOURCE_ID",
    "available_features",
    "loan_history_schema",
    "read_loan_history",
    "slice_columns",
]

#: The card's data source the models learn from.
SOURCE_ID = "loan_history"
#: Applications in the synthetic history at demo scale 1: enough for stable slices and for the trees to beat
#: the baseline, still about a second to generate and train on a laptop.
DEFAULT_HISTORY_SIZE = 20_000


def loan_history_schema(synthetic: Callable[[], pd.DataFrame] | None = None) -> DomainSchema:
    """What a loan-history source must map onto: the application inputs, their units and categories.

    Ranges here are the plausible bounds a *unit* mistake leaves (the row-level rules with their
    reasons are :data:`credit.lib.schema.APPLICATION_SCHEMA`, which the GX check runs after mapping).
    """
    from inloop.settings import get_settings

    def default_history() -> pd.DataFrame:
        size = max(HISTORY_MONTHS, round(DEFAULT_HISTORY_SIZE * get_settings().demo_data_scale))
        return generate_applications(size, months=range(HISTORY_MONTHS))

    return DomainSchema(
        domain="credit",
        columns=(
            TargetColumn("income_monthly_eur", "number", min_value=300, max_value=100_000, unit="eur"),
            TargetColumn("employment_years", "number", min_value=0, max_value=60),
            TargetColumn("age_band", "category", values=AGE_BANDS),
            TargetColumn("loan_amount_eur", "number", min_value=100, max_value=100_000, unit="eur"),
            TargetColumn("loan_duration_months", "integer", min_value=1, max_value=120),
            TargetColumn("existing_credits", "integer", min_value=0, max_value=20),
            TargetColumn("channel", "category", values=CHANNELS),
            TargetColumn("residence_permit", "category", values=RESIDENCE_PERMITS),
            TargetColumn(
                "application_duration_seconds", "number", min_value=5, max_value=14_400, unit="seconds"
            ),
        ),
        id_column="application_id",
        event_time="applied_at",
        label=LABEL,
        slices=SLICE_COLUMNS,
        min_per_class=MIN_CLASS_COUNT,
        holdout_months=HOLDOUT_MONTHS,
        synthetic={SOURCE_ID: synthetic or default_history},
    )


def read_loan_history(card: ProjectCard, synthetic: Callable[[], pd.DataFrame] | None = None) -> MappedSource:
    """The loan history as the card configures it, mapped onto the application schema.

    Raises :class:`inloop.sources.SourceError` (naming source, column and owner) when the mapping does not fit.
    """
    return read_source(card.source(SOURCE_ID), loan_history_schema(synthetic), synthetic=synthetic)


def available_features(card: ProjectCard) -> tuple[str, ...]:
    """The model's features given what the card's loan history has: every feature but the absent inputs
    and the derived features that need one."""
    mapping = card.source(SOURCE_ID).mapping
    absent = (
        set(mapping.absent)
        if mapping is not None and card.source(SOURCE_ID).read.kind != "synthetic"
        else set()
    )
    out: list[str] = []
    for name in FEATURES:
        if name in absent or (
            name in DERIVED and any(i in absent or i not in out for i in DERIVED[name].inputs)
        ):
            continue
        out.append(name)
    return tuple(out)


def slice_columns(card: ProjectCard) -> tuple[str, ...]:
    """The columns evaluated per slice: the domain's (those the source has) and the source's own slice columns."""
    source = card.source(SOURCE_ID)
    mapping = source.mapping if source.read.kind != "synthetic" else None
    if mapping is None:
        return SLICE_COLUMNS
    return (*(c for c in SLICE_COLUMNS if c not in mapping.absent), *mapping.slices)
