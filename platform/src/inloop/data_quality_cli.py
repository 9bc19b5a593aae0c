"""``inloop data-quality DOMAIN``: the per-source report for the data owners, printed and written."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["data_quality_command"]


def data_quality_command(
    domain: Annotated[str, typer.Argument(help="The domain whose upstream sources to check (e.g. credit).")],
    source: Annotated[list[str] | None, typer.Option(help="Only this source (repeatable).")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for data-quality.md and failing-rows-*.csv "
                                                  "(default: <data dir>/reports/<domain>/data-quality).")] = None,
    examples: Annotated[int, typer.Option(min=0, max=100, help="Example rows per broken rule.")] = 5,
    fail_on_findings: Annotated[bool, typer.Option(help="Exit 1 when any source breaks an expectation.")] = False,
) -> None:
    """Per source: the rows that break expectations, with examples, ready to send to the data owner."""
    from inloop.data_quality import build_report, write_report
    from inloop.domains import UnknownDomainError

    try:
        report = build_report(domain, only=source, examples=examples)
    except (UnknownDomainError, LookupError) as exc:
        typer.secho(f"error: {exc.args[0] if exc.args else exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(report.markdown())
    paths = write_report(report, out)
    typer.echo("written: " + ", ".join(str(p) for p in paths.values()))
    if fail_on_findings and not report.clean:
        raise typer.Exit(1)
