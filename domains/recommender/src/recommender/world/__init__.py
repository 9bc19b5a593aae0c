"""The recommender's simulated world: shoppers' sessions through the real page route, their clicks and
purchases on ``POST /labels``, the merchandising team's daily catalog delivery, and what can go wrong.

Apart from the domain's core on purpose: a shop with real traffic deletes this package (and sets
``INLOOP_WORLD=off``); the page service, the monitoring and the checks do not know it exists.
"""

from __future__ import annotations

from recommender.world.incidents import INCIDENTS
from recommender.world.rates import RATES, Rates
from recommender.world.sessions import arrive, deliver_catalog, sessions_for_day

__all__ = ["INCIDENTS", "RATES", "Rates", "arrive", "deliver_catalog", "sessions_for_day"]
