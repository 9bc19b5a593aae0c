"""The project card's concerns as Dagster asset checks (measurements live in ``recommender.lib.measures``)."""

from __future__ import annotations

from inloop.checks import concern_check

from recommender.domain import domain
from recommender.lib import measures

card = domain.card()

catalog_items_have_gender_target = concern_check(
    card, "catalog-gender-tagged", asset="catalog", measure=measures.untagged_items)

CHECKS = [catalog_items_have_gender_target]
