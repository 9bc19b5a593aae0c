"""Figures, repetition, and the JSON/Markdown/PNG report."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Figure", "Sample", "repeat", "write_report"]


@dataclass(frozen=True)
class Sample:
    """Repeated observations of one quantity (seconds, rows/s, ...)."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)


def repeat(fn: Callable[[], float], runs: int) -> Sample:
    """Call ``fn`` ``runs`` times; it returns the quantity it measured."""
    return Sample(tuple(fn() for _ in range(runs)))


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@dataclass(frozen=True)
class Figure:
    """One row of the benchmark table."""

    group: str
    name: str
    unit: str
    median: float
    min: float
    max: float
    runs: int
    goal: str | None = None
    met: bool | None = None
    note: str = ""
    #: for scaling curves: label -> [[rows, value], ...]; each figure with a series gets a PNG
    series: dict[str, list[list[float]]] = field(default_factory=dict)

    @classmethod
    def of(cls, group: str, name: str, unit: str, sample: Sample, **kwargs: Any) -> Figure:
        return cls(group, name, unit, sample.median, sample.min, sample.max, len(sample.values), **kwargs)


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.01:
        return f"{value:.3f}"
    return f"{value:.2e}"


def markdown(figures: list[Figure], meta: dict[str, Any]) -> str:
    lines = [f"# inloop bench — {meta['started']}", "",
             f"{meta['mode']} run on {meta['machine']}; each figure is the median of repeated runs (min–max).", ""]
    for group in dict.fromkeys(f.group for f in figures):
        lines += [f"## {group}", "", "| figure | median | min–max | runs | goal | met |", "|---|---|---|---|---|---|"]
        for f in (f for f in figures if f.group == group):
            met = "—" if f.met is None else ("yes" if f.met else "**NO**")
            lines.append(f"| {f.name} ({f.unit}) | {_fmt(f.median)} | {_fmt(f.min)}–{_fmt(f.max)} | {f.runs} "
                         f"| {f.goal or ''} | {met} |")
        notes = [f"- {f.name}: {f.note}" for f in figures if f.group == group and f.note]
        lines += ["", *notes, ""] if notes else [""]
    return "\n".join(lines)


def _plot(figure: Figure, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, points in figure.series.items():
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        ax.plot(xs, ys, marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rows")
    ax.set_ylabel(figure.unit)
    ax.set_title(f"{figure.group}: {figure.name}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(figures: list[Figure], meta: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write ``<stamp>.json``, ``<stamp>.md`` and one PNG per scaling series; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = meta["stamp"]
    paths = {"json": out_dir / f"{stamp}.json", "md": out_dir / f"{stamp}.md"}
    paths["json"].write_text(json.dumps({"meta": meta, "figures": [asdict(f) for f in figures]}, indent=2) + "\n")
    paths["md"].write_text(markdown(figures, meta) + "\n")
    for f in figures:
        if f.series:
            slug = "".join(c if c.isalnum() else "-" for c in f"{f.group}-{f.name}".lower()).strip("-")
            paths[slug] = out_dir / f"{stamp}-{slug}.png"
            _plot(f, paths[slug])
    return paths
