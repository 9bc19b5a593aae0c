"""Model features from applications, and the time-based split the models are judged on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit.lib.data import AGE_BANDS, CHANNELS, FIRST_MONTH, LABEL, MODEL_INPUTS, RESIDENCE_PERMITS

__all__ = ["CATEGORIES", "FEATURES", "HOLDOUT_MONTHS", "SLICE_COLUMNS", "build_features", "month_index",
           "split_by_time"]

#: The categorical inputs and their categories (fixed, so a batch with one channel still encodes alike).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "age_band": AGE_BANDS,
    "channel": CHANNELS,
    "residence_permit": RESIDENCE_PERMITS,
}
#: What the model sees: the application inputs plus the instalment burden the risk team reasons in.
FEATURES: tuple[str, ...] = (*MODEL_INPUTS, "burden")
#: Slices every evaluation reports (each value of each column).
SLICE_COLUMNS: tuple[str, ...] = ("residence_permit", "age_band", "channel")
#: The last months of the history are held out: models are judged on months they never saw.
HOLDOUT_MONTHS = 4


def month_index(applied_at: pd.Series) -> pd.Series:
    """Months since the first simulated month (0-based)."""
    return (applied_at.dt.year - FIRST_MONTH.year) * 12 + applied_at.dt.month - FIRST_MONTH.month


def build_features(applications: pd.DataFrame, features: tuple[str, ...] = FEATURES) -> pd.DataFrame:
    """The feature frame for ``applications`` (only the columns in ``features``, in that order)."""
    out = pd.DataFrame(index=applications.index)
    for name in features:
        if name == "burden":
            instalment = applications["loan_amount_eur"] / applications["loan_duration_months"]
            out[name] = (instalment / applications["income_monthly_eur"]).astype(float)
        elif name in CATEGORIES:
            out[name] = pd.Categorical(applications[name].astype(object), categories=CATEGORIES[name])
        else:
            out[name] = pd.to_numeric(applications[name], errors="coerce").astype(float)
    return out


def split_by_time(applications: pd.DataFrame, holdout_months: int = HOLDOUT_MONTHS) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, holdout): the last ``holdout_months`` months are the holdout."""
    months = month_index(applications["applied_at"]).to_numpy()
    first_holdout = months.max() - holdout_months + 1
    if first_holdout <= months.min():
        raise ValueError(f"need more than {holdout_months} months of history to hold {holdout_months} out")
    holdout = months >= first_holdout
    return ~holdout, holdout


def labels(applications: pd.DataFrame) -> np.ndarray:
    return applications[LABEL].to_numpy().astype(int)
