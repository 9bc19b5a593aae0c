"""Model features from applications, and the time-based split the models are judged on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from credit.lib.data import AGE_BANDS, CHANNELS, FIRST_MONTH, LABEL, MODEL_INPUTS, RESIDENCE_PERMITS

__all__ = ["CATEGORIES", "DERIVED", "FEATURES", "Derived", "HOLDOUT_MONTHS", "SLICE_COLUMNS", "build_features", "month_index",
           "split_by_time"]

#: The categorical inputs and their categories (fixed, so a batch with one channel still encodes alike).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "age_band": AGE_BANDS,
    "channel": CHANNELS,
    "residence_permit": RESIDENCE_PERMITS,
}


@dataclass(frozen=True)
class Derived:
    """A feature computed from application inputs: the same function serves training (on columns) and the
    decision service's fast path (on one application's numbers), so the two cannot drift apart."""

    inputs: tuple[str, ...]
    compute: Callable[..., Any]  # (*inputs) -> value; numbers in, number out (or Series in, Series out)


#: Derived features, in the order they follow the application inputs. Adding one here (and to the card's
#: feature_policy) is the whole path to a new derived feature: docs/adding-a-feature.md.
DERIVED: dict[str, Derived] = {
    # the instalment burden the risk team reasons in: monthly instalment over net monthly income
    "burden": Derived(("loan_amount_eur", "loan_duration_months", "income_monthly_eur"),
                      lambda amount, months, income: amount / months / income),
}
#: What the model sees: the application inputs plus the derived features.
FEATURES: tuple[str, ...] = (*MODEL_INPUTS, *DERIVED)


def _check_derived_order() -> None:
    known: set[str] = set(MODEL_INPUTS)
    for name, derived in DERIVED.items():
        unknown = [c for c in derived.inputs if c not in known]
        if unknown:
            raise ValueError(f"derived feature {name!r} needs {unknown}, which are not application inputs or "
                             "derived features listed before it")
        known.add(name)


_check_derived_order()
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
        if name in DERIVED:
            out[name] = DERIVED[name].compute(*(applications[c] for c in DERIVED[name].inputs)).astype(float)
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
