"""Metrics in the card's words, and the card's ``metric.label`` validated."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from inloop.cards import Concern, Metric, Threshold
from inloop.wording import describe, metric_label, quantity, singular_unit


def _concern(unit: str, op: str, value: float, label: str | None = "Age of the model in service") -> Concern:
    return Concern(id="model-staleness", statement="The model is never stale.", raised_by="Risk lead",
                   worst_case="decisions from a year-old model", user_story=None,
                   metric=Metric(name="champion_age_days", description="days since training", unit=unit, label=label),
                   threshold=Threshold(op=op, value=value), check="champion_not_stale")


def test_an_alert_reads_in_the_cards_words() -> None:
    assert describe(_concern("days", "<=", 90), 91) == "Age of the model in service: 91 days (must be at most 90 days)"
    assert describe(_concern("share of page views", ">=", 0.99), 0.935) == \
        "Age of the model in service: 93.5 % of page views (must be at least 99 % of page views)"
    assert describe(_concern("days", "<=", 90), None).startswith("Age of the model in service: no value")


def test_units_are_singular_for_one() -> None:
    assert quantity(1, "records") == "1 record"
    assert quantity(2, "records") == "2 records"
    assert quantity(1, "invoice keys") == "1 invoice key"
    assert quantity(1, "clicks per impression") == "1 click per impression"
    assert quantity(1, "days") == "1 day"
    assert quantity(1, "count") == "1"
    assert singular_unit("entries") == "entry"


def test_without_a_label_the_code_name_is_made_readable() -> None:
    assert metric_label(_concern("days", "<=", 90, label=None)) == "Champion age days"


@pytest.mark.parametrize("label", ["champion_age_days", "ab", "Age of the model.", "x" * 81])
def test_a_label_must_be_business_words(label: str) -> None:
    with pytest.raises(ValidationError, match="label"):
        Metric(name="champion_age_days", description="d", label=label)


def test_every_installed_card_labels_its_metrics() -> None:
    from inloop.domains import discover_domains

    missing = [f"{name}:{c.id}" for name, d in discover_domains().items() for c in d.card().concerns
               if c.metric is not None and not c.metric.label]
    assert missing == []
