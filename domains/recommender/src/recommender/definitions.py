"""The recommender's Dagster code location."""

from __future__ import annotations

from inloop.orchestration import domain_definitions

from recommender.defs.checks import CHECKS
from recommender.defs.shop import synthetic_shop

defs = domain_definitions("recommender", assets=[synthetic_shop], asset_checks=CHECKS)
