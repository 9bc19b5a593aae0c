"""Credit's simulated world: loan applicants arriving at ``POST /credit/decisions``, and what can go wrong.

Apart from the domain's core on purpose: a bank with real applicants deletes this package (and sets
``INLOOP_WORLD=off``); the decision service, the monitoring and the checks do not know it exists.
"""

from __future__ import annotations

from credit.world.arrivals import APPLICATIONS_PER_DAY, applications_for_day, arrive
from credit.world.incidents import INCIDENTS

__all__ = ["APPLICATIONS_PER_DAY", "INCIDENTS", "applications_for_day", "arrive"]
