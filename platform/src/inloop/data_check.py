"""``inloop data check DOMAIN``: what a domain will see from its configured sources, before anything runs.

For each ``data_sources`` entry the domain can read (``<domain>/sources.py: domain_schemas()`` names the
schema each source maps onto), :func:`check_domain` reads the rows as the card says, applies the mapping and reports
row counts per source and period, the mapped, absent, ignored and unmapped columns, the label balance and
what the slice gate will be able to judge (each slice value needs ``min_per_class`` rows of each label
class in the holdout). A source whose mapping does not fit is reported with its problems (a missing
column, an unknown category, a unit stated wrongly) and its owner.

Exit codes: 0 every source can be used and every slice judged; 1 a source cannot be used (nothing would
be trained on it); 2 usage (unknown domain, no readable source); 3 the sources can be used but the gates
cannot judge some slice (a promotion would be refused for lack of rows).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

import pandas as pd
import typer

from inloop.sources import DomainSchema, MappedSource, SourceError, read_source

__all__ = ["DataCheck", "SliceJudgement", "SourceCheck", "check_domain", "data_app"]

HOOK = "domain_schemas"
EXIT_OK, EXIT_SOURCE_UNUSABLE, EXIT_USAGE, EXIT_CANNOT_JUDGE = 0, 1, 2, 3


@dataclass(frozen=True)
class SliceJudgement:
    column: str
    value: str
    rows: int
    holdout_rows: int
    holdout_positives: int
    holdout_negatives: int
    judgeable: bool


@dataclass
class SourceCheck:
    id: str
    owner: str | None
    contact: str | None
    where: str
    usable: bool
    problems: list[str] = field(default_factory=list)
    rows: int = 0
    rows_per_period: dict[str, int] = field(default_factory=dict)
    mapped: dict[str, str] = field(default_factory=dict)
    absent: dict[str, str] = field(default_factory=dict)
    ignored: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    label_balance: dict[str, Any] = field(default_factory=dict)
    holdout_rows: int = 0
    min_per_class: int = 0
    slices: list[SliceJudgement] = field(default_factory=list)

    @property
    def cannot_judge(self) -> list[SliceJudgement]:
        return [s for s in self.slices if not s.judgeable]


@dataclass
class DataCheck:
    domain: str
    sources: list[SourceCheck]
    not_checked: dict[str, str] = field(
        default_factory=dict
    )  # source id -> why (e.g. read by the domain itself)

    @property
    def exit_code(self) -> int:
        if any(not s.usable for s in self.sources):
            return EXIT_SOURCE_UNUSABLE
        if any(s.cannot_judge for s in self.sources):
            return EXIT_CANNOT_JUDGE
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "exit_code": self.exit_code,
            "not_checked": self.not_checked,
            "sources": [
                {**asdict(s), "cannot_judge": [f"{j.column}={j.value}" for j in s.cannot_judge]}
                for s in self.sources
            ],
        }

    def text(self) -> str:
        """The report for a terminal."""
        lines = [f"inloop data check {self.domain}"]
        for s in self.sources:
            lines += [
                "",
                f"source {s.id} — {s.where}",
                f"  owner: {s.owner or '?'} ({s.contact or 'no contact'})",
            ]
            if not s.usable:
                lines.append("  CANNOT BE USED (nothing would be trained on it):")
                lines += [f"    - {p}" for p in s.problems]
                continue
            lines.append(
                f"  rows: {s.rows}"
                + (
                    f" in {len(s.rows_per_period)} periods: "
                    + ", ".join(f"{k} {v}" for k, v in s.rows_per_period.items())
                    if s.rows_per_period
                    else ""
                )
            )
            lines += [f"  note: {n}" for n in s.notes]
            lines.append("  mapped columns:")
            lines += [f"    {k} <- {v}" for k, v in s.mapped.items()]
            if s.absent:
                lines.append("  absent from the source (the model is trained without them):")
                lines += [f"    {k}: {v}" for k, v in s.absent.items()]
            if s.ignored:
                lines.append(f"  ignored source columns: {', '.join(s.ignored)}")
            lines.append(
                "  unmapped source columns (neither mapped nor ignored): "
                + (", ".join(s.unmapped) if s.unmapped else "none")
            )
            if s.label_balance:
                b = s.label_balance
                lines.append(
                    f"  label {b['label']}: {b['positives']} positive, {b['negatives']} negative "
                    f"({b['positive_share']:.1%} positive)"
                )
            if s.slices:
                lines.append(
                    f"  what the slice gate can judge (holdout {s.holdout_rows} rows; each slice needs "
                    f"{s.min_per_class} of each class):"
                )
                for j in s.slices:
                    verdict = "judgeable" if j.judgeable else "CANNOT BE JUDGED (too few rows)"
                    lines.append(
                        f"    {j.column}={j.value}: {j.rows} rows, holdout {j.holdout_rows} "
                        f"({j.holdout_positives} positive / {j.holdout_negatives} negative) — {verdict}"
                    )
        for source_id, why in self.not_checked.items():
            lines += ["", f"source {source_id}: not checked — {why}"]
        verdict = {
            EXIT_OK: "every source usable, every slice judgeable",
            EXIT_SOURCE_UNUSABLE: "a source cannot be used: fix its mapping (or tell its owner)",
            EXIT_CANNOT_JUDGE: "usable, but the slice gate cannot judge some slices: a promotion would be "
            "refused for lack of rows",
        }[self.exit_code]
        return "\n".join([*lines, "", f"result: {verdict} (exit {self.exit_code})"])


def _holdout(frame: pd.DataFrame, schema: DomainSchema) -> pd.Series:
    """Which rows the domain will hold out: its last ``holdout_months`` by event time, else a share."""
    if schema.event_time and schema.event_time in frame and schema.holdout_months:
        months = frame[schema.event_time].dt.year * 12 + frame[schema.event_time].dt.month
        return months > months.max() - schema.holdout_months
    cut = int(round(len(frame) * (1 - schema.holdout_share)))
    return pd.Series([i >= cut for i in range(len(frame))], index=frame.index)


def _source_check(source: Any, schema: DomainSchema, mapped: MappedSource) -> SourceCheck:
    frame = mapped.frame
    check = SourceCheck(
        source.id,
        source.owner,
        source.contact,
        mapped.where,
        True,
        rows=len(frame),
        mapped=mapped.mapped,
        absent=mapped.absent,
        ignored=mapped.ignored,
        unmapped=mapped.unmapped,
        notes=mapped.notes,
        min_per_class=schema.min_per_class,
    )
    if schema.event_time and schema.event_time in frame and len(frame):
        periods = frame[schema.event_time].dt.strftime("%Y-%m").value_counts().sort_index()
        check.rows_per_period = {str(k): int(v) for k, v in periods.items()}
    if not schema.label or schema.label not in frame:
        return check
    y = frame[schema.label].astype(int)
    check.label_balance = {
        "label": schema.label,
        "positives": int(y.sum()),
        "negatives": int(len(y) - y.sum()),
        "positive_share": round(float(y.mean()), 4) if len(y) else 0.0,
    }
    holdout = _holdout(frame, schema)
    check.holdout_rows = int(holdout.sum())
    columns = [c for c in schema.slices if c not in mapped.absent and c in frame] + list(mapped.slices)
    for column in columns:
        values = frame[column].astype(str)
        for value in pd.unique(values):
            rows = values == value
            in_holdout = rows & holdout
            positives = int(y[in_holdout].sum())
            negatives = int(in_holdout.sum()) - positives
            check.slices.append(
                SliceJudgement(
                    column,
                    str(value),
                    int(rows.sum()),
                    int(in_holdout.sum()),
                    positives,
                    negatives,
                    min(positives, negatives) >= schema.min_per_class,
                )
            )
    return check


def _schemas_hook(domain: str, plugin: Any) -> Callable[[], Mapping[str, DomainSchema]]:
    """The domain's ``domain_schemas``: a plugin capability when it has one, else ``<domain>.sources``."""
    hook = getattr(plugin, HOOK, None)
    if hook is not None:
        return hook  # type: ignore[no-any-return]
    try:
        module = importlib.import_module(f"{domain}.sources")
    except ModuleNotFoundError:
        module = None
    hook = getattr(module, HOOK, None)
    if hook is None:
        raise LookupError(
            f"{domain} declares no schema for its sources ({domain}/sources.py: {HOOK}()); "
            "see docs/own-data.md"
        )
    return hook  # type: ignore[no-any-return]


