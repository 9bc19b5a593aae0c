"""How much happens in the recommender's world per simulated day: every rate in one place."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RATES", "SEED", "Rates"]

#: The world's seed: the same simulated day always brings the same shoppers, clicks and articles.
SEED = 17_100


@dataclass(frozen=True)
class Rates:
    """Per simulated day, at demo scale."""

    sessions: int = 60  #: shop sessions (a person on one of their devices)
    max_views_per_session: int = 3  #: page views per session, 1 to this many
    click_share: float = 0.3  #: share of page views followed by a click on one of the shown articles
    purchase_share: float = 0.25  #: share of clicks that end in a purchase, in the same session
    new_articles: int = 12  #: articles in the merchandising team's daily catalog delivery
    #: During ``shared-account-surge``: share of sessions from households sharing one account (else 5 %).
    surge_shared_share: float = 0.7
    #: During ``catalog-missing-gender``: share of the delivered articles without a gender target.
    untagged_share: float = 0.4


RATES = Rates()
