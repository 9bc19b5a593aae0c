"""The platform's own costs: the prediction log (write throughput, replay lookup) against bare SQLite."""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from inloop.bench.report import Figure, Sample

__all__ = ["prediction_log"]

Echo = Callable[[str], None]


def _entries(n: int, seed: int):  # type: ignore[no-untyped-def]
    from inloop.predictions import PredictionEntry

    rng = random.Random(seed)
    for i in range(n):
        yield PredictionEntry(
            domain="credit", component="loan_decision",
            features={"application_id": f"a{seed}-{i}", "income_monthly_eur": rng.uniform(900, 9000),
                      "employment_years": rng.randint(0, 30), "channel": rng.choice(["web", "app", "partner"]),
                      "residence_permit": rng.choice(["citizen", "permanent", "temporary", "eu_worker"]),
                      "application_duration_seconds": rng.uniform(60, 3000)},
            output={"decision": rng.choice(["approve", "refer", "reject"]), "probability_of_default": rng.random()},
            model_name="credit-default-risk", model_version="3", policy_version="2026-01", live_test_set=False,
        )


def _platform_write(url: str, n: int, batch: int, seed: int) -> float:
    from inloop.predictions import log_predictions

    entries = list(_entries(n, seed))
    start = time.perf_counter()
    for i in range(0, n, batch):
        log_predictions(entries[i:i + batch], db_url=url)
    return n / (time.perf_counter() - start)


def _bare_write(path: Path, n: int, batch: int, seed: int) -> float:
    """The same rows, serialised the same way, through sqlite3 alone (the bare work)."""
    rows = [(e.request_id, e.created_at.isoformat(), e.domain, e.component, e.model_name, e.model_version,
             e.policy_version, json.dumps(e.features), json.dumps(e.output), 0) for e in _entries(n, seed)]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS p (request_id TEXT UNIQUE, created_at TEXT, domain TEXT, component TEXT,"
                 " model_name TEXT, model_version TEXT, policy_version TEXT, features TEXT, output TEXT, live INT)")
    start = time.perf_counter()
    for i in range(0, n, batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO p VALUES (?,?,?,?,?,?,?,?,?,?)", rows[i:i + batch])
        conn.execute("COMMIT")
    rate = n / (time.perf_counter() - start)
    conn.close()
    return rate


def _lookups(url: str, bare_path: Path, lookups: int) -> tuple[list[float], list[float]]:
    import sqlalchemy as sa

    from inloop import db
    from inloop.db.models import Prediction
    from inloop.predictions import get_prediction

    with db.read_session(url) as sess:
        total = sess.scalar(sa.select(sa.func.max(Prediction.id))) or 0  # an empty log has no max
        picks = random.Random(7).sample(range(1, total + 1), min(lookups, total))
        ids = list(sess.scalars(sa.select(Prediction.request_id).where(Prediction.id.in_(picks))))
    platform_ms = []
    for rid in ids:
        start = time.perf_counter()
        get_prediction(rid, db_url=url)
        platform_ms.append((time.perf_counter() - start) * 1000)
    conn = sqlite3.connect(bare_path)
    bare_ids = [r[0] for r in conn.execute("SELECT request_id FROM p ORDER BY random() LIMIT ?", (len(ids),))]
    bare_ms = []
    for rid in bare_ids:
        start = time.perf_counter()
        conn.execute("SELECT * FROM p WHERE request_id = ?", (rid,)).fetchone()
        bare_ms.append((time.perf_counter() - start) * 1000)
    conn.close()
    return platform_ms, bare_ms


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


def prediction_log(quick: bool, echo: Echo) -> list[Figure]:
    """Write throughput (batched, rows/s) and lookup by request id, platform vs bare sqlite3."""
    from inloop import db

    sizes = [10_000] if quick else [10_000, 1_000_000]
    runs = 3
    batch = 1_000
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="inloop-bench-") as tmp:
        for size in sizes:
            echo(f"prediction log: {size:,} rows, platform vs bare sqlite3, {runs} runs")
            platform_rates, bare_rates = [], []
            for run in range(runs):
                url = f"sqlite:///{tmp}/platform-{size}-{run}.db"
                db.upgrade(url)
                platform_rates.append(_platform_write(url, size, batch, seed=run))
                bare_rates.append(_bare_write(Path(tmp) / f"bare-{size}-{run}.db", size, batch, seed=run))
                echo(f"  run {run + 1}/{runs}: platform {platform_rates[-1]:,.0f} rows/s, bare {bare_rates[-1]:,.0f} rows/s")
            ratio = Sample(tuple(p / b for p, b in zip(platform_rates, bare_rates, strict=True)))
            platform = Sample(tuple(platform_rates))
            figures.append(Figure.of("prediction log", f"write throughput at {size:,} rows", "rows/s", platform,
                                     goal=">= 20,000 rows/s on SQLite", met=platform.median >= 20_000))
            figures.append(Figure.of("prediction log", f"write throughput vs bare sqlite3 at {size:,} rows", "ratio",
                                     ratio, note="platform rows/s divided by bare sqlite3 rows/s, same rows"))
            platform_ms, bare_ms = _lookups(f"sqlite:///{tmp}/platform-{size}-0.db", Path(tmp) / f"bare-{size}-0.db",
                                            2_000)
            p99 = _p99(platform_ms)
            figures.append(Figure("prediction log", f"replay lookup p99 at {size:,} rows", "ms", p99,
                                  min(platform_ms), max(platform_ms), len(platform_ms),
                                  goal="< 5 ms at 1,000,000 rows" if size >= 1_000_000 else None,
                                  met=(p99 < 5) if size >= 1_000_000 else None,
                                  note=f"bare sqlite3 p99 {_p99(bare_ms):.3f} ms; median "
                                       f"{statistics.median(platform_ms):.3f} ms"))
            db.dispose_engines()
    return figures
