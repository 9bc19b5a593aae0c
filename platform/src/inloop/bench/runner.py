"""Runs every measurement (platform, domains, console) and writes the report."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform as stdlib_platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inloop.bench.end_to_end import end_to_end
from inloop.bench.platform_costs import prediction_log
from inloop.bench.report import Figure, write_report

__all__ = ["run_bench"]

Echo = Callable[[str], None]


def _domain_measurements() -> list[tuple[str, Callable[..., list[Figure]]]]:
    from inloop.domains import discover_domains

    out = []
    for name, domain in discover_domains().items():
        if domain.bench is not None:
            out.append((name, domain.bench()))
    return out


def _console(quick: bool, echo: Echo) -> list[Figure]:
    """The console's page-render benchmark runs in its own process (the platform never imports it)."""
    rows, runs = (100_000, 1) if quick else (1_000_000, 3)
    echo(f"console: rendering every page with {rows:,} logged predictions ({runs} timed render(s) after the cold one)")
    proc = subprocess.run([sys.executable, "-m", "inloop_console.bench_pages", "--rows", str(rows), "--runs", str(runs),
                           "--json"],
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        echo(f"  console benchmark failed: {proc.stderr.strip()[-400:]}")
        return []
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return [Figure(**f) for f in data["figures"]]


def run_bench(*, quick: bool, only: list[str] | None, out_dir: Path, echo: Echo) -> dict[str, Path]:
    started = dt.datetime.now(dt.UTC)
    measurements: list[tuple[str, Callable[..., list[Figure]]]] = [
        ("prediction_log", prediction_log), *_domain_measurements(), ("end_to_end", end_to_end),
        ("console", _console)]
    if only:
        unknown = set(only) - {name for name, _ in measurements}
        if unknown:
            raise ValueError(f"unknown measurement(s) {sorted(unknown)}; known: {[n for n, _ in measurements]}")
        measurements = [(n, m) for n, m in measurements if n in only]
    figures: list[Figure] = []
    for i, (name, measure) in enumerate(measurements, 1):
        echo(f"[{i}/{len(measurements)}] {name}")
        figures += measure(quick, echo)
    meta: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        # Partial runs started in the same second must not overwrite each other's files.
        "stamp": started.strftime("%Y%m%dT%H%M%SZ") + "".join(f"-{n}" for n in only or []) + ("-quick" if quick else ""),
        "mode": "quick" if quick else "full",
        "machine": f"{os.cpu_count()} cores, Python {stdlib_platform.python_version()}, {stdlib_platform.machine()}",
        "measurements": [n for n, _ in measurements],
        "seconds": round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1),
    }
    return write_report(figures, meta, out_dir)
