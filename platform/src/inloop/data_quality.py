"""Data-quality report for the data owners: per source, the rows that break expectations, with examples.

The seed's way of getting dirty data fixed is to send it back to whoever produces it, with enough
detail that they can find and fix the rows. For each upstream source a domain reads (its
``data_quality_sources`` hook), :func:`build_report` runs the source's Great Expectations suite
through :func:`inloop.validation.validate` and lists, for each broken expectation, the column, the
rule in plain words (with the domain's reason, the expectation's ``meta["why"]``), how many rows
and which share broke it, and a handful of example rows with their row keys. The source's owner
and contact come from the project card (``data_sources``). :func:`write_report` renders it as
Markdown plus one CSV of failing rows per source (one file per owner) under
``<data dir>/reports/<domain>/data-quality/`` (overwritten each time: the report quotes rows, so
old copies are not kept; ``inloop forget`` scrubs this folder too).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from inloop.domains import get_domain
from inloop.settings import get_settings
from inloop.validation import ExpectationOutcome, validate

__all__ = ["Finding", "QualityReport", "QualitySource", "SourceReport", "build_report", "plain_rule",
           "write_report"]

HOOK = "data_quality_sources"


@dataclass(frozen=True)
class QualitySource:
    """One upstream dataset: how to load it, what it must look like, and how its rows are named.

    ``load`` returns the current data (None when there is none yet, e.g. an empty inbox);
    ``expectations`` builds the GX expectations (it sees the frame, for rules that depend on it);
    ``key_columns`` are what the owner knows a row by (shown with every example); ``label`` says
    which snapshot was checked (a batch id), given the frame.
    """

    id: str
    load: Callable[[], pd.DataFrame | None]
    expectations: Callable[[pd.DataFrame], Sequence[Any]]
    key_columns: tuple[str, ...] = ()
    label: Callable[[pd.DataFrame], str] | None = None


@dataclass
class Finding:
    column: str | None
    rule: str
    expectation: str
    failing_rows: int | None  # None: a batch-level rule (a median), or it could not be evaluated
    share: float | None
    observed: Any = None
    error: str | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # positions of every failing row (for the CSV)


@dataclass
class SourceReport:
    id: str
    description: str
    owner: str | None
    contact: str | None
    rows: int
    label: str = ""
    rows_breaking: int = 0
    findings: list[Finding] = field(default_factory=list)
    note: str | None = None  # e.g. "no batch in the inbox yet"
    frame: pd.DataFrame | None = field(default=None, repr=False)
    key_columns: tuple[str, ...] = ()

    @property
    def share_breaking(self) -> float:
        return self.rows_breaking / self.rows if self.rows else 0.0

    @property
    def clean(self) -> bool:
        return not self.findings


@dataclass
class QualityReport:
    domain: str
    generated_at: dt.datetime
    sources: list[SourceReport]

    @property
    def clean(self) -> bool:
        return all(s.clean for s in self.sources)

    def markdown(self) -> str:
        return _render_markdown(self)

    def failing_rows(self, source_id: str) -> pd.DataFrame:
        """One line per (row, broken rule) of a source: what the owner fixes."""
        source = next((s for s in self.sources if s.id == source_id), None)
        if source is None:
            raise KeyError(f"no source {source_id!r} in the report (sources: {', '.join(s.id for s in self.sources)})")
        return _failing_rows(source)


# Rules in plain words --------------------------------------------------------------------------


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def plain_rule(outcome: ExpectationOutcome) -> str:
    """The expectation as a sentence a data owner understands, with the domain's reason."""
    kind, col, kw = outcome.expectation, outcome.column or "?", outcome.kwargs
    lo, hi = kw.get("min_value"), kw.get("max_value")

    def bounds() -> str:
        if lo is not None and hi is not None:
            return f"between {_num(lo)} and {_num(hi)}"
        return f"at least {_num(lo)}" if lo is not None else f"at most {_num(hi)}"

    if kind == "expect_column_values_to_not_be_null":
        text = f"{col} must be filled in"
    elif kind == "expect_column_values_to_be_unique":
        text = f"{col} must be unique (no two rows with the same value)"
    elif kind == "expect_column_values_to_be_between":
        text = f"{col} must be {bounds()}"
    elif kind == "expect_column_values_to_be_in_set":
        values = [str(v) for v in kw.get("value_set") or []]
        shown = ", ".join(values[:10]) + (f" (+{len(values) - 10} more)" if len(values) > 10 else "")
        text = f"{col} must be one of: {shown}"
    elif kind == "expect_column_median_to_be_between":
        text = f"the median of {col} over the batch must be {bounds()}"
    elif kind == "expect_column_mean_to_be_between":
        text = f"the mean of {col} over the batch must be {bounds()}"
    elif kind == "expect_column_to_exist":
        text = f"column {col} must be present"
    elif kind == "expect_column_values_to_match_regex":
        text = f"{col} must match the pattern {kw.get('regex')}"
    else:
        text = outcome.description
    why = (outcome.meta or {}).get("why")
    return f"{text} — {why}" if why else text


