"""The credit domain's Dagster code location."""

from __future__ import annotations

from inloop.orchestration import domain_definitions

from credit.defs.applications import applications_match_schema, loan_applications

defs = domain_definitions(
    "credit",
    assets=[loan_applications],
    asset_checks=[applications_match_schema],
)
