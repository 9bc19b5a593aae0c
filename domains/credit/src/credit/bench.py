"""Credit's benchmarks for ``inloop bench``: serving overhead and monitoring scale.

Serving: ``POST /credit/decisions`` through a real uvicorn process with prediction logging on,
the same server with logging off, the bare in-process decision function, and the no-op
``GET /health`` on the same server, measured in one run at a fixed concurrency on loopback.
The champion is trained with the domain's own pipeline in a temporary data directory.

Monitoring: the credit schema through :func:`inloop.validation.validate` plus
:func:`inloop.drift.drift_report` on growing row counts, against the same statistics in plain
NumPy/pandas (range/set/null/unique checks, per-column PSI). Each measurement runs in a fresh
process so its peak memory is its own (peak RSS over the post-import, post-data baseline).

Every heavy part runs in a subprocess (``python -m credit.bench <step> ...``): the platform
process that calls :func:`measure` keeps its own settings untouched.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["measure"]

Echo = Callable[[str], None]
CONCURRENCY = 8


# --- helpers shared by both measurements ------------------------------------------------------

def _run_step(*args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "credit.bench", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"credit.bench {' '.join(args)} failed: {proc.stderr.strip()[-1500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _world_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"INLOOP_DATA_DIR": str(data_dir), "INLOOP_ENVIRONMENT": "test",
                "DAGSTER_HOME": str(data_dir / "dagster"), "INLOOP_API_TOKEN": "bench-token", **extra})
    return env


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _sample_applications(n: int, seed: int = 11) -> list[dict[str, Any]]:
    from credit.lib.data import generate_applications

    frame = generate_applications(max(n, 36), seed=seed).head(n)
    out = []
    for i, row in enumerate(frame.to_dict("records")):
        out.append({"application_id": f"bench-{seed}-{i}", "applied_at": row["applied_at"].isoformat(),
                    "income_monthly_eur": float(row["income_monthly_eur"]),
                    "employment_years": float(row["employment_years"]), "age_band": str(row["age_band"]),
                    "loan_amount_eur": float(row["loan_amount_eur"]),
                    "loan_duration_months": int(row["loan_duration_months"]),
                    "existing_credits": int(row["existing_credits"]), "channel": str(row["channel"]),
                    "residence_permit": str(row["residence_permit"]),
                    "application_duration_seconds": float(row["application_duration_seconds"])})
    return out


# --- serving ------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    """``uvicorn inloop.api.app:create_app`` in its own process, on a free loopback port."""

    def __init__(self, data_dir: Path, logging_on: bool) -> None:
        self.port = _free_port()
        env = _world_env(data_dir, INLOOP_PREDICTION_LOGGING="true" if logging_on else "false")
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - open for the server process lifetime, closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "inloop.api.app:create_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 180) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.log.seek(0)
        raise RuntimeError(f"API on port {self.port} did not answer: {self.log.read().decode()[-1500:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


async def _load(url: str, method: str, bodies: list[dict[str, Any]] | None, count: int) -> dict[str, float]:
    """``count`` requests from ``CONCURRENCY`` workers; latencies in ms and requests/s."""
    import httpx

    latencies: list[float] = []
    failures = 0
    next_index = iter(range(count))
    headers = {"Authorization": "Bearer bench-token"}
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=CONCURRENCY), timeout=60) as client:
        async def worker() -> None:
            nonlocal failures
            for i in next_index:
                start = time.perf_counter()
                if method == "POST":
                    assert bodies is not None
                    body = dict(bodies[i % len(bodies)], application_id=f"{bodies[i % len(bodies)]['application_id']}-{time.time_ns()}")
                    r = await client.post(url, json=body, headers=headers)
                else:
                    r = await client.get(url)
                latencies.append((time.perf_counter() - start) * 1000)
                if r.status_code != 200:
                    failures += 1
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        seconds = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{failures} of {count} requests to {url} failed")
    return {"p50": _percentile(latencies, 0.5), "p99": _percentile(latencies, 0.99), "rps": count / seconds}


def _bare_step(data_dir: str, n: str) -> dict[str, Any]:
    """In a process pointed at the world: the decision function alone, one application per call."""
    from credit.lib.registry import load_decision_service

    service = load_decision_service()
    apps = _sample_applications(int(n))
    service.decide_many(apps[:5], log=False)  # warm-up, as the server is warm
    latencies = []
    start_all = time.perf_counter()
    for app in apps:
        start = time.perf_counter()
        service.decide_many([app], log=False)
        latencies.append((time.perf_counter() - start) * 1000)
    seconds = time.perf_counter() - start_all
    return {"p50": _percentile(latencies, 0.5), "p99": _percentile(latencies, 0.99), "rps": len(apps) / seconds}


def _train_step(data_dir: str) -> dict[str, Any]:
    """Train and promote a champion with the domain's own pipeline (as the tests' ``credit_world``)."""
    import dagster as dg

    from credit.definitions import training_assets
    from credit.defs.applications import applications_match_schema
    from credit.defs.training import gate_checks

    start = time.perf_counter()
    result = dg.materialize([*training_assets, applications_match_schema, *gate_checks], raise_on_error=False)
    if not result.success:
        raise RuntimeError("the credit training pipeline failed")
    from credit.lib.registry import load_decision_service

    service = load_decision_service()
    return {"seconds": time.perf_counter() - start, "model": f"{service.model_name} v{service.model_version}"}


def _serving(quick: bool, echo: Echo) -> list[Any]:
    from inloop.bench.report import Figure, Sample

    runs = 2 if quick else 5
    count = 150 if quick else 1000
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="inloop-bench-credit-") as tmp:
        data_dir = Path(tmp)
        scale = "1"  # smaller data does not pass the promotion gates: the champion must be a real one
        echo(f"  credit serving: training a champion in {data_dir} (demo data scale {scale})")
        trained = _run_step("train", str(data_dir), env=_world_env(data_dir, INLOOP_DEMO_DATA_SCALE=scale))
        echo(f"  trained {trained['model']} in {trained['seconds']:.0f} s; starting two API servers")
        bodies = _sample_applications(200)
        on, off = _Server(data_dir, True), _Server(data_dir, False)
        results: dict[str, list[dict[str, float]]] = {k: [] for k in ("on", "off", "bare", "noop")}
        try:
            on.wait_ready()
            off.wait_ready()
            for server in (on, off):  # warm-up: first requests pay lazy imports
                asyncio.run(_load(server.url + "/credit/decisions", "POST", bodies, 40))
            for r in range(runs):
                # Interleaved, so load drift on the shared machine hits every variant alike.
                results["on"].append(asyncio.run(_load(on.url + "/credit/decisions", "POST", bodies, count)))
                results["off"].append(asyncio.run(_load(off.url + "/credit/decisions", "POST", bodies, count)))
                results["noop"].append(asyncio.run(_load(off.url + "/health", "GET", None, count)))
                results["bare"].append(_run_step("bare", str(data_dir), str(count), env=_world_env(data_dir)))
                echo(f"  run {r + 1}/{runs}: rps logging on {results['on'][-1]['rps']:.0f}, "
                     f"off {results['off'][-1]['rps']:.0f}, no-op {results['noop'][-1]['rps']:.0f}, "
                     f"bare {results['bare'][-1]['rps']:.0f}")
        finally:
            on.stop()
            off.stop()
        logged = _count_logged(data_dir)

    def sample(kind: str, key: str) -> Sample:
        return Sample(tuple(x[key] for x in results[kind]))

    group = "Serving overhead (POST /credit/decisions)"
    ctx = f"concurrency {CONCURRENCY}, {count} requests per run, loopback, client on the same machine"
    for kind, label in (("on", "API, prediction logging on"), ("off", "API, prediction logging off"),
                        ("noop", "GET /health (no-op) on the same server"),
                        ("bare", "bare decide_many() in-process, one call at a time")):
        figures.append(Figure.of(group, f"{label}: p50", "ms", sample(kind, "p50")))
        figures.append(Figure.of(group, f"{label}: p99", "ms", sample(kind, "p99")))
        figures.append(Figure.of(group, f"{label}: throughput", "requests/s", sample(kind, "rps"),
                                 note=ctx if kind != "bare" else "single thread, no HTTP"))
    p50_ratio = Sample(tuple(a["p50"] / b["p50"] for a, b in zip(results["on"], results["off"], strict=True)))
    figures.append(Figure.of(group, "p50 logging on / logging off", "ratio", p50_ratio, goal="<= 1.10",
                             met=p50_ratio.median <= 1.10))
    rps_ratio = Sample(tuple(a["rps"] / b["rps"] for a, b in zip(results["on"], results["noop"], strict=True)))
    figures.append(Figure.of(group, "requests/s decisions (logging on) / no-op", "ratio", rps_ratio, goal=">= 0.70",
                             met=rps_ratio.median >= 0.70))
    bare_ratio = Sample(tuple(a["p50"] / b["p50"] for a, b in zip(results["on"], results["bare"], strict=True)))
    figures.append(Figure.of(group, "p50 API (logging on) / bare function", "ratio", bare_ratio,
                             note="HTTP, validation, JSON and the event loop against the model call alone"))
    expected = runs * count + 40  # the runs and the warm-up
    figures.append(Figure(group, "prediction log rows written by the logging-on server", "rows", logged, logged,
                          logged, 1, goal=f"= {expected} requests served with logging on", met=logged == expected,
                          note="the logging-off server wrote none" if logged == expected else ""))
    return figures


def _count_logged(data_dir: Path) -> float:
    """Rows in the world's prediction log (the logging-on server's writer drains on stop; read after a pause)."""
    import sqlite3

    time.sleep(2.0)
    conn = sqlite3.connect(data_dir / "inloop.db")
    try:
        return float(conn.execute("SELECT count(*) FROM predictions WHERE domain = 'credit'").fetchone()[0])
    finally:
        conn.close()


# --- monitoring scale ---------------------------------------------------------------------------

def _frames(rows: int) -> tuple[Any, Any]:
    """Reference and current application frames of ``rows`` rows each (a base sample tiled, fresh ids)."""
    import pandas as pd

    from credit.lib.data import generate_applications

    base_ref = generate_applications(min(rows, 100_000), seed=7, months=range(0, 12))
    base_cur = generate_applications(min(rows, 100_000), seed=8, months=range(12, 18))

    def tile(base: pd.DataFrame, tag: str) -> pd.DataFrame:
        reps = -(-rows // len(base))
        frame = pd.concat([base] * reps, ignore_index=True).head(rows)
        frame["application_id"] = [f"{tag}{i}" for i in range(rows)]
        return frame

    return tile(base_ref, "r"), tile(base_cur, "c")


def _plain(reference: Any, current: Any) -> dict[str, Any]:
    """The same statistics as the schema suite + PSI drift, in NumPy/pandas only."""
    import numpy as np

    from credit.lib.data import MODEL_INPUTS
    from credit.lib.schema import APPLICATION_SCHEMA

    broken = {}
    for rule in APPLICATION_SCHEMA:
        col = current[rule.column]
        if rule.kind == "not_null":
            broken[rule.column + ":not_null"] = int(col.isna().sum())
        elif rule.kind == "unique":
            values = col.to_numpy()
            _, counts = np.unique(values, return_counts=True)
            broken[rule.column + ":unique"] = int(counts[counts > 1].sum())
        elif rule.kind == "in_set":
            broken[rule.column + ":in_set"] = int((~np.isin(np.asarray(col, dtype=object),
                                                             np.asarray(rule.values, dtype=object))).sum())
        else:
            x = col.to_numpy(dtype=float)
            broken[rule.column + ":between"] = int(((x < rule.min_value) | (x > rule.max_value)).sum())
    psi = {}
    eps = 1e-4
    for name in MODEL_INPUTS:
        ref, cur = reference[name], current[name]
        if ref.dtype.kind in "fiu":
            r, c = ref.to_numpy(dtype=float), cur.to_numpy(dtype=float)
            edges = np.histogram_bin_edges(np.concatenate([r, c]), bins=10)
            p = np.histogram(r, edges)[0] / len(r)
            q = np.histogram(c, edges)[0] / len(c)
        else:
            r, c = ref.astype(str), cur.astype(str)
            keys = sorted(set(r.unique()) | set(c.unique()))
            p = r.value_counts(normalize=True).reindex(keys, fill_value=0).to_numpy()
            q = c.value_counts(normalize=True).reindex(keys, fill_value=0).to_numpy()
        p, q = np.clip(p, eps, None), np.clip(q, eps, None)
        psi[name] = float(np.sum((q - p) * np.log(q / p)))
    return {"broken": broken, "psi": psi}


def _platform(reference: Any, current: Any) -> dict[str, Any]:
    from credit.lib.data import MODEL_INPUTS
    from credit.lib.schema import check_schema
    from inloop.drift import drift_report

    summary = check_schema(current)
    drift = drift_report(reference, current, columns=list(MODEL_INPUTS), name="bench", save_html=False)
    return {"failed": len(summary.failed), "drifted": drift.drifted_count}


def _rss_kib() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


def _monitor_step(kind: str, rows: str) -> dict[str, Any]:
    """One measurement in this fresh process: imports and data first, then the timed computation."""
    import numpy  # noqa: F401

    if kind == "platform":  # import cost is not the computation's
        import evidently  # noqa: F401
        import great_expectations  # noqa: F401

        import inloop.drift  # noqa: F401
        import inloop.validation  # noqa: F401
    reference, current = _frames(int(rows))
    data_bytes = int(reference.memory_usage(deep=True).sum() + current.memory_usage(deep=True).sum())
    baseline = _rss_kib()
    start = time.perf_counter()
    result = (_platform if kind == "platform" else _plain)(reference, current)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_delta_bytes": (_rss_kib() - baseline) * 1024, "data_bytes": data_bytes,
            "result": result}


def _monitoring(quick: bool, echo: Echo) -> list[Any]:
    from inloop.bench.report import Figure, Sample

    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    runs = 1 if quick else 2
    group = "Monitoring scale (GX schema suite + Evidently PSI drift, credit)"
    figures: list[Figure] = []
    series: dict[str, list[list[float]]] = {"platform (GX + Evidently)": [], "plain NumPy/pandas": []}
    mem_series: dict[str, list[list[float]]] = {"platform peak RSS delta": [], "plain peak RSS delta": [],
                                                "data size": []}
    ratio_at: dict[int, float] = {}
    mem_ratio_at: dict[int, float] = {}
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="inloop-bench-monitor-") as tmp:
        env.update({"INLOOP_DATA_DIR": tmp, "INLOOP_ENVIRONMENT": "test"})
        for rows in sizes:
            got: dict[str, list[dict[str, Any]]] = {"platform": [], "plain": []}
            for _ in range(runs):
                for kind in ("platform", "plain"):  # pairwise, interleaved
                    got[kind].append(_run_step("monitor", kind, str(rows), env=env))
            plat, plain = (Sample(tuple(g["seconds"] for g in got[k])) for k in ("platform", "plain"))
            pmem, qmem = (Sample(tuple(g["peak_delta_bytes"] / 2**20 for g in got[k])) for k in ("platform", "plain"))
            data_mib = got["platform"][0]["data_bytes"] / 2**20
            ratio = Sample(tuple(a["seconds"] / b["seconds"] for a, b in zip(got["platform"], got["plain"], strict=True)))
            ratio_at[rows] = ratio.median
            mem_ratio_at[rows] = pmem.median / data_mib
            echo(f"  monitoring {rows:,} rows: platform {plat.median:.2f} s, plain {plain.median:.3f} s, "
                 f"peak +{pmem.median:.0f} MiB (data {data_mib:.0f} MiB)")
            figures += [
                Figure.of(group, f"platform at {rows:,} rows", "s", plat),
                Figure.of(group, f"plain at {rows:,} rows", "s", plain),
                Figure.of(group, f"platform / plain time at {rows:,} rows", "ratio", ratio,
                          goal="<= 3" if rows == sizes[-1] else None,
                          met=(ratio.median <= 3) if rows == sizes[-1] else None),
                Figure.of(group, f"platform peak RSS delta at {rows:,} rows", "MiB", pmem,
                          goal=f"<= 4x data ({4 * data_mib:.0f} MiB)", met=pmem.median <= 4 * data_mib,
                          note=f"data (reference + current frames) {data_mib:.1f} MiB; plain peak "
                               f"{qmem.median:.1f} MiB"),
            ]
            series["platform (GX + Evidently)"].append([rows, plat.median])
            series["plain NumPy/pandas"].append([rows, plain.median])
            mem_series["platform peak RSS delta"].append([rows, pmem.median])
            mem_series["plain peak RSS delta"].append([rows, max(qmem.median, 0.01)])
            mem_series["data size"].append([rows, data_mib])
    pts = series["platform (GX + Evidently)"]
    # Linear growth: the time per row at the largest size against the one a decade below it.
    (r1, t1), (r2, t2) = pts[-2], pts[-1]
    exponent = (statistics.log(t2) - statistics.log(t1)) / (statistics.log(r2) - statistics.log(r1)) if t1 > 0 else 0
    largest = pts[-1][1]
    figures.append(Figure(group, "time vs rows", "s", largest, largest, largest, runs, series=series,
                          note=f"the curve (PNG); the value is the platform median at {sizes[-1]:,} rows"))
    figures.append(Figure(group, "growth exponent of platform time (last decade)", "log-log slope", exponent,
                          exponent, exponent, 1, goal="<= 1.1 (linear)", met=exponent <= 1.1,
                          note="slope of log(time) vs log(rows) between the two largest sizes; 1 is linear"))
    figures.append(Figure(group, "peak memory vs rows", "MiB", mem_series["platform peak RSS delta"][-1][1],
                          mem_series["platform peak RSS delta"][-1][1], mem_series["platform peak RSS delta"][-1][1],
                          runs, series=mem_series, note="each point the median of fresh-process runs"))
    return figures


# --- the hook ---------------------------------------------------------------------------------

def measure(quick: bool, echo: Echo) -> list[Any]:
    """The ``bench`` hook: serving overhead and monitoring scale for the credit domain."""
    return [*_serving(quick, echo), *_monitoring(quick, echo)]


def _main(argv: list[str]) -> None:
    step, *args = argv
    steps: dict[str, Callable[..., dict[str, Any]]] = {"train": _train_step, "bare": _bare_step,
                                                        "monitor": _monitor_step}
    if step not in steps:
        raise SystemExit(f"unknown step {step!r}; known: {sorted(steps)}")
    print(json.dumps(steps[step](*args)))


if __name__ == "__main__":
    _main(sys.argv[1:])
