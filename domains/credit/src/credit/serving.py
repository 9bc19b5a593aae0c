"""What the credit domain serves and reads, for the platform's canary, rollback, model-card and
dependency tooling (the ``served_model`` and ``data_sources`` hooks of :mod:`credit.domain`)."""

from __future__ import annotations

from typing import Any

from credit.lib.data import LABEL
from credit.lib.decision import COMPONENT, MODEL_NAME
from inloop.serving import ServedModel

__all__ = ["SERVED_MODEL", "source_schemas"]

SERVED_MODEL = ServedModel(
    domain="credit", model_name=MODEL_NAME, component=COMPONENT, score_key="probability_of_default",
    decision_key="decision", label_name=LABEL, higher_score_means_label=True, flavor="lightgbm",
    slices_artifact="slices.csv",
)


def source_schemas() -> dict[str, Any]:
    """Column names and dtypes of each upstream source: the loan history and the newest front-end batch."""
    from credit.lib.data import generate_applications
    from credit.lib.live import inbox_dir, latest_batch_id, read_batch

    sources: dict[str, Any] = {"loan_history": generate_applications(24).dtypes.astype(str).to_dict()}
    if inbox_dir().is_dir() and (batch := latest_batch_id()) is not None:
        sources["frontend_batches"] = read_batch(batch).dtypes.astype(str).to_dict()
    return sources
