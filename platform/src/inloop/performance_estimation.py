"""Performance before the labels arrive: confidence-based performance estimation (CBPE).

A binary classifier whose scores are calibrated says, with each score ``p``, how likely the positive
outcome is. Its expected performance on a set of predictions can therefore be computed from the
scores alone, long before the outcomes are known (a loan's default is known a year later). This is the
published CBPE method as NannyML documents it, written here as plain functions because NannyML's pins
(lightgbm < 4.6, plotly < 6) do not fit the project's lock:

- the expected positive rate is the mean score;
- the expected ROC AUC reads every threshold's *expected* confusion matrix, where a prediction with score
  ``p`` counts as ``p`` of a true positive and ``1 - p`` of a false positive when it is above the
  threshold: expected TPR = sum(p above) / sum(p), expected FPR = sum(1 - p above) / sum(1 - p), and the
  AUC is the area under that curve. It equals the AUC of the scores against soft labels (every
  prediction a positive of weight ``p`` and a negative of weight ``1 - p``).

What it can and cannot see: a change in *who* is scored (covariate shift) moves the estimate, because
the scores move. A change in how the inputs relate to the outcome (concept shift) leaves the scores,
and so the estimate, where they were: only the realised labels show it. The estimate is therefore
checked against the realised figure once the labels have landed (:func:`judge_period`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PeriodJudgement",
    "PeriodPerformance",
    "estimate_by_period",
    "expected_positive_rate",
    "expected_roc_auc",
    "judge_period",
    "realised_roc_auc",
]


def _scores(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    p = np.asarray(scores, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"scores must be one-dimensional, got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("scores must be finite (a NaN or infinite score cannot be estimated from)")
    if ((p < 0) | (p > 1)).any():
        raise ValueError("scores must be calibrated probabilities in [0, 1]")
    return p


def expected_positive_rate(scores: Sequence[float] | np.ndarray) -> float:
    """The expected share of positive outcomes: the mean calibrated score (NaN for no scores)."""
    p = _scores(scores)
    return float(p.mean()) if len(p) else math.nan


def expected_roc_auc(scores: Sequence[float] | np.ndarray) -> float:
    """The ROC AUC the scores are expected to reach once the outcomes are known (CBPE).

    NaN when it cannot be estimated: fewer than two scores, or scores that expect no positive (all 0)
    or no negative (all 1). Tied scores form one threshold (the curve goes diagonally through them,
    as ``sklearn.metrics.roc_auc_score`` does for realised labels).
    """
    p = _scores(scores)
    if len(p) < 2:
        return math.nan
    positives, negatives = p.sum(), (1 - p).sum()
    if positives <= 0 or negatives <= 0:
        return math.nan
    order = np.argsort(-p, kind="mergesort")
    ranked = p[order]
    tp = np.cumsum(ranked)
    fp = np.cumsum(1 - ranked)
    # One point per distinct score: the last position of each run of ties.
    last_of_tie = np.r_[np.diff(ranked) != 0, True]
    tpr = np.r_[0.0, tp[last_of_tie] / positives]
    fpr = np.r_[0.0, fp[last_of_tie] / negatives]
    return float(np.trapezoid(tpr, fpr))


def realised_roc_auc(labels: Sequence[float] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """The AUC on the outcomes that are known (NaN while they hold only one class)."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(labels, dtype=float)
    if len(y) < 2 or len(np.unique(y)) < 2:
        return math.nan
    return float(roc_auc_score(y, np.asarray(scores, dtype=float)))


def _round(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)


@dataclass(frozen=True)
class PeriodPerformance:
    """One period's (a month's) estimated performance beside what its labels have realised so far."""

    period: str
    predictions: int
    estimated_auc: float | None
    estimated_rate: float | None
    labelled: int  # predictions whose outcome has arrived
    realised_auc: float | None
    realised_rate: float | None

    @property
    def label_coverage(self) -> float:
        return self.labelled / self.predictions if self.predictions else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label_coverage": round(self.label_coverage, 4)}


def estimate_by_period(
    frame: pd.DataFrame, *, period: str, score: str, label: str | None = None
) -> list[PeriodPerformance]:
    """CBPE per period of ``frame``: the estimate from every prediction's ``score``, and, where the
    ``label`` column holds an outcome (NaN while it has not arrived), the realised AUC and rate on the
    predictions labelled so far. Periods come out in their sort order."""
    missing = [c for c in (period, score, label) if c is not None and c not in frame.columns]
    if missing:
        raise ValueError(f"no column {', '.join(missing)} in the predictions (columns: {', '.join(frame.columns)})")
    out = []
    for key, group in frame.groupby(period, sort=True):
        p = group[score].to_numpy(dtype=float)
        y = group[label].to_numpy(dtype=float) if label is not None else np.full(len(group), np.nan)
        known = ~np.isnan(y)
        out.append(
            PeriodPerformance(
                period=_name(key),
                predictions=len(group),
                estimated_auc=_round(expected_roc_auc(p)),
                estimated_rate=_round(expected_positive_rate(p)),
                labelled=int(known.sum()),
                realised_auc=_round(realised_roc_auc(y[known], p[known])),
                realised_rate=_round(float(y[known].mean())) if known.any() else None,
            )
        )
    return out


def _name(key: Hashable) -> str:
    return str(key[0]) if isinstance(key, tuple) else str(key)


@dataclass(frozen=True)
class PeriodJudgement:
    """How far one period's figure is from where it should be, and against what it was judged."""

    period: str
    value: float  # the distance judged against the tolerance
    against: str  # "realised" once the labels have landed, else "reference"
    estimate: float
    compared_with: float

    def describe(self, metric: str) -> str:
        if self.against == "realised":
            return (f"{self.period}: estimated {metric} {self.estimate:.3f}, realised {self.compared_with:.3f} "
                    f"(off by {self.value:.3f})")
        return (f"{self.period}: estimated {metric} {self.estimate:.3f} before labels, reference "
                f"{self.compared_with:.3f} (off by {self.value:.3f})")


def judge_period(
    row: PeriodPerformance, metric: str, reference: float, *, min_coverage: float
) -> PeriodJudgement | None:
    """Judge one period's estimated ``metric`` ("auc" or "rate").

    Once at least ``min_coverage`` of its predictions are labelled, the estimate is compared with the
    realised figure (is the estimate to be trusted?); before that, the estimate alone is compared with
    the ``reference`` (has the expected performance moved?). None when the period has no estimate.
    """
    if metric not in ("auc", "rate"):
        raise ValueError(f"metric must be 'auc' or 'rate', got {metric!r}")
    estimate = row.estimated_auc if metric == "auc" else row.estimated_rate
    realised = row.realised_auc if metric == "auc" else row.realised_rate
    if estimate is None:
        return None
    if realised is not None and row.label_coverage >= min_coverage:
        return PeriodJudgement(row.period, round(abs(estimate - realised), 4), "realised", estimate, realised)
    return PeriodJudgement(row.period, round(abs(estimate - reference), 4), "reference", estimate, reference)
