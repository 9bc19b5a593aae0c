"""Has computing performance regressed? A new bench result beside the last committed one, figure by figure.

Figures are matched by group and name, in runs of the same mode (quick with quick, full with full).
Only figures whose unit says which way is better are judged: times and memory (``ms``, ``s``,
``MiB``) must not grow, throughputs (``.../s``, ``.../min``) must not shrink, by more than the
tolerance (``settings.bench_regression_tolerance``, relative). Ratios, counts and slopes are shown,
not judged. Each regression raises an alert (domain ``platform``, grouped per figure).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from inloop.readiness import rubric
from inloop.settings import get_settings

__all__ = ["Comparison", "FigureDelta", "baseline_for", "compare_results", "direction", "load_result",
           "newest_committed"]

#: ``x bare``: a cost ratio, the platform's time over the bare work's time in the same run (``inloop bench watch``).
LOWER_IS_BETTER = {"ms", "s", "seconds", "mib", "mb", "gib", "gb", "kib", "bytes", "x bare"}


def direction(unit: str) -> Literal["lower", "higher"] | None:
    """Which way is better for a figure's unit, or None when the unit does not say."""
    u = unit.strip().lower()
    if u in LOWER_IS_BETTER:
        return "lower"
    if u.endswith(("/s", "/min", "/h")):
        return "higher"
    return None


def load_result(path: Path) -> dict[str, Any]:
    """A bench result JSON (``meta`` and ``figures``), with a clear error for anything else."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"no bench result at {path}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("figures"), list) or not isinstance(data.get("meta"), dict):
        raise ValueError(f"{path} is not a bench result (needs 'meta' and a 'figures' list; see inloop.bench.report)")
    for i, f in enumerate(data["figures"]):
        missing = {"group", "name", "unit", "median"} - set(f)
        if missing:
            raise ValueError(f"{path}: figure {i} lacks {sorted(missing)}")
    return data


def _committed(folder: Path) -> list[Path]:
    """The JSON results under ``folder`` that git tracks (all of them when git cannot say)."""
    every = sorted(folder.glob("*.json"))
    try:
        out = subprocess.run(["git", "ls-files", "--", "*.json"], cwd=folder, capture_output=True, text=True,
                             timeout=20, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return every
    tracked = {(folder / p).resolve() for p in out}
    return [p for p in every if p.resolve() in tracked] if tracked else every


def newest_committed(folder: Path, measurement: str, *, modes: tuple[str, ...] | None = None) -> Path | None:
    """The newest committed result under ``folder`` (by its start time) that ran ``measurement``
    (``credit``, ``recommender``, ... as listed in its ``meta.measurements``), of one of ``modes`` (``quick``,
    ``full``, ``watch``; any when None); None when there is none. Compare like with like: a ``watch`` run has
    none of a full run's figures."""
    found = []
    for path in _committed(folder):
        try:
            meta = load_result(path)["meta"]
        except ValueError:
            continue  # not a bench result: never a baseline
        if modes is not None and meta.get("mode") not in modes:
            continue
        if measurement in (meta.get("measurements") or []):
            found.append((str(meta.get("started", "")), path))
    return max(found)[1] if found else None


def baseline_for(new: Path, folder: Path | None = None) -> dict[tuple[str, str], tuple[dict[str, Any], Path]]:
    """For each figure of ``new``: the same figure in the newest committed result of the same mode."""
    new_data = load_result(new)
    mode, started = new_data["meta"].get("mode"), str(new_data["meta"].get("started", ""))
    candidates = []
    for path in _committed(folder or Path(new).parent):
        if path.resolve() == Path(new).resolve():
            continue
        try:
            data = load_result(path)
        except ValueError:
            continue
        if data["meta"].get("mode") == mode and str(data["meta"].get("started", "")) <= started:
            candidates.append((str(data["meta"].get("started", "")), path, data))
    out: dict[tuple[str, str], tuple[dict[str, Any], Path]] = {}
    for _, path, data in sorted(candidates, key=lambda c: c[0]):  # newest last, so it wins
        for f in data["figures"]:
            out[(f["group"], f["name"])] = (f, path)
    return out


