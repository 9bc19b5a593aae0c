"""The application schema: what a loan application must look like before a model sees it.

Domain knowledge written down as rules (types, ranges, categories, units). The unit rules are
the ones that matter most: ``application_duration_seconds`` is the time spent on the form, and a
value above four hours (the form's session timeout) can only be a wrong unit, the fraud-model
incident where seconds became milliseconds on the live path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from credit.lib.data import AGE_BANDS, CHANNELS, RESIDENCE_PERMITS
from credit.lib.features import DERIVED

__all__ = ["APPLICATION_SCHEMA", "ColumnRule", "application_expectations", "check_schema", "rows_breaking",
           "training_expectations"]


@dataclass(frozen=True)
class ColumnRule:
    """One expectation on one column, with the reason it holds for every real application."""

    column: str
    kind: Literal["not_null", "unique", "between", "in_set"]
    why: str
    min_value: float | None = None
    max_value: float | None = None
    values: tuple[Any, ...] = ()

    def expectation(self) -> Any:
        """The rule as a Great Expectations expectation."""
        import great_expectations as gx

        ex = gx.expectations
        if self.kind == "not_null":
            return ex.ExpectColumnValuesToNotBeNull(column=self.column, meta={"why": self.why})
        if self.kind == "unique":
            return ex.ExpectColumnValuesToBeUnique(column=self.column, meta={"why": self.why})
        if self.kind == "in_set":
            return ex.ExpectColumnValuesToBeInSet(column=self.column, value_set=list(self.values),
                                                  meta={"why": self.why})
        return ex.ExpectColumnValuesToBeBetween(column=self.column, min_value=self.min_value,
                                                max_value=self.max_value, meta={"why": self.why})

APPLICATION_SCHEMA: tuple[ColumnRule, ...] = (
    ColumnRule("application_id", "not_null", "every application has an id from the front end"),
    ColumnRule("application_id", "unique", "one decision per application; a repeat is a retry"),
    ColumnRule("applied_at", "not_null", "the front end stamps every application"),
    ColumnRule("income_monthly_eur", "between", "net monthly income in EUR; below 300 is a typo or a yearly/cents unit",
               300, 100_000),
    ColumnRule("employment_years", "between", "years with the current employer; negative or over 60 is impossible",
               0, 60),
    ColumnRule("age_band", "in_set", "the front end's age bands", values=AGE_BANDS),
    ColumnRule("loan_amount_eur", "between", "products range from EUR 300 phones to EUR 60,000 loans", 100, 100_000),
    ColumnRule("loan_duration_months", "between",
               "loan terms in whole months; our catalogue runs 6 to 84, another lender's book up to 10 years", 1, 120),
    ColumnRule("existing_credits", "between", "running credits at the bureau", 0, 20),
    ColumnRule("channel", "in_set", "the sales channels we have", values=CHANNELS),
    ColumnRule("residence_permit", "in_set", "residence status as the front end asks it", values=RESIDENCE_PERMITS),
    ColumnRule("application_duration_seconds", "between",
               "seconds spent on the form; the session times out after 4 hours, so more is a wrong unit", 5, 14_400),
)



def application_expectations(rules: tuple[ColumnRule, ...] = APPLICATION_SCHEMA) -> list[Any]:
    """The schema as a list of GX expectations (what :func:`inloop.validation.validate` runs)."""
    return [rule.expectation() for rule in rules]


def training_expectations(statistics: dict[str, Any]) -> list[Any]:
    """Batch-level expectations learned from the training data's statistics.

    Each numeric input's batch median must lie within the middle half (25th to 75th percentile)
    of the values the model was trained on: a generous band for a median of hundreds of rows,
    which a unit change (x60, x1000) or a swapped field leaves at once.
    """
    import great_expectations as gx

    out = []
    for name, stats in statistics.get("features", {}).items():
        if stats.get("kind") != "number" or name in DERIVED:
            continue
        quantiles = stats["quantiles"]
        out.append(gx.expectations.ExpectColumnMedianToBeBetween(
            column=name, min_value=float(quantiles["0.25"]), max_value=float(quantiles["0.75"]),
            meta={"why": "median within the middle half of the training data (training statistics)"}))
    return out


def check_schema(applications: pd.DataFrame, rules: tuple[ColumnRule, ...] = APPLICATION_SCHEMA,
                 statistics: dict[str, Any] | None = None) -> Any:
    """Validate ``applications`` against the schema (and, given, the training statistics) with GX."""
    from inloop.validation import validate

    expectations = application_expectations(rules) + (training_expectations(statistics) if statistics else [])
    # GX reports failing rows by index label: make them positions so they are unique.
    return validate(applications.reset_index(drop=True), expectations, "credit_applications")


def rows_breaking(summary: Any) -> float:
    """Share of rows breaking the schema; a failed batch-level expectation counts every row."""
    batch_level = [o for o in summary.failed if o.unexpected_count is None]
    return 1.0 if batch_level and summary.rows else summary.failing_row_share
