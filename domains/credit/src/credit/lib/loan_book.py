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

from credit.lib.data import HISTORY_MONTHS, LABEL, MODEL_INPUTS, generate_applications
from credit.lib.evaluation import MIN_CLASS_COUNT
from credit.lib.features import DERIVED, FEATURES, HOLDOUT_MONTHS, SLICE_COLUMNS
from credit.lib.schema import APPLICATION_SCHEMA
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


#: The unit each money or time input is in (a mapping's unit conversion must convert into it).
UNITS = {"income_monthly_eur": "eur", "loan_amount_eur": "eur", "application_duration_seconds": "seconds"}
INTEGERS = ("loan_duration_months", "existing_credits")


def _target(column: str) -> TargetColumn:
    """An application input as the mapping checks it, from its rules in the application schema."""
    rules = [rule for rule in APPLICATION_SCHEMA if rule.column == column]
    categories = next((rule for rule in rules if rule.kind == "in_set"), None)
    if categories is not None:
        return TargetColumn(column, "category", values=categories.values)
    bounds = next(rule for rule in rules if rule.kind == "between")
    return TargetColumn(
        column,
        "integer" if column in INTEGERS else "number",
        min_value=bounds.min_value,
        max_value=bounds.max_value,
        unit=UNITS.get(column),
    )


def loan_history_schema(synthetic: Callable[[], pd.DataFrame] | None = None) -> DomainSchema:
    """What a loan-history source must map onto: the application inputs, their units and categories.

    Categories and ranges come from :data:`credit.lib.schema.APPLICATION_SCHEMA` (one truth): the mapping
    refuses a column most of whose values break them (a unit or column mix-up); a few breaking rows are
    left to the GX check on the mapped rows, which reports them to the source's owner.
    """
    from inloop.settings import get_settings

    def default_history() -> pd.DataFrame:
        size = max(HISTORY_MONTHS, round(DEFAULT_HISTORY_SIZE * get_settings().demo_data_scale))
        return generate_applications(size, months=range(HISTORY_MONTHS))

    return DomainSchema(
        domain="credit",
        columns=tuple(_target(column) for column in MODEL_INPUTS),
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
