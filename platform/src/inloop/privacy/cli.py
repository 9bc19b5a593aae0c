"""``inloop forget DOMAIN SUBJECT_ID --reason ...``: erase a person and print the per-store receipt."""

from __future__ import annotations

import dataclasses
import getpass
import json
from typing import Annotated

import typer

__all__ = ["forget_command"]


def forget_command(
    domain: Annotated[str, typer.Argument(help="The domain whose subject to forget (e.g. credit).")],
    subject_id: Annotated[str, typer.Argument(help="The person's id in that domain (credit: application id; "
                                                   "recommender: account id).")],
    reason: Annotated[str, typer.Option(help="Why (e.g. 'GDPR art. 17 request #123'); kept in the register.")] = "",
    requested_by: Annotated[str | None, typer.Option(help="Who asks (default: the OS user).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the receipt as JSON.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show where the person is; change nothing.")] = False,
) -> None:
    """Forget a person: delete or anonymise them in every store, record it in the deletion register."""
    from inloop.privacy import ErasureError, forget, locate

    if dry_run:
        try:
            found = locate(domain, subject_id)
        except ErasureError as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
        if as_json:
            typer.echo(json.dumps([dataclasses.asdict(s) for s in found], indent=2))
            return
        typer.echo(f"{domain}: subject {subject_id} — DRY RUN (nothing changed); an erasure would remove:")
        for s in found:
            typer.echo(f"  {s.store:<34} {s.remaining:>6}" + (f"  ({s.detail})" if s.detail else ""))
        typer.echo(f"  total {sum(s.remaining for s in found)}")
        return
    try:
        receipt = forget(domain, subject_id, reason=reason, requested_by=requested_by or getpass.getuser())
    except ErasureError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(receipt.to_dict(), indent=2))
    else:
        for line in receipt.lines():
            typer.echo(line)
    if receipt.status != "done":
        typer.secho("some stores still hold the subject (see 'remaining'); fix them and run again",
                    fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
