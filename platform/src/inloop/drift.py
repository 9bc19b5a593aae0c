"""Input drift with Evidently 0.7: one pinned test per column, a machine-readable summary, an HTML report.

Why per column: Evidently's data-drift preset judges the *share* of drifted columns (default
< 0.5), so a single column whose unit changed (seconds to milliseconds) can pass it while every
prediction is garbage. :func:`drift_report` runs a ``ValueDrift`` metric with its own test for
each column, with the method and threshold pinned (Evidently's default method otherwise depends
on the row count, so results would change with batch size), and returns which columns drifted.
The self-contained HTML report is kept under the settings' reports directory as evidence.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from inloop.settings import disable_telemetry, get_settings

__all__ = ["DEFAULT_METHOD", "DEFAULT_THRESHOLD", "ColumnDrift", "DriftSummary", "drift_report"]

#: Population stability index: one scale for numbers and categories, stable across batch sizes.
DEFAULT_METHOD = "psi"
#: PSI above 0.2 is the usual "significant shift" line (0.1 would flag ordinary seasonality).
DEFAULT_THRESHOLD = 0.2


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift test: the score, the pinned method and threshold, and the verdict."""

    column: str
    kind: Literal["numerical", "categorical"]
    method: str
    threshold: float
    score: float | None
    drifted: bool
    description: str = ""


@dataclass(frozen=True)
class DriftSummary:
    """What the drift report found, in a form checks, the console and the metric history read."""

    name: str
    reference_rows: int
    current_rows: int
    columns: list[ColumnDrift]
    report_path: str | None = None
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def drifted_count(self) -> int:
        return len(self.drifted_columns)

    @property
    def drifted_share(self) -> float:
        return self.drifted_count / len(self.columns) if self.columns else 0.0

    def column(self, name: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == name:
                return c
        raise KeyError(f"no drift test for column {name!r}")

    def describe(self) -> str:
        if not self.drifted_columns:
            return f"no drift in {len(self.columns)} columns ({self.current_rows} rows vs {self.reference_rows})"
        moved = ", ".join(f"{c.column} ({c.method} {_fmt(c.score)} > {c.threshold:g})"
                          for c in self.columns if c.drifted)
        return f"{self.drifted_count} of {len(self.columns)} columns drifted: {moved}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "drifted_columns": self.drifted_columns, "drifted_count": self.drifted_count}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "drift"


def _split_columns(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[list[str], list[str]]:
    numerical, categorical = [], []
    for name in columns:
        dtype = frame[name].dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            categorical.append(name)
        else:
            numerical.append(name)
    return numerical, categorical


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    method: str = DEFAULT_METHOD,
    threshold: float = DEFAULT_THRESHOLD,
    per_column: Mapping[str, tuple[str, float]] | None = None,
    name: str = "drift",
    save_html: bool = True,
    report_dir: str | Path | None = None,
) -> DriftSummary:
    """Compare ``current`` with ``reference`` column by column; save the HTML report.

    Args:
        reference: the data the model learned from (or a sample of it).
        current: the batch to judge.
        columns: columns to test (default: every column of ``reference``); numbers and
            categories are told apart by dtype (bool, object and category are categories).
        method, threshold: the pinned Evidently drift method and its threshold for every column
            (for distance methods such as PSI a score above the threshold is drift; for p-value
            methods a score below it; Evidently's own test decides).
        per_column: ``{column: (method, threshold)}`` for columns that need another test.
        name: names the report file (``<reports_dir>/drift/<name>-<UTC time>.html``).
        save_html: keep the self-contained HTML report (about 4 MB) as evidence.
        report_dir: where to keep it (default: ``<reports_dir>/drift``).
    """
    columns = list(columns if columns is not None else reference.columns)
    if not columns:
        raise ValueError("no columns to test for drift")
    for label, frame in (("reference", reference), ("current", current)):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"the {label} data has no column(s) {missing}; it has {list(frame.columns)}")
        if frame.empty:
            raise ValueError(f"the {label} data is empty: drift needs rows on both sides")
    per_column = dict(per_column or {})
    unknown = sorted(set(per_column) - set(columns))
    if unknown:
        raise ValueError(f"per_column names column(s) not tested: {unknown}")

    disable_telemetry()
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    numerical, categorical = _split_columns(reference, columns)
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    pinned = {c: per_column.get(c, (method, threshold)) for c in columns}
    metrics = [ValueDrift(column=c, method=m, threshold=t) for c, (m, t) in pinned.items()]
    report = Report(metrics, include_tests=True)
    # Categories go in as plain strings: the two sides may carry different category lists.
    ref = reference[columns].copy()
    cur = current[columns].copy()
    for c in categorical:
        ref[c], cur[c] = ref[c].astype(str), cur[c].astype(str)
    snapshot = report.run(Dataset.from_pandas(cur, data_definition=definition),
                          Dataset.from_pandas(ref, data_definition=definition))

    raw = snapshot.dict()
    score_by_id = {m["id"]: m.get("value") for m in raw.get("metrics", [])}
    column_by_id = {m["id"]: m["config"]["column"] for m in raw.get("metrics", [])}
    verdicts: dict[str, tuple[bool, str, float | None]] = {}
    for test in raw.get("tests", []):
        metric_id = test.get("metric_config", {}).get("metric_id")
        column = column_by_id.get(metric_id)
        if column is None:
            continue
        score = score_by_id.get(metric_id)
        verdicts[column] = (test.get("status") != "SUCCESS", str(test.get("description", "")),
                            float(score) if isinstance(score, int | float) else None)
    results = []
    for c in columns:
        m, t = pinned[c]
        drifted, description, score = verdicts.get(c, (True, "Evidently returned no test for this column", None))
        results.append(ColumnDrift(c, "categorical" if c in categorical else "numerical", m, t, score, drifted,
                                   description))

    path: str | None = None
    if save_html:
        folder = Path(report_dir) if report_dir else get_settings().reports_dir / "drift"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = folder / f"{_slug(name)}-{stamp}.html"
        snapshot.save_html(str(target))
        path = str(target)
    return DriftSummary(name, len(reference), len(current), results, path)
