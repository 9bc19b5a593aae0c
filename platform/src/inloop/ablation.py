"""Feature ablation: does every data source earn its keep? (ML Test Score data-2, data-3)

A domain groups its features by the data source they come from (:class:`FeatureGroup`) and
supplies one function that trains a model *without* some features and scores it (quality on
held-out data, serving latency per row, model size). :func:`run_ablation` retrains once with
everything and once per group left out, and reports per group the quality the group adds (the
*gain*) beside what it costs (latency, size, the upstream dependency it brings). A group whose gain
is below the domain's declared minimum is a finding: the seed's rule is that every new data source
has to prove itself.

What a group may cost is stated in the project card (``cost_budgets``: milliseconds per row, bytes of
model, money a month where known; per feature group, or per data source over the groups it feeds).
:meth:`AblationReport.with_budgets` judges the measured costs against them (data-3): a group or source
over budget, and a group without any budget, are cost findings.

The report logs itself to an MLflow run as CSV, Markdown and a PNG bar chart
(:meth:`AblationReport.log_to_run`).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from inloop.readiness import rubric

if TYPE_CHECKING:
    from inloop.cards import CostBudget

__all__ = ["AblationReport", "AblationRow", "CostJudgement", "FeatureGroup", "Score", "judge_costs", "run_ablation"]


@dataclass(frozen=True)
class FeatureGroup:
    """Features that arrive together from one data source, and what depending on it means."""

    name: str
    features: tuple[str, ...]
    source: str  # the upstream system / dependency the group adds (who must keep it running)

    def __post_init__(self) -> None:
        if not self.features:
            raise ValueError(f"feature group {self.name!r} has no features")


@dataclass(frozen=True)
class Score:
    """What one trained variant measured: quality (higher is better) and its serving costs."""

    quality: float
    latency_ms_per_row: float
    size_bytes: int
    extra: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class AblationRow:
    group: str
    source: str
    features: str
    quality_without: float
    gain: float  # full-model quality minus quality without the group
    latency_ms_per_row_cost: float  # full-model latency minus latency without the group
    size_bytes_cost: int
    below_min_gain: bool


@dataclass(frozen=True)
class CostJudgement:
    """One card budget against what the ablation measured for its group(s)."""

    target: str  # "feature group x" or "data source y"
    groups: tuple[str, ...]
    ms_per_row: float  # measured: latency the group(s) add per row (a negative, noisy difference counts as 0)
    bytes: int  # measured: model size the group(s) add
    budget_ms_per_row: float | None
    budget_bytes: int | None
    money_per_month: float | None  # known cost a month, where the card states it
    budget_money_per_month: float | None
    currency: str | None
    over: tuple[str, ...]  # what exceeds its budget, one phrase each

    @property
    def within(self) -> bool:
        return not self.over

    def sentence(self) -> str:
        parts = []
        if self.budget_ms_per_row is not None:
            parts.append(f"{self.ms_per_row:.4f} of {self.budget_ms_per_row:g} ms per row")
        if self.budget_bytes is not None:
            parts.append(f"{self.bytes:,} of {self.budget_bytes:,} bytes")
        if self.budget_money_per_month is not None:
            known = "unknown" if self.money_per_month is None else f"{self.money_per_month:g}"
            parts.append(f"{known} of {self.budget_money_per_month:g} {self.currency} a month")
        verdict = "OVER BUDGET (" + "; ".join(self.over) + ")" if self.over else "within budget"
        return f"{self.target}: {', '.join(parts)}: {verdict}"


def judge_costs(rows: Sequence[AblationRow], budgets: Sequence[CostBudget]) -> tuple[list[CostJudgement], list[str]]:
    """Each budget against the measured costs of its group(s); also the groups no budget covers.

    A budget naming a group the ablation does not have is an error (a renamed group must not pass silently).
    """
    by_group = {r.group: r for r in rows}
    judgements: list[CostJudgement] = []
    covered: set[str] = set()
    for budget in budgets:
        groups = (budget.feature_group,) if budget.feature_group else tuple(budget.feature_groups)
        unknown = [g for g in groups if g not in by_group]
        if unknown:
            raise ValueError(f"the cost budget of {budget.target} names feature group(s) {unknown} the ablation "
                             f"does not have (groups: {', '.join(by_group)})")
        covered.update(groups)
        ms = round(sum(max(0.0, by_group[g].latency_ms_per_row_cost) for g in groups), 5)
        size = sum(max(0, by_group[g].size_bytes_cost) for g in groups)
        over = []
        if budget.ms_per_row is not None and ms > budget.ms_per_row:
            over.append(f"{ms:.4f} ms per row > {budget.ms_per_row:g}")
        if budget.bytes is not None and size > budget.bytes:
            over.append(f"{size:,} bytes > {budget.bytes:,}")
        if (budget.money_per_month is not None and budget.known_money_per_month is not None
                and budget.known_money_per_month > budget.money_per_month):
            over.append(f"{budget.known_money_per_month:g} {budget.currency} a month > {budget.money_per_month:g}")
        judgements.append(CostJudgement(budget.target, groups, ms, size, budget.ms_per_row, budget.bytes,
                                        budget.known_money_per_month, budget.money_per_month, budget.currency,
                                        tuple(over)))
    unbudgeted = [r.group for r in rows if r.group not in covered]
    return judgements, unbudgeted


@dataclass(frozen=True)
class AblationReport:
    metric: str
    min_gain: float
    full: Score
    rows: tuple[AblationRow, ...]
    seconds: float
    #: set by :meth:`with_budgets`: the card's budgets judged, and the groups no budget covers
    costs: tuple[CostJudgement, ...] = ()
    unbudgeted: tuple[str, ...] = ()
    budgets_judged: bool = False

    def with_budgets(self, budgets: Sequence[CostBudget]) -> AblationReport:
        """This report with its measured costs judged against the card's ``cost_budgets`` (data-3)."""
        from dataclasses import replace

        judgements, unbudgeted = judge_costs(self.rows, budgets)
        return replace(self, costs=tuple(judgements), unbudgeted=tuple(unbudgeted), budgets_judged=True)

    @property
    def cost_findings(self) -> list[str]:
        """One sentence per budget exceeded and per group without a budget (empty when all are within)."""
        if not self.budgets_judged:
            return []
        return ([c.sentence() for c in self.costs if c.over]
                + [f"feature group {g} has no cost budget in the card: its cost is judged against nothing"
                   for g in self.unbudgeted])

    @property
    def findings(self) -> list[str]:
        """One sentence per group whose gain is below the minimum (empty when every group earns its keep)."""
        return [f"{r.group} ({r.source}) adds {r.gain:+.4f} {self.metric}, below the required {self.min_gain:g}; "
                f"it costs {r.latency_ms_per_row_cost:+.4f} ms per row and {r.size_bytes_cost:+,} bytes"
                for r in self.rows if r.below_min_gain]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.rows])

    def markdown(self) -> str:
        table = self.table().copy()
        table["below_min_gain"] = table["below_min_gain"].map({True: "**YES**", False: "no"})
        lines = [
            f"# Feature ablation (leave one data source out): {self.metric}",
            "",
            f"Full model: {self.metric} {self.full.quality:.4f}, {self.full.latency_ms_per_row:.4f} ms per row, "
            f"{self.full.size_bytes:,} bytes. A group must add at least {self.min_gain:g} {self.metric}.",
            "",
            table.to_markdown(index=False, floatfmt=".4f"),
            "",
            "## Findings",
            "",
            *([f"- {f}" for f in self.findings] or ["- none: every data source earns its keep"]),
        ]
        if self.budgets_judged:
            lines += ["", "## Costs against the card's budgets", "",
                      *[f"- {c.sentence()}" for c in self.costs],
                      *[f"- **{f}**" for f in self.cost_findings if f.startswith("feature group ")
                        and "no cost budget" in f],
                      *([] if self.cost_findings else ["- every budget holds"])]
        return "\n".join(lines) + "\n"

    def bar_chart(self, path: Path) -> Path:
        """Gain per group (bars) against the minimum (dashed line); groups below it in red."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 0.6 * len(self.rows) + 1.8))
        names = [r.group for r in self.rows]
        left.barh(names, [r.gain for r in self.rows],
                  color=["tab:red" if r.below_min_gain else "tab:green" for r in self.rows])
        left.axvline(self.min_gain, color="black", linestyle="--", label=f"minimum {self.min_gain:g}")
        left.set_xlabel(f"{self.metric} gain (full minus without the group)")
        left.set_title("quality each data source adds")
        left.legend(loc="lower right")
        right.barh(names, [r.latency_ms_per_row_cost for r in self.rows], color="tab:gray")
        right.set_xlabel("serving latency it costs (ms per row)")
        right.set_title("cost")
        right.set_yticklabels([])
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path

    def metrics(self) -> dict[str, float]:
        out = {f"ablation_gain_{r.group}": r.gain for r in self.rows}
        out["ablation_findings"] = float(len(self.findings))
        if self.budgets_judged:
            out["ablation_cost_findings"] = float(len(self.cost_findings))
        return out

    def log_to_run(self, run_id: str, folder: str = "ablation") -> None:
        """Log the table (CSV, Markdown), the bar chart (PNG) and a metric per group to an MLflow run."""
        from inloop.tracking import client

        mlc = client()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            self.table().to_csv(out / "ablation.csv", index=False)
            (out / "ablation.md").write_text(self.markdown())
            self.bar_chart(out / "ablation.png")
            mlc.log_artifacts(run_id, str(out), folder)
        for key, value in self.metrics().items():
            mlc.log_metric(run_id, key, value)
        mlc.set_tag(run_id, "inloop.ablation_findings", "; ".join(self.findings)[:4_000] or "none")
        if self.budgets_judged:
            mlc.set_tag(run_id, "inloop.ablation_cost_findings", "; ".join(self.cost_findings)[:4_000] or "none")


@rubric("data-2", "data-3", how="automated", what="leave-one-data-source-out retraining: quality gain vs latency, size and "
        "upstream dependency per feature group; groups below the declared minimum gain are findings")
def run_ablation(groups: Sequence[FeatureGroup], fit_and_score: Callable[[tuple[str, ...]], Score], *,
                 metric: str, min_gain: float) -> AblationReport:
    """Retrain with every feature, then once without each group; ``fit_and_score(dropped)`` does one variant.

    ``dropped`` is the tuple of feature names to leave out (empty for the full model).
    """
    import time

    if not groups:
        raise ValueError("ablation needs at least one feature group")
    names = [g.name for g in groups]
    if len(set(names)) != len(names):
        raise ValueError(f"feature group names must be unique, got {names}")
    if not math.isfinite(min_gain):
        raise ValueError("min_gain must be a finite number")
    started = time.perf_counter()
    full = fit_and_score(())
    rows = []
    for group in groups:
        without = fit_and_score(group.features)
        gain = full.quality - without.quality
        rows.append(AblationRow(
            group=group.name, source=group.source, features=", ".join(group.features),
            quality_without=round(without.quality, 5), gain=round(gain, 5),
            latency_ms_per_row_cost=round(full.latency_ms_per_row - without.latency_ms_per_row, 5),
            size_bytes_cost=int(full.size_bytes - without.size_bytes),
            below_min_gain=bool(gain < min_gain),
        ))
    return AblationReport(metric, min_gain, full, tuple(rows), round(time.perf_counter() - started, 3))

