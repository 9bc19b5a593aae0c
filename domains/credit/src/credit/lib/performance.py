"""Credit's performance before the labels arrive: per month of granted loans, the AUC and default rate
estimated from the champion's probability of default (CBPE, :mod:`inloop.performance_estimation`),
beside the realised figures as core banking's outcomes land, a year later.

The judged population is the granted loans (``decision == "approve"``, the live test set included):
they are the loans whose outcome core banking will report, so estimate and realised figure are about
the same loans. Only labels observed by ``now`` count: a monitor never sees an outcome before it arrived.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from credit.lib.decision import COMPONENT
from inloop import db
from inloop.db.models import Label, Prediction
from inloop.performance_estimation import PeriodJudgement, PeriodPerformance, estimate_by_period, judge_period

__all__ = [
    "MIN_LABEL_COVERAGE",
    "MIN_MONTH_LOANS",
    "RECENT_MONTHS",
    "MonthlyPerformance",
    "granted_loans",
    "monthly_performance",
]

#: Months shown and judged: the twelve the labels take to arrive, and three whose labels have landed.
RECENT_MONTHS = 15
#: A month's estimate is judged against its realised figure once this share of its loans is labelled.
MIN_LABEL_COVERAGE = 0.9
#: A month is judged once it holds this many granted loans (a month just begun is shown, not judged).
MIN_MONTH_LOANS = 300


def granted_loans(model_version: str | None, *, label_name: str, observed_by: dt.datetime) -> pd.DataFrame:
    """Every granted loan the model version decided (all versions when None): month applied, probability of
    default, and the outcome when it was observed by ``observed_by`` (NaN while it has not arrived)."""
    query = sa.select(Prediction.request_id, Prediction.features, Prediction.output).where(
        Prediction.domain == "credit", Prediction.component == COMPONENT
    )
    if model_version is not None:
        query = query.where(Prediction.model_version == str(model_version))
    labels = (
        sa.select(Label.request_id, Label.value)
        .where(Label.domain == "credit", Label.name == label_name, Label.observed_at <= observed_by)
        .order_by(Label.id)
    )
    with db.read_session() as sess:
        rows = sess.execute(query).all()
        arrived = dict(sess.execute(labels).tuples().all())  # a repeated label: the latest counts
    records = [
        {
            "request_id": r.request_id,
            "month": str(r.features.get("applied_at", ""))[:7],
            "probability_of_default": float(r.output["probability_of_default"]),
            "defaulted": arrived.get(r.request_id, np.nan),
        }
        for r in rows
        if r.output.get("decision") == "approve"
    ]
    return pd.DataFrame(records, columns=["request_id", "month", "probability_of_default", "defaulted"])


def _month(value: dt.datetime, back: int = 0) -> str:
    index = value.year * 12 + value.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class MonthlyPerformance:
    """The recent months' estimated and realised performance of one model version, judged."""

    model_version: str | None
    now: dt.datetime
    months: list[PeriodPerformance]  # oldest first
    reference: PeriodPerformance | None  # the version's first month with enough loans
    min_loans: int = MIN_MONTH_LOANS
    min_coverage: float = MIN_LABEL_COVERAGE

    def month(self, period: str) -> PeriodPerformance:
        for row in self.months:
            if row.period == period:
                return row
        raise KeyError(f"no month {period} (months: {', '.join(r.period for r in self.months) or 'none'})")

    def reference_value(self, metric: str) -> float | None:
        """The reference month's realised figure once its labels have landed, else its estimate."""
        ref = self.reference
        if ref is None:
            return None
        estimate, realised = (
            (ref.estimated_auc, ref.realised_auc) if metric == "auc" else (ref.estimated_rate, ref.realised_rate)
        )
        return realised if realised is not None and ref.label_coverage >= self.min_coverage else estimate

    def judged(self, metric: str) -> list[PeriodJudgement]:
        """Each judged month's distance: to its realised figure once labelled, else to the reference."""
        reference = self.reference_value(metric)
        if reference is None:
            return []
        out = []
        for row in self.months:
            if row.predictions < self.min_loans:
                continue
            judgement = judge_period(row, metric, reference, min_coverage=self.min_coverage)
            if judgement is not None:
                out.append(judgement)
        return out

    def worst(self, metric: str) -> PeriodJudgement | None:
        return max(self.judged(metric), key=lambda j: j.value, default=None)

    def table(self) -> list[dict[str, Any]]:
        return [row.as_dict() for row in self.months]


def monthly_performance(
    model_version: str | None,
    *,
    label_name: str,
    now: dt.datetime,
    months: int = RECENT_MONTHS,
    min_loans: int = MIN_MONTH_LOANS,
) -> MonthlyPerformance:
    """CBPE per month of granted loans for the ``months`` months up to ``now``, with realised figures from
    the labels observed by ``now``."""
    loans = granted_loans(model_version, label_name=label_name, observed_by=now)
    loans = loans[(loans["month"] != "") & (loans["month"] <= _month(now))]
    rows = estimate_by_period(loans, period="month", score="probability_of_default", label="defaulted")
    first = _month(now, back=months - 1)
    reference = next((r for r in rows if r.predictions >= min_loans), None)
    return MonthlyPerformance(
        model_version, now, [r for r in rows if r.period >= first], reference, min_loans=min_loans
    )