@dataclass(frozen=True)
class FigureDelta:
    group: str
    name: str
    unit: str
    baseline: float
    new: float
    baseline_file: str
    better: Literal["lower", "higher"] | None
    worse_by: float | None  # relative: 0.4 = 40 % worse; negative = better
    regressed: bool

    def sentence(self) -> str:
        if self.better is None or self.worse_by is None:
            return f"{self.group}: {self.name}: {self.baseline:.4g} -> {self.new:.4g} {self.unit} (not judged)"
        how = f"{abs(self.worse_by):.0%} {'worse' if self.worse_by > 0 else 'better'}"
        return (f"{self.group}: {self.name}: {self.baseline:.4g} -> {self.new:.4g} {self.unit} ({how}; "
                f"{self.better} is better)")


@dataclass(frozen=True)
class Comparison:
    new_file: str
    tolerance: float
    deltas: tuple[FigureDelta, ...]
    unmatched: tuple[str, ...]
    alert_ids: tuple[int, ...] = ()

    @property
    def regressions(self) -> list[FigureDelta]:
        return [d for d in self.deltas if d.regressed]

    def report(self) -> str:
        lines = [f"bench compare: {self.new_file} against the last committed results "
                 f"(tolerance {self.tolerance:.0%})"]
        judged = [d for d in self.deltas if d.better]
        lines.append(f"{len(judged)} figures judged, {len(self.regressions)} regressed, "
                     f"{len(self.deltas) - len(judged)} shown only, {len(self.unmatched)} without a baseline")
        lines += [f"  REGRESSED {d.sentence()}" for d in self.regressions]
        lines += [f"  ok        {d.sentence()}" for d in judged if not d.regressed]
        lines += [f"  -         {d.sentence()}" for d in self.deltas if not d.better]
        lines += [f"  new       {u}" for u in self.unmatched]
        return "\n".join(lines)


def _worse_by(better: str, base: float, new: float) -> float | None:
    if base <= 0 or new <= 0:
        return None
    return new / base - 1 if better == "lower" else base / new - 1


@rubric("monitor-6", how="automated", what="a bench result compared with the last committed one; a slow-down beyond tolerance alerts")
def compare_results(new: Path, baseline: Path | None = None, *, tolerance: float | None = None,
                    alert: bool = True, baseline_dir: Path | None = None) -> Comparison:
    """Compare ``new`` with ``baseline`` (default: per figure, the last result of the same mode committed in
    ``baseline_dir``, which defaults to ``new``'s folder)."""
    tolerance = get_settings().bench_regression_tolerance if tolerance is None else tolerance
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    new_data = load_result(new)
    if baseline is not None:
        base_data = load_result(baseline)
        base = {(f["group"], f["name"]): (f, Path(baseline)) for f in base_data["figures"]}
    else:
        base = baseline_for(new, baseline_dir)
    deltas, unmatched = [], []
    for f in new_data["figures"]:
        key = (f["group"], f["name"])
        if key not in base:
            unmatched.append(f"{f['group']}: {f['name']}")
            continue
        old, path = base[key]
        better = direction(f["unit"]) if f["unit"] == old["unit"] else None
        worse = _worse_by(better, float(old["median"]), float(f["median"])) if better else None
        deltas.append(FigureDelta(f["group"], f["name"], f["unit"], float(old["median"]), float(f["median"]),
                                  path.name, better, None if worse is None else round(worse, 4),
                                  worse is not None and worse > tolerance))
    comparison = Comparison(str(new), tolerance, tuple(deltas), tuple(unmatched))
    if alert and comparison.regressions:
        from inloop.alerts import raise_alert

        ids = []
        for d in comparison.regressions:
            record = raise_alert(domain="platform", source="bench", cause_key=f"bench-regression:{d.group}:{d.name}",
                                 title=f"Performance regression: {d.name} ({d.group})"[:300],
                                 message=f"{d.sentence()}; tolerance {tolerance:.0%}. New result {new}, "
                                         f"baseline {d.baseline_file}.",
                                 severity="WARN", routes=("console", "log"),
                                 evidence={"new_file": str(new), "baseline_file": d.baseline_file,
                                           "baseline": d.baseline, "new": d.new, "unit": d.unit})
            ids.append(record.id)
        comparison = Comparison(comparison.new_file, tolerance, comparison.deltas, comparison.unmatched, tuple(ids))
    return comparison
