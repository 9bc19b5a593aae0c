"""The schema each configurable credit source maps onto, for ``inloop data check credit``.

``loan_history`` (what the models learn from) can come from the synthetic world or a team's own loan
book (docs/own-data.md); ``frontend_batches`` is the live inbox, which the monitoring job reads itself.
"""

from __future__ import annotations

from inloop.sources import DomainSchema

__all__ = ["domain_schemas"]


def domain_schemas() -> dict[str, DomainSchema]:
    """Source id -> the schema its rows must map onto."""
    from credit.lib.loan_book import SOURCE_ID, loan_history_schema

    return {SOURCE_ID: loan_history_schema()}