def check_domain(domain: str) -> DataCheck:
    """Read every source of ``domain`` the card configures, map it, and say what the domain will see."""
    from inloop.cards import card_in_force
    from inloop.domains import get_domain

    plugin = get_domain(domain)
    schemas: Mapping[str, DomainSchema] = _schemas_hook(domain, plugin)()
    card = card_in_force(domain, plugin.card_path)
    result = DataCheck(domain, [])
    for source in card.data_sources:
        schema = schemas.get(source.id)
        if schema is None:
            result.not_checked[source.id] = f"the domain reads it itself ({domain} declares no schema for it)"
            continue
        try:
            mapped = read_source(source, schema)
        except SourceError as exc:
            result.sources.append(
                SourceCheck(
                    source.id, source.owner, source.contact, source.read.where(), False, problems=exc.problems
                )
            )
            continue
        result.sources.append(_source_check(source, schema, mapped))
    return result


data_app = typer.Typer(help="A domain's data sources as its card configures them.", no_args_is_help=True)


@data_app.command("check")
def data_check_command(
    domain: Annotated[str, typer.Argument(help="The domain whose configured sources to read (e.g. credit).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Read the configured sources, apply the mappings and print what the domain will see.

    Exit 0: usable and judgeable; 1: a source cannot be used; 2: usage; 3: some slice cannot be judged.
    """
    from inloop.domains import UnknownDomainError

    try:
        result = check_domain(domain)
    except (UnknownDomainError, LookupError) as exc:
        typer.secho(f"error: {exc.args[0] if exc.args else exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if not result.sources:
        typer.secho(f"error: {domain} has no source this command can read", fg=typer.colors.RED, err=True)
        raise typer.Exit(EXIT_USAGE)
    typer.echo(json.dumps(result.to_dict(), indent=2, default=str) if as_json else result.text())
    raise typer.Exit(result.exit_code)
