"""``inloop bench watch``: a quick, fixed benchmark that says whether computing performance regressed (monitor-6).

The full bench (``inloop bench``) takes an hour; the watch takes well under two minutes, so it runs in CI
(``.ci/run``) and every night (a default-on Dagster schedule in every code location). Its workload is fixed
(same rows, same seeds, same sizes) and every figure is a cost ratio against the bare work done beside it
in the same process, in CPU time of this process (unit ``x bare``, lower is better), which holds on a noisy
shared machine where absolute wall times do not. The result is compared with the newest committed result **of the same mode** (``watch``, never
a quick or full run that happens to be newer: :func:`inloop.bench.compare.baseline_for` matches modes), and
a figure worse by more than the tolerance fails the watch and raises an alert.
"""

from __future__ import annotations

import datetime as dt
import os
import platform as stdlib_platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from inloop.bench.compare import Comparison, compare_results
from inloop.bench.report import Figure, Sample, write_report
from inloop.readiness import rubric

__all__ = ["MODE", "WATCH_TOLERANCE", "committed_results_dir", "run_watch", "watch"]

Echo = Callable[[str], None]

MODE = "watch"
#: A watch figure may be this much (relative) worse than the committed one before it fails: ratios against
#: the bare work move by up to ~30 % between a quiet and a loaded 2-core machine; a real regression of the
#: platform's own overhead (an index lost, a flush per row) costs 2x and more.
WATCH_TOLERANCE = 0.5
ROWS = 20_000
BATCH = 1_000
LOOKUPS = 1_000
RUNS = 5


def committed_results_dir() -> Path:
    """The repository's committed bench results (``bench/results`` beside ``platform/``), for a checkout."""
    return Path(__file__).resolve().parents[4] / "bench" / "results"


def _cpu(fn: Callable[[], object]) -> float:
    """CPU seconds of this process spent in ``fn`` (other processes' load does not count, unlike wall time)."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def _write_cost(tmp: Path, run: int) -> tuple[float, float, float]:
    """(platform / bare CPU time, platform rows per CPU second, bare rows per CPU second), same rows, fresh logs."""
    import json
    import sqlite3

    from inloop import db
    from inloop.bench.platform_costs import _entries
    from inloop.predictions import log_predictions

    url = f"sqlite:///{tmp}/watch-{run}.db"
    db.upgrade(url)
    entries = list(_entries(ROWS, run))

    def platform() -> None:
        for i in range(0, ROWS, BATCH):
            log_predictions(entries[i:i + BATCH], db_url=url)

    rows = [(e.request_id, e.created_at.isoformat(), e.domain, e.component, e.model_name, e.model_version,
             e.policy_version, json.dumps(e.features), json.dumps(e.output), 0) for e in _entries(ROWS, run)]
    conn = sqlite3.connect(tmp / f"watch-bare-{run}.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS p (request_id TEXT UNIQUE, created_at TEXT, domain TEXT, component TEXT,"
                 " model_name TEXT, model_version TEXT, policy_version TEXT, features TEXT, output TEXT, live INT)")

    def bare() -> None:
        for i in range(0, ROWS, BATCH):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO p VALUES (?,?,?,?,?,?,?,?,?,?)", rows[i:i + BATCH])
            conn.execute("COMMIT")

    platform_s, bare_s = _cpu(platform), _cpu(bare)
    conn.close()
    return platform_s / bare_s, ROWS / platform_s, ROWS / bare_s


def _lookup_cost(tmp: Path) -> tuple[float, float, float]:
    """(platform / bare CPU time per lookup by request id, platform ms, bare ms) in the logs written above."""
    import random
    import sqlite3

    import sqlalchemy as sa

    from inloop import db
    from inloop.db.models import Prediction
    from inloop.predictions import get_prediction

    url = f"sqlite:///{tmp}/watch-0.db"
    with db.read_session(url) as sess:
        ids = list(sess.scalars(sa.select(Prediction.request_id).order_by(Prediction.id)))
    picks = random.Random(7).sample(ids, min(LOOKUPS, len(ids)))
    conn = sqlite3.connect(tmp / "watch-bare-0.db")
    platform_s = _cpu(lambda: [get_prediction(rid, db_url=url) for rid in picks])
    bare_s = _cpu(lambda: [conn.execute("SELECT * FROM p WHERE request_id = ?", (rid,)).fetchone() for rid in picks])
    conn.close()
    return platform_s / bare_s, 1000 * platform_s / len(picks), 1000 * bare_s / len(picks)


def run_watch(out_dir: Path, echo: Echo = lambda _: None) -> dict[str, Path]:
    """Run the fixed workload and write ``<stamp>-watch.json`` / ``.md`` under ``out_dir``."""
    from inloop import db

    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="inloop-watch-") as tmp_name:
        tmp = Path(tmp_name)
        writes = []
        for run in range(RUNS):
            writes.append(_write_cost(tmp, run))
            echo(f"  prediction log write, run {run + 1}/{RUNS}: {writes[-1][1]:,.0f} rows/s "
                 f"(bare sqlite3 {writes[-1][2]:,.0f}), cost {writes[-1][0]:.2f}x bare")
        figures.append(Figure.of(
            "watch", f"prediction log write cost at {ROWS:,} rows", "x bare", Sample(tuple(w[0] for w in writes)),
            note=f"platform CPU time / bare sqlite3 CPU time for the same rows in batches of {BATCH:,}; platform "
                 f"{statistics.median(w[1] for w in writes):,.0f} rows per CPU second"))
        lookups = [_lookup_cost(tmp) for _ in range(RUNS)]
        echo(f"  replay lookup: platform {lookups[-1][1]:.3f} ms, bare {lookups[-1][2]:.3f} ms CPU per lookup")
        figures.append(Figure.of(
            "watch", f"replay lookup cost at {ROWS:,} rows", "x bare", Sample(tuple(x[0] for x in lookups)),
            note=f"CPU time of {LOOKUPS:,} lookups by request id, platform / bare sqlite3; platform "
                 f"{statistics.median(x[1] for x in lookups):.3f} ms CPU each"))
        db.dispose_engines()
    meta = {
        "started": started.isoformat(timespec="seconds"),
        "stamp": started.strftime("%Y%m%dT%H%M%SZ") + "-watch",
        "mode": MODE,
        "machine": f"{os.cpu_count()} cores, Python {stdlib_platform.python_version()}, {stdlib_platform.machine()}",
        "measurements": [MODE],
        "seconds": round(time.perf_counter() - clock, 1),
    }
    return write_report(figures, meta, out_dir)


@rubric("monitor-6", how="automated", domain="*", what="`inloop bench watch`: a quick fixed benchmark in CI and on a "
        "nightly default-on schedule, compared with the last committed watch result; a regression fails and alerts")
def watch(out_dir: Path, *, baseline_dir: Path | None = None, tolerance: float = WATCH_TOLERANCE,
          echo: Echo = lambda _: None) -> tuple[dict[str, Path], Comparison]:
    """Run the watch and compare it with the newest committed watch result (alerts on a regression)."""
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    baseline_dir = baseline_dir or committed_results_dir()
    if not baseline_dir.is_dir():
        raise ValueError(f"no committed bench results at {baseline_dir}: name a folder with --baseline-dir")
    paths = run_watch(out_dir, echo)
    return paths, compare_results(paths["json"], tolerance=tolerance, baseline_dir=baseline_dir)
