"""The recommender's project card: it loads, answers the checklist and names real checks."""

from __future__ import annotations

import pytest

from inloop.cards import lint_card
from recommender.domain import domain


def test_card_loads_and_answers_the_whole_checklist():
    card = domain.card()
    findings = lint_card(card, checks=domain.check_names(), demos=set(domain.demos()))
    assert [f for f in findings if f.level == "error"] == []
    case = card.business_case
    assert any(alt.kind == "no_ml" for alt in case.alternatives)
    assert card.outage_impact.weekend_on_call is False


@pytest.mark.rubric("model-1")
def test_every_enforced_concern_has_its_check_in_the_definitions():
    card = domain.card()
    enforced = {c.check for c in card.concerns if c.status == "enforced"}
    assert enforced  # at least the catalog check from the first stage
    assert enforced <= domain.check_names()


def test_the_seed_story_concerns_are_on_the_card():
    ids = {c.id for c in domain.card().concerns}
    assert {"no-off-context-items", "shared-accounts-detected", "new-users-get-useful-recommendations",
            "model-beats-popularity"} <= ids
    assert domain.card().concern("no-off-context-items").severity == "ERROR"
