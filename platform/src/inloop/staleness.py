"""The impact of model staleness, measured, and the age limit it implies (ML Test Score model-4, monitor-4).

From time-ordered data a domain trains models up to several moments T and scores each on the
windows after T (:class:`StalenessPoint`: the model's age at the window and the quality there).
:class:`StalenessCurve` averages quality per age and derives the **age limit**: the oldest age at
which the measured value still meets the card's threshold at that age and every younger one. The
curve is stored with the model (CSV + PNG + the ``staleness_limit_days`` metric on its MLflow run),
and the staleness check reads the limit back (:func:`logged_staleness_limit`) instead of a guess.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from inloop.cards import Threshold
from inloop.readiness import rubric

__all__ = ["LIMIT_METRIC", "StalenessCurve", "StalenessPoint", "champion_age_days", "derived_threshold",
           "logged_staleness_limit"]

#: The metric on a model's MLflow run that holds its derived age limit (days).
LIMIT_METRIC = "staleness_limit_days"


@dataclass(frozen=True)
class StalenessPoint:
    trained_until: str  # the end of the model's training data (ISO date)
    age_days: float  # how old the model is at the end of the scored window
    quality: float  # the domain's quality metric on that window (e.g. AUC, recall@10)
    value: float  # what the threshold is applied to (e.g. AUC drop vs a fresh model, lift over popularity)
    rows: int


@dataclass(frozen=True)
class StalenessCurve:
    """Quality by model age, and the age limit the card's threshold implies."""

    metric: str  # the name of ``quality``
    value_name: str  # the name of ``value``
    threshold: Threshold  # applied to ``value``
    points: tuple[StalenessPoint, ...]

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a staleness curve needs at least one point")

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(p) for p in self.points])

    def by_age(self) -> pd.DataFrame:
        """Mean quality and value per age over the training moments, youngest first."""
        grouped = self.table().groupby("age_days").agg(quality=("quality", "mean"), value=("value", "mean"),
                                                       models=("trained_until", "nunique"), rows=("rows", "sum"))
        grouped["holds"] = grouped["value"].map(self.threshold.holds)
        return grouped.reset_index()

    @property
    def limit_days(self) -> float:
        """The oldest measured age whose value (and every younger one's) meets the threshold; 0 if none does."""
        limit = 0.0
        for row in self.by_age().itertuples(index=False):
            if not row.holds:
                break
            limit = float(row.age_days)
        return limit

    @property
    def censored(self) -> bool:
        """True when quality never fell below the threshold in the measured range (the limit is a lower bound)."""
        return bool(self.by_age()["holds"].all())

    def describe(self) -> str:
        measured = float(self.by_age()["age_days"].max())
        if self.censored:
            return (f"{self.value_name} meets {self.threshold} at every age measured (up to {measured:g} days): "
                    f"age limit {self.limit_days:g} days, a lower bound")
        return (f"{self.value_name} stops meeting {self.threshold} after {self.limit_days:g} days "
                f"(measured up to {measured:g} days)")

    def chart(self, path: Path) -> Path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        table, mean = self.table(), self.by_age()
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        for trained_until, points in table.groupby("trained_until"):
            left.plot(points["age_days"], points["quality"], marker=".", alpha=0.4, label=f"trained to {trained_until}")
        left.plot(mean["age_days"], mean["quality"], marker="o", color="black", label="mean")
        left.set_xlabel("model age (days)")
        left.set_ylabel(self.metric)
        left.set_title(f"{self.metric} by model age")
        left.legend(fontsize=7)
        right.plot(mean["age_days"], mean["value"], marker="o", color="black")
        right.axhline(self.threshold.value, color="tab:red", linestyle="--", label=f"threshold {self.threshold}")
        right.axvline(self.limit_days, color="tab:blue", linestyle=":", label=f"age limit {self.limit_days:g} d")
        right.set_xlabel("model age (days)")
        right.set_ylabel(self.value_name)
        right.set_title("the age limit the threshold implies")
        right.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path

    @rubric("model-4", how="automated", what="model-age vs quality curve from time-ordered data, logged with the model "
            "(CSV, PNG and the derived age limit)")
    def log_to_run(self, run_id: str, folder: str = "staleness") -> None:
        """Store the curve with the model: CSV, PNG, the limit as a metric and how it was derived."""
        from inloop.tracking import client

        mlc = client()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            self.table().to_csv(out / "staleness_curve.csv", index=False)
            self.by_age().to_csv(out / "staleness_by_age.csv", index=False)
            self.chart(out / "staleness_curve.png")
            mlc.log_artifacts(run_id, str(out), folder)
        mlc.log_metric(run_id, LIMIT_METRIC, self.limit_days)
        mlc.set_tag(run_id, "inloop.staleness", self.describe())


def champion_age_days(model_name: str, now: dt.datetime | None = None) -> tuple[str, float, str]:
    """(version, days since the ``champion`` version was registered, its run id)."""
    from inloop.tracking import champion_version, client

    version = champion_version(model_name)
    if version is None:
        raise LookupError(f"no champion for {model_name}: train and promote one first")
    mv = client().get_model_version(model_name, version)
    created = dt.datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=dt.UTC)
    return str(mv.version), ((now or dt.datetime.now(dt.UTC)) - created).total_seconds() / 86_400, mv.run_id


def logged_staleness_limit(run_id: str) -> float | None:
    """The age limit stored with the model run (None when no curve was logged for it)."""
    from inloop.tracking import client

    value = client().get_run(run_id).data.metrics.get(LIMIT_METRIC)
    return None if value is None else float(value)


@rubric("monitor-4", how="automated", what="the staleness check's threshold: the age limit from the model's staleness curve, "
        "never looser than the card's ceiling")
def derived_threshold(limit_days: float | None, ceiling: Threshold) -> Threshold | None:
    """The age threshold a staleness check applies: the curve's limit, capped by the card's ``<=`` ceiling.

    The card's value stays the ceiling because an age limit also catches a retraining that stopped
    (a process failure), which no quality curve measures. None when no curve was logged.
    """
    if ceiling.op not in ("<=", "<"):
        raise ValueError(f"a model-age threshold must be an upper bound (<= or <), not {ceiling.op}")
    if limit_days is None:
        return None
    return Threshold(op=ceiling.op, value=min(float(limit_days), ceiling.value))
