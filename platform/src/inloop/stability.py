"""Numerical stability: NaN and infinity are caught where they appear, never served or trained on silently.

:func:`require_finite` checks named arrays (features, scores, losses, factors) and, when one holds a
non-finite value, raises an alert for the domain (grouped per domain, stage and name) and raises
:class:`NonFiniteError` naming each array, how many values and where. Training code calls it on
its features, loss and predictions; serving code on the features it scores and the outputs it
returns, and answers the client with the error's reason instead of a number.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from inloop.readiness import rubric

__all__ = ["NonFiniteError", "non_finite_summary", "require_finite"]

log = logging.getLogger("inloop.stability")

Stage = Literal["training", "serving"]


class NonFiniteError(ValueError):
    """NaN or infinity where a finite number is required; ``problems`` maps each name to a description."""

    def __init__(self, domain: str, stage: str, problems: dict[str, str]) -> None:
        self.domain, self.stage, self.problems = domain, stage, problems
        super().__init__(f"{domain} {stage}: non-finite values in " + "; ".join(f"{k}: {v}" for k, v in problems.items()))


def non_finite_summary(name: str, values: Any) -> str | None:
    """None when every value is finite; otherwise e.g. ``'2 NaN, 1 inf of 300 (rows 4, 17, 90)'``."""
    array = np.asarray(values, dtype=float) if not hasattr(values, "to_numpy") else values.to_numpy(dtype=float)
    bad = ~np.isfinite(array)
    if not bad.any():
        return None
    n_nan, n_inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    rows = np.unique(np.argwhere(bad)[:, 0])[:5] if array.ndim else np.array([0])
    parts = [f"{n} {kind}" for n, kind in ((n_nan, "NaN"), (n_inf, "inf")) if n]
    return f"{', '.join(parts)} of {array.size} (first rows {', '.join(str(int(r)) for r in rows)})"


@rubric("monitor-5", how="automated", what="NaN/inf in features, losses or outputs stop training and serving, with an alert")
def require_finite(domain: str, stage: Stage, arrays: Mapping[str, Any], *, alert: bool = True,
                   evidence: dict[str, Any] | None = None) -> None:
    """Raise :class:`NonFiniteError` (and an alert) if any named array holds NaN or infinity.

    A pandas frame is checked per numeric column (named ``<name>.<column>``); non-numeric columns
    are skipped. ``alert=False`` only raises (for callers that alert themselves).
    """
    problems: dict[str, str] = {}
    for name, values in arrays.items():
        if values is None:
            problems[name] = "missing (None)"
            continue
        if hasattr(values, "select_dtypes"):  # a DataFrame: numeric columns only
            for column in values.select_dtypes(include="number").columns:
                found = non_finite_summary(f"{name}.{column}", values[column])
                if found:
                    problems[f"{name}.{column}"] = found
            continue
        try:
            found = non_finite_summary(name, values)
        except (TypeError, ValueError):
            problems[name] = f"not numeric ({type(values).__name__})"
            continue
        if found:
            problems[name] = found
    if not problems:
        return
    error = NonFiniteError(domain, stage, problems)
    log.error("%s", error)
    if alert:
        try:
            from inloop.alerts import raise_alert

            raise_alert(domain=domain, source="stability", cause_key=f"non-finite:{domain}:{stage}:{','.join(sorted(problems))}",
                        title=f"Non-finite values at {stage} in {domain}: {', '.join(sorted(problems))}"[:300],
                        message=str(error)[:4000], severity="ERROR", routes=("console", "log"),
                        evidence={"stage": stage, "problems": problems, **(evidence or {})})
        except Exception as exc:  # the refusal matters more than the alert: still raise it
            log.error("could not raise the non-finite alert: %s", exc)
    raise error
