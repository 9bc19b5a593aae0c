"""Offline vs online: does the metric a model (or policy) was judged on offline hold on live traffic? (model-2)

Every domain pairs, per model version (or policy fingerprint), the figure its promotion gate read offline
with the same quantity measured on what it served, and judges the shortfall against a tolerance its
project card states:

* credit: holdout AUC against the AUC on the live test set's observed outcomes;
* the recommender: offline recall@10 against the "recommended for you" box's logged click-through, scaled
  by the card's ``relation.scale`` (how many clicks per impression one point of recall@10 has brought);
* invoice_ocr: the evaluation set's STP and field accuracy against live STP and clerk-corrected accuracy.

:func:`relation` holds the pairs; :func:`inloop.offline_online_check.relation_measurement` turns the relation
of the version that serves into the concern check's measurement (value: the largest shortfall of live below
what offline promised), so a gap beyond the card's threshold fails the check and raises an alert. (This module
imports no Dagster: a domain's ``lib/`` uses it.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["MetricPair", "Relation", "relation"]


@dataclass(frozen=True)
class MetricPair:
    """One version's offline figure and the same quantity measured live (``online`` None: too little traffic)."""

    label: str  # the model version, policy fingerprint or training window
    offline: float
    online: float | None
    outcomes: int  # how many live observations the online figure rests on
    metric: str = ""  # e.g. "auc", "stp", "ctr"
    #: online = scale * offline is what the offline figure promises (1 when both are the same quantity)
    scale: float = 1.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def expected_online(self) -> float:
        return self.scale * self.offline

    @property
    def gap(self) -> float | None:
        """How far live falls short of what offline promised, in the online metric's units (negative: better)."""
        return None if self.online is None else self.expected_online - self.online

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "expected_online": self.expected_online, "gap": self.gap}


@dataclass(frozen=True)
class Relation:
    """Offline vs online pairs, judged against the largest accepted shortfall (the card's tolerance)."""

    pairs: tuple[MetricPair, ...]
    tolerance: float

    @property
    def judged(self) -> list[MetricPair]:
        return [p for p in self.pairs if p.online is not None]

    @property
    def beyond_tolerance(self) -> list[str]:
        return [p.label + (f" ({p.metric})" if p.metric and self._several_metrics else "")
                for p in self.judged if p.gap is not None and p.gap > self.tolerance]

    @property
    def _several_metrics(self) -> bool:
        return len({p.metric for p in self.pairs}) > 1

    @property
    def pearson(self) -> float | None:
        """Correlation of offline and online over the judged pairs of one metric (None below 3 pairs)."""
        judged = self.judged
        if len(judged) < 3 or self._several_metrics:
            return None
        offline = np.array([p.offline for p in judged], dtype=float)
        online = np.array([p.online for p in judged], dtype=float)
        if np.std(offline) == 0 or np.std(online) == 0:
            return None
        return float(np.corrcoef(offline, online)[0, 1])

    @property
    def mean_abs_gap(self) -> float | None:
        gaps = [abs(p.gap) for p in self.judged if p.gap is not None]
        return float(np.mean(gaps)) if gaps else None

    def of(self, label: str) -> list[MetricPair]:
        """The pairs of one version (one per metric)."""
        return [p for p in self.pairs if p.label == label]

    def to_dict(self) -> dict[str, Any]:
        return {"pairs": [p.to_dict() for p in self.pairs], "tolerance": self.tolerance, "pearson": self.pearson,
                "mean_abs_gap": self.mean_abs_gap, "beyond_tolerance": self.beyond_tolerance}

    def describe(self, unit: str = "") -> str:
        if not self.judged:
            return "no version has enough live outcomes yet"
        corr = "n/a (fewer than 3 judged or several metrics)" if self.pearson is None else f"{self.pearson:.2f}"
        mean = self.mean_abs_gap or 0.0
        return (f"{len(self.judged)} judged: mean |offline - live| {unit + ' ' if unit else ''}{mean:.3f}, "
                f"Pearson {corr}; beyond the {self.tolerance:g} tolerance: {', '.join(self.beyond_tolerance) or 'none'}")


def relation(pairs: Sequence[MetricPair], tolerance: float) -> Relation:
    if not pairs:
        raise ValueError("no (offline, online) pairs to relate")
    if tolerance < 0:
        raise ValueError("the tolerance is a shortfall of live below offline and must be >= 0")
    if any(p.scale <= 0 for p in pairs):
        raise ValueError("a relation's scale must be > 0")
    return Relation(tuple(pairs), tolerance)
