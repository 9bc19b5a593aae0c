"""Data validation with Great Expectations (GX Core 1.x) on pandas DataFrames.

:func:`validate` runs a list of expectations in an ephemeral GX context (no project folder,
analytics and progress bars off) and returns a :class:`ValidationSummary` that the concern
checks, the console and the data-owner reports read: per expectation its success, how many
rows broke it, examples, and the share of rows that broke *any* expectation.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from inloop.settings import disable_telemetry

__all__ = ["ExpectationOutcome", "ValidationSummary", "validate"]

_context_lock = threading.Lock()
_context: Any = None


def _gx_context() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            disable_telemetry()
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            ctx = gx.get_context(mode="ephemeral")
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
            _context = ctx
        return _context


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    kwargs: dict[str, Any]
    success: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    examples: list[Any] = field(default_factory=list)
    observed_value: Any = None
    error: str | None = None
    #: the expectation's ``meta`` (domains put the rule's reason in plain words under ``why``)
    meta: dict[str, Any] = field(default_factory=dict)
    #: index labels of the rows that broke it (with ``collect_rows``; row-wise expectations only)
    failing_rows: list[Any] = field(default_factory=list)

    @property
    def description(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.kwargs.items() if k not in ("column", "batch_id"))
        return f"{self.expectation}({self.column or ''}{', ' if args and self.column else ''}{args})"


@dataclass(frozen=True)
class ValidationSummary:
    suite: str
    success: bool
    rows: int
    outcomes: list[ExpectationOutcome]
    failing_row_indices: list[Any] = field(default_factory=list)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    @property
    def failing_row_share(self) -> float:
        """Share of rows that broke at least one row-wise expectation (0.0 for an empty batch)."""
        return len(self.failing_row_indices) / self.rows if self.rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"suite": self.suite, "success": self.success, "rows": self.rows,
                "failing_row_share": self.failing_row_share,
                "outcomes": [{k: v for k, v in asdict(o).items() if k != "failing_rows"} for o in self.outcomes]}

    def describe_failures(self, limit: int = 5) -> str:
        parts = []
        for o in self.failed[:limit]:
            if o.error:
                count = f"could not be evaluated ({o.error.splitlines()[0][:200]})"
            elif o.unexpected_count is not None:
                count = f"{o.unexpected_count} rows"
            else:
                count = f"observed {o.observed_value}"
            examples = f", e.g. {o.examples[:3]}" if o.examples else ""
            parts.append(f"{o.description}: {count}{examples}")
        more = f" (+{len(self.failed) - limit} more)" if len(self.failed) > limit else ""
        return "; ".join(parts) + more if parts else "all expectations met"


def _exception_message(info: dict[str, Any] | None) -> str | None:
    """GX reports errors flat ({raised_exception, exception_message}) or keyed by metric."""
    if not info:
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "expectation raised an error")
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "expectation raised an error")
    return None


def validate(df: pd.DataFrame, expectations: Sequence[Any], suite_name: str,
             *, collect_rows: bool = True) -> ValidationSummary:
    """Run GX ``expectations`` (``gx.expectations.Expect...`` objects) on ``df``.

    ``collect_rows`` asks GX for the index of every failing row (needed for the failing-row
    share and data-owner reports); turn it off on very large batches when only counts matter.
    """
    import great_expectations as gx

    if not expectations:
        raise ValueError(f"suite {suite_name!r} has no expectations")
    ctx = _gx_context()
    name = f"{suite_name}-{uuid.uuid4().hex[:8]}"
    with _context_lock:  # the ephemeral context's registries are not thread-safe
        source = ctx.data_sources.add_pandas(name)
        batch_def = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
        suite = gx.ExpectationSuite(name=name)
        for expectation in expectations:
            suite.add_expectation(expectation.copy() if hasattr(expectation, "copy") else expectation)
        suite = ctx.suites.add(suite)
        vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
    try:
        fmt = {"result_format": "COMPLETE" if collect_rows else "SUMMARY", "partial_unexpected_count": 5}
        result = vd.run(batch_parameters={"dataframe": df}, result_format=fmt)
    finally:
        with _context_lock:
            ctx.validation_definitions.delete(name)
            ctx.suites.delete(name)
            ctx.data_sources.delete(name)
    outcomes: list[ExpectationOutcome] = []
    failing: set[Any] = set()
    for res in result.results:
        config = res.expectation_config
        info = res.result or {}
        kwargs = {k: _plain(v) for k, v in config.kwargs.items() if k != "batch_id"}
        error = _exception_message(res.exception_info)
        if error is not None:
            # The expectation could not even be evaluated (e.g. the column is missing): the
            # batch does not have the agreed shape, so every row counts as breaking it.
            failing.update(df.index.tolist())
        elif not res.success:
            failing.update(_plain(info.get("unexpected_index_list") or []))
        outcomes.append(ExpectationOutcome(
            expectation=config.type, column=kwargs.get("column"), kwargs=kwargs, success=bool(res.success),
            unexpected_count=info.get("unexpected_count"),
            unexpected_percent=_plain(info.get("unexpected_percent")),
            examples=_plain(info.get("partial_unexpected_list") or []),
            observed_value=_plain(info.get("observed_value")), error=error,
            meta=_plain(dict(config.meta or {})),
            failing_rows=_plain(info.get("unexpected_index_list") or []) if error is None and not res.success else [],
        ))
    return ValidationSummary(suite_name, bool(result.success), len(df), outcomes, sorted(failing, key=str))
