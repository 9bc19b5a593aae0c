"""Page-render benchmark: ``python -m inloop_console.bench_pages [--rows 1000000] [--runs 3]``.

Fills a temporary platform database with ``--rows`` logged predictions (batched inserts, appended
in time order over 90 days and the installed domains, 2 % in the live test set) plus some check history, alerts
and bug reports, then renders every console page with Streamlit's AppTest and prints the time
of the first (cold: imports, first queries) and the median of the following renders. Caches are
cleared before every timed render, so each one really queries the database. A benchmark, not a
test: it prints figures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

__all__ = ["fill_predictions", "main", "render_times"]

APP = Path(__file__).with_name("app.py")
# Every page file the console has (new pages are measured without editing this list).
PAGES = sorted(p.stem for p in (APP.parent / "pages").glob("*.py") if not p.stem.startswith("_"))


def fill_predictions(rows: int, domains: list[str], *, batch: int = 50_000, seed: int = 11) -> float:
    """Insert ``rows`` predictions in batches straight through the DB-API (seconds taken)."""
    from inloop import db

    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    components = {d: [f"{d}_main", f"{d}_fallback", f"{d}_box"] for d in domains}
    start = time.perf_counter()
    raw = db.engine().raw_connection()
    try:
        cursor = raw.cursor()
        sql = ("INSERT INTO predictions (request_id, created_at, domain, component, model_name, model_version, "
               "policy_version, subject_id, features, output, live_test_set, latency_ms) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        done = 0
        while done < rows:
            n = min(batch, rows - done)
            values = []
            for i in range(n):
                domain = domains[(done + i) % len(domains)]
                # A log is appended as requests arrive: time grows with the row id (90 days in all).
                at = now - dt.timedelta(seconds=90 * 86400 * (1 - (done + i) / rows) + rng.uniform(0, 1))
                values.append((uuid.uuid4().hex, at.isoformat(sep=" "), domain, rng.choice(components[domain]),
                               f"{domain}_model", str(1 + (done + i) * 5 // rows), "policy-1",
                               f"subject-{rng.randrange(50_000)}",
                               json.dumps({"amount": rng.randrange(100, 20_000), "age": rng.randrange(18, 90)}),
                               json.dumps({"score": round(rng.random(), 4)}), rng.random() < 0.02,
                               round(rng.uniform(1, 40), 2)))
            cursor.execute("BEGIN")
            cursor.executemany(sql, values)
            cursor.execute("COMMIT")
            done += n
        cursor.execute("ANALYZE")
    finally:
        raw.close()
    return time.perf_counter() - start


def fill_incidents(domains: dict, seed: int = 5) -> None:
    """Check history (30 evaluations per checkable concern, the last one failing), alerts, bug reports."""
    from inloop.checks import Measurement, evaluate_concern
    from inloop.incidents import file_report

    rng = random.Random(seed)
    for name, domain in domains.items():
        card = domain.card()
        for concern in card.concerns:
            if concern.metric is None or concern.threshold is None or concern.check is None:
                continue
            for i in range(30):
                value = concern.threshold.value + (rng.uniform(-0.05, 0.05) if i < 29 else 1.0)
                evaluate_concern(name, concern, Measurement(value, f"benchmark evaluation {i}"), asset_key="bench")
        for i in range(30):
            file_report({"reporter": f"colleague {i}", "text": f"benchmark report {i}", "domain": name,
                         "component": f"{name}_box", "failure_kind": ["odd_item", "slow", "wrong_total"][i % 3]})


def render_times(runs: int) -> dict[str, tuple[float, float]]:
    """(cold, median warm) AppTest render seconds per page."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    out = {}
    for page in PAGES:
        times = []
        for _ in range(1 + runs):
            st.cache_data.clear()
            at = AppTest.from_file(str(APP), default_timeout=300)
            at.switch_page(f"pages/{page}.py")  # a fresh session that opens this page first
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
            if at.exception:
                raise RuntimeError(f"{page}: {at.exception[0].value}")
        out[page] = (times[0], statistics.median(times[1:]) if runs else times[0])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inloop_console.bench_pages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="Predictions to log (default 1,000,000).")
    parser.add_argument("--runs", type=int, default=3, help="Timed renders per page after the cold one.")
    parser.add_argument("--json", action="store_true",
                        help="End with one JSON line of figures (what `inloop bench` reads).")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="inloop-bench-") as tmp:
        os.environ["INLOOP_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ.pop("INLOOP_DATABASE_URL", None)
        from inloop import db
        from inloop.domains import discover_domains
        from inloop.settings import reset_settings

        reset_settings()
        db.dispose_engines()
        db.upgrade()
        domains = discover_domains()
        print(f"filling {args.rows:,} predictions over {len(domains)} domains ...", flush=True)
        seconds = fill_predictions(args.rows, sorted(domains) or ["bench"])
        print(f"  inserted in {seconds:.1f} s ({args.rows / max(seconds, 1e-9):,.0f} rows/s)")
        fill_incidents(domains)
        size = Path(tmp, "data", "inloop.db").stat().st_size / 1e6
        print(f"  platform database: {size:,.0f} MB")
        print(f"rendering every page with AppTest (1 cold + {args.runs} timed renders each) ...", flush=True)
        results = render_times(args.runs)
        db.dispose_engines()
    print(f"\n{'page':14} {'cold s':>8} {'median s':>9}")
    for page, (cold, warm) in results.items():
        print(f"{page:14} {cold:8.2f} {warm:9.2f}")
    slowest = max(results.items(), key=lambda kv: kv[1][1])
    print(f"\nslowest page (median): {slowest[0]} at {slowest[1][1]:.2f} s with {args.rows:,} logged predictions")
    if args.json:
        figures = [{"group": "console", "name": f"{page} page render, {args.rows:,} predictions", "unit": "s",
                    "median": warm, "min": min(cold, warm), "max": max(cold, warm), "runs": 1 + args.runs,
                    "goal": "< 3 s", "met": warm < 3.0, "note": f"first render in a fresh process {cold:.2f} s"}
                   for page, (cold, warm) in results.items()]
        print(json.dumps({"figures": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
