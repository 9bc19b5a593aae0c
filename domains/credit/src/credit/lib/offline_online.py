"""How far the offline AUC predicts the AUC on the live test set: per model version or time window.

Offline, every model version is judged on its holdout months (the AUC the promotion gate reads).
Online, the 2 % live test set (applicants whose model rejection is not applied, so their outcomes are
observed whatever the model said) gives the same model's AUC on real applicants. :func:`relation`
pairs the two per version (or per training window), reports the gaps and their correlation, and says
which pairs stay within the tolerance the card's live-performance concern allows.
:func:`relation_from_log` builds it from the prediction log, the label table and MLflow, for every
model version that served; the live-test-set monitor logs it with the champion's run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from credit.lib.data import LABEL
from credit.lib.decision import DecisionService, in_live_test_set
from inloop.offline_online import MetricPair, Relation
from inloop.offline_online import relation as platform_relation
from inloop.readiness import rubric

__all__ = ["AucPair", "AucRelation", "live_test_set_auc", "relation", "relation_from_log"]


def AucPair(label: str, offline_auc: float, live_auc: float | None, outcomes: int, defaults: int) -> MetricPair:  # noqa: N802
    """One version's (or training window's) offline holdout AUC and its live-test-set AUC (None: too few outcomes)."""
    return MetricPair(label, offline_auc, live_auc, outcomes, metric="auc", details={"defaults": defaults})


#: Credit's relation is the platform's (inloop.offline_online), on AUC.
AucRelation = Relation


def relation(pairs: Sequence[MetricPair], tolerance: float) -> Relation:
    """The pairs judged against ``tolerance``, the largest offline - live AUC gap accepted."""
    return platform_relation(pairs, tolerance)


def _auc_or_none(defaulted: np.ndarray, probability: np.ndarray, min_each: int) -> float | None:
    defaults = int(defaulted.sum())
    if min(defaults, len(defaulted) - defaults) < min_each:
        return None
    return float(roc_auc_score(defaulted, probability))


def live_test_set_auc(service: DecisionService, applications: pd.DataFrame, *, label: str, offline_auc: float,
                      min_each: int = 30) -> MetricPair:
    """The live test set of ``applications`` decided by ``service`` (not logged), judged on their outcomes.

    ``applications`` carries the observed outcome (``default_12m``), as core banking reports it later; only
    approved applicants have one (inside the live test set, only the hard rules reject).
    """
    if LABEL not in applications:
        raise ValueError(f"the applications need their observed outcome {LABEL!r}")
    chosen = applications[[in_live_test_set(a, service.policy) for a in applications["application_id"]]]
    chosen = chosen.reset_index(drop=True)
    decisions = service.decide_batch(chosen.drop(columns=[LABEL]), log=False)
    approved = np.array([d.live_test_set and d.decision == "approve" for d in decisions], dtype=bool)
    probability = np.array([d.probability_of_default for d in decisions])[approved]
    defaulted = chosen[LABEL].to_numpy().astype(int)[approved]
    return AucPair(label, round(offline_auc, 4), _auc_or_none(defaulted, probability, min_each),
                   int(approved.sum()), int(defaulted.sum()))


@rubric("model-2", how="automated", what="offline holdout AUC vs live-test-set AUC of every model version that served, with gaps, "
        "correlation and the card's tolerance; logged to the champion's MLflow run by the live-test-set monitor")
def relation_from_log(tolerance: float, *, min_each: int = 30, model_name: str | None = None,
                      observed_by: dt.datetime | None = None) -> Relation | None:
    """Every model version with live-test-set outcomes in the log (observed by ``observed_by`` when given):
    its offline (MLflow) and live AUC."""
    from credit.lib.decision import MODEL_NAME
    from credit.lib.live import live_test_set_outcomes
    from inloop import tracking

    outcomes = live_test_set_outcomes(observed_by=observed_by)
    if outcomes.empty:
        return None
    client = tracking.client()
    pairs = []
    for version, rows in outcomes.groupby("model_version", sort=True):
        run = client.get_run(client.get_model_version(model_name or MODEL_NAME, str(version)).run_id)
        offline = run.data.metrics.get("model_auc")
        if offline is None:
            continue
        live = _auc_or_none(rows["defaulted"].to_numpy(), rows["probability_of_default"].to_numpy(), min_each)
        pairs.append(AucPair(f"v{version}", round(float(offline), 4), None if live is None else round(live, 4),
                             len(rows), int(rows["defaulted"].sum())))
    return relation(pairs, tolerance) if pairs else None
