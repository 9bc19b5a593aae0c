"""``python -m invoice_ocr.world``: regenerate the world evaluation set (needs Chromium)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from invoice_ocr.world.build import build_world

_DEFAULT_OUT = Path("domains/invoice_ocr/evaluation/world")


def main(
    out: Annotated[Path, typer.Option(help="Folder to write the set into.")] = _DEFAULT_OUT,
    seed: Annotated[int, typer.Option(help="The set's seed; the same seed gives the same documents.")] = 2026,
    only: Annotated[
        int | None, typer.Option(help="Only the first N planned documents (a quick look).")
    ] = None,
) -> None:
    """Render the world set: born-digital, scanned and e-invoices, each with its ground truth."""
    typer.echo(f"building the world set into {out} (seed {seed}) ...")
    manifest = build_world(out, seed, log=typer.echo, only=only)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    typer.echo(f"{len(manifest)} documents, {size / 1e6:.1f} MB in {out}")


if __name__ == "__main__":
    typer.run(main)
