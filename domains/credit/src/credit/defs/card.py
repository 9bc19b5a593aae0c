"""The credit project card, read once per process for the concern checks."""

from __future__ import annotations

from functools import lru_cache

from credit.domain import domain
from inloop.cards import ProjectCard


@lru_cache(maxsize=1)
def credit_card() -> ProjectCard:
    """The validated ``domains/credit/project.yaml``, with the overlay ``INLOOP_CARD_OVERLAYS`` names for credit
    (e.g. the German credit example's data source)."""
    from inloop.cards import card_in_force

    return card_in_force("credit", domain.card_path)