# Building ----------------------------------------------------------------------------------------


def _sources(domain: str) -> list[QualitySource]:
    declared = get_domain(domain).data_quality_sources
    if declared is None:
        raise LookupError(f"domain {domain!r} has no {HOOK!r} hook (a field of its DomainPlugin): it declares no "
                          "upstream sources to report on")
    return list(declared())


def _examples(frame: pd.DataFrame, rows: list[int], column: str | None, keys: tuple[str, ...],
              limit: int) -> list[dict[str, Any]]:
    out = []
    for position in rows[:limit]:
        row = frame.iloc[int(position)]
        example: dict[str, Any] = {"row": int(position)}
        for key in keys:
            if key in frame.columns:
                example[key] = _cell(row[key])
        if column is not None and column in frame.columns and column not in keys:
            example[column] = _cell(row[column])
        out.append(example)
    return out


def _cell(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.isoformat()
    return None if value is pd.NA or value is pd.NaT else value


def _source_report(domain: str, source: QualitySource, frame: pd.DataFrame | None, card_sources: Mapping[str, Any],
                   examples: int) -> SourceReport:
    card = card_sources.get(source.id)
    report = SourceReport(id=source.id, description=getattr(card, "description", "") or "",
                          owner=getattr(card, "owner", None), contact=getattr(card, "contact", None),
                          rows=0, key_columns=source.key_columns)
    if frame is None:
        report.note = "no data to check yet"
        return report
    frame = frame.reset_index(drop=True)  # failing rows are reported by position
    report.rows, report.frame = len(frame), frame
    report.label = source.label(frame) if source.label else ""
    summary = validate(frame, list(source.expectations(frame)), f"{domain}_{source.id}_quality")
    report.rows_breaking = len(summary.failing_row_indices)
    for outcome in summary.failed:
        rows = [int(r) for r in outcome.failing_rows]
        count = outcome.unexpected_count if outcome.error is None else None
        report.findings.append(Finding(
            column=outcome.column, rule=plain_rule(outcome), expectation=outcome.description,
            failing_rows=count, share=(count / len(frame) if count is not None and len(frame) else None),
            observed=outcome.observed_value, error=outcome.error,
            examples=_examples(frame, rows, outcome.column, source.key_columns, examples), rows=rows,
        ))
    return report


def build_report(domain: str, *, frames: Mapping[str, pd.DataFrame | None] | None = None,
                 only: Sequence[str] | None = None, examples: int = 5) -> QualityReport:
    """Check every source of ``domain`` (or ``only`` these) and collect what breaks, per source.

    ``frames`` supplies data for some sources directly (a pipeline passes the batch it holds);
    the others are loaded through the hook.
    """
    if examples < 0:
        raise ValueError("examples must be 0 or more")
    sources = _sources(domain)
    known = [s.id for s in sources]
    wanted = list(only) if only else known
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise KeyError(f"{domain} has no source(s) {', '.join(unknown)}; its sources are {', '.join(known)}")
    from inloop.cards import card_in_force

    # The card in force: an overlay (INLOOP_CARD_OVERLAYS) may name other sources and owners.
    card_sources = {s.id: s for s in card_in_force(domain, get_domain(domain).card_path).data_sources}
    reports = []
    for source in sources:
        if source.id not in wanted:
            continue
        frame = frames[source.id] if frames and source.id in frames else source.load()
        reports.append(_source_report(domain, source, frame, card_sources, examples))
    return QualityReport(domain, dt.datetime.now(dt.UTC), reports)


# Rendering ---------------------------------------------------------------------------------------


def _failing_rows(source: SourceReport) -> pd.DataFrame:
    columns = ["source", "row", *source.key_columns, "column", "value", "rule"]
    lines = []
    frame = source.frame
    for finding in source.findings:
        for position in finding.rows:
            row = frame.iloc[position] if frame is not None else None
            frame_columns = frame.columns if frame is not None else ()
            line = {"source": source.id, "row": position, "column": finding.column, "rule": finding.rule,
                    "value": _cell(row[finding.column]) if row is not None and finding.column in frame_columns
                    else None}
            for key in source.key_columns:
                line[key] = _cell(row[key]) if row is not None and key in frame_columns else None
            lines.append(line)
    return pd.DataFrame(lines, columns=columns)


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _render_markdown(report: QualityReport) -> str:
    out = [f"# Data quality report: {report.domain}", "",
           f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by `inloop data-quality {report.domain}`. "
           f"{len(report.sources)} source(s); "
           f"{sum(not s.clean for s in report.sources)} with rows or batches that break expectations.", ""]
    for source in report.sources:
        owner = source.owner or "owner not named in the project card (data_sources)"
        out += [f"## {source.id}" + (f" ({source.label})" if source.label else ""), "",
                f"**To:** {owner}" + (f" <{source.contact}>" if source.contact else ""), ""]
        if source.description:
            out += [source.description, ""]
        if source.note:
            out += [f"_{source.note}._", ""]
            continue
        if source.clean:
            out += [f"All {source.rows:,} rows meet every expectation. Nothing to fix.", ""]
            continue
        out += [f"{source.rows:,} rows checked; **{source.rows_breaking:,} rows ({source.share_breaking:.2%})** break at "
                "least one row rule. Please fix them at the source; every failing row is listed in "
                f"`failing-rows-{source.id}.csv`.", "",
                "| column | rule | failing rows | share |", "| --- | --- | ---: | ---: |"]
        for f in source.findings:
            if f.error:
                count, share = "could not be checked", _md_cell(f.error.splitlines()[0][:120])
            elif f.failing_rows is None:
                count, share = f"batch: observed {_num(f.observed)}", "—"
            else:
                count, share = f"{f.failing_rows:,}", f"{f.share:.2%}"
            out.append(f"| {_md_cell(f.column or '—')} | {_md_cell(f.rule)} | {count} | {share} |")
        out.append("")
        for f in source.findings:
            if not f.examples:
                continue
            keys = list(f.examples[0])
            out += [f"Examples — {_md_cell(f.rule.split(' — ')[0])}:", "", "| " + " | ".join(keys) + " |",
                    "|" + " --- |" * len(keys)]
            out += ["| " + " | ".join(_md_cell(e.get(k)) for k in keys) + " |" for e in f.examples]
            out.append("")
    return "\n".join(out)


def write_report(report: QualityReport, out_dir: Path | None = None) -> dict[str, Path]:
    """Write ``data-quality.md`` and ``failing-rows-<source>.csv`` (replacing the previous report)."""
    folder = out_dir or get_settings().reports_dir / report.domain / "data-quality"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("failing-rows-*.csv"):
        old.unlink()
    paths = {"markdown": folder / "data-quality.md"}
    paths["markdown"].write_text(report.markdown() + "\n", encoding="utf-8")
    for source in report.sources:
        if source.findings:
            path = folder / f"failing-rows-{source.id}.csv"
            _failing_rows(source).to_csv(path, index=False)
            paths[source.id] = path
    return paths
