"""How each concern of the project card is measured: plain functions from data to a Measurement."""

from __future__ import annotations

import pandas as pd
from inloop.checks import Measurement

from recommender.lib.shop import GENDER_TARGETS

__all__ = ["untagged_items"]


def untagged_items(catalog: pd.DataFrame) -> Measurement:
    """Share of articles without a valid gender target (men, women, unisex), via Great Expectations."""
    import great_expectations as gx
    from inloop.validation import validate

    summary = validate(catalog, [
        gx.expectations.ExpectColumnValuesToNotBeNull(column="gender_target"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="gender_target", value_set=list(GENDER_TARGETS)),
    ], "recommender-catalog-gender-target")
    failing = catalog.loc[summary.failing_row_indices] if summary.failing_row_indices else catalog.iloc[:0]
    examples = failing["item_id"].head(5).tolist() if "item_id" in failing else []
    return Measurement(
        value=summary.failing_row_share,
        summary=(f"{len(failing)} of {len(catalog)} articles have no valid gender target"
                 + (f" (e.g. items {examples})" if examples else "")),
        details={"articles": len(catalog), "untagged": len(failing), "examples": examples,
                 "expectations": summary.describe_failures()},
    )
