"""What the credit domain serves and reads: the model spec for the platform's canary, rollback, model-card
and dependency tooling, and the serving slot the API decides with (the ``served_model``, ``served_models``
and ``data_sources`` capabilities of :mod:`credit.domain`)."""

from __future__ import annotations

from typing import Any

from credit.lib.data import LABEL
from credit.lib.decision import COMPONENT, MODEL_NAME, DecisionService
from inloop.serving import ModelSet, ServedModel, ServedModels

__all__ = ["SERVED_MODEL", "load_decision_services", "served_models", "source_schemas"]

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


def load_decision_services() -> ModelSet[DecisionService]:
    """The decision service on the champion and the policy in force, and on the challenger (the canary), if any."""
    from credit.lib.registry import load_challenger_service, load_decision_service

    service = load_decision_service()
    challenger = load_challenger_service(service.policy)
    return ModelSet(champion=service, champion_version=service.model_version,
                    detail=f"{service.model_name} v{service.model_version}, policy {service.policy.version}",
                    challenger=challenger, challenger_version=challenger.model_version if challenger else None)


def served_models() -> ServedModels[DecisionService]:
    """A serving slot for ``POST /credit/decisions`` (the API keeps one per app)."""
    return ServedModels("credit", load_decision_services,
                        not_loaded="no champion credit model loaded: run the credit pipeline, then POST /models/reload")
