"""The credit domain's upstream sources for the data-quality report (the ``data_quality_sources`` hook).

Both sources are checked against the application schema (:mod:`credit.lib.schema`), whose rules
carry the reason they hold: the loan history the model learns from (read as the card's ``loan_history``
source configures it, :mod:`credit.lib.loan_book`), and the newest batch the loan
front end dropped into the inbox. Owners and contacts are in the project card's ``data_sources``.
"""

from __future__ import annotations

import pandas as pd

from inloop.data_quality import QualitySource

__all__ = ["sources"]


def _history() -> pd.DataFrame:
    # The loan history as the card configures it (synthetic by default, or a team's own rows mapped onto
    # the schema): its owner gets the rows that break the schema. A mapping that does not fit raises,
    # naming the source, the column and the owner.
    from credit.defs.card import credit_card
    from credit.lib.loan_book import read_loan_history
    from inloop.privacy import drop_erased

    frame, _ = drop_erased("credit", read_loan_history(credit_card()).frame, "application_id")
    return frame


def _latest_batch() -> pd.DataFrame | None:
    from credit.lib.live import inbox_dir, latest_batch_id, read_batch

    batch = latest_batch_id() if inbox_dir().is_dir() else None
    if batch is None:
        return None
    frame = read_batch(batch)
    frame.attrs["batch_id"] = batch
    return frame


def _expectations(frame: pd.DataFrame) -> list:
    from credit.lib.schema import application_expectations

    return application_expectations()


def sources() -> list[QualitySource]:
    return [
        QualitySource("loan_history", _history, _expectations, key_columns=("application_id",)),
        QualitySource("frontend_batches", _latest_batch, _expectations, key_columns=("application_id",),
                      label=lambda frame: f"batch {frame.attrs.get('batch_id', '?')}"),
    ]
