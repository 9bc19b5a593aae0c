"""End to end: cold first runs of every domain's pipelines, and ``inloop up`` until every service answers.

Both run in temporary data directories on free loopback ports, through the same code paths a user
takes: :func:`inloop.launcher.first_run` (the Dagster CLI on each domain's ``first_run`` job) and
the ``inloop up --skip-first-run`` command itself, timed until it prints that inloop is up.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from inloop.bench.report import Figure, Sample

__all__ = ["end_to_end"]

Echo = Callable[[str], None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _up_once(timeout_s: float = 300) -> tuple[float, dict[str, bool]]:
    """Seconds from starting ``inloop up --skip-first-run`` to its "inloop is up" line; which services answered."""
    ports = {"INLOOP_API_PORT": _free_port(), "INLOOP_CONSOLE_PORT": _free_port(), "INLOOP_DAGSTER_PORT": _free_port()}
    with tempfile.TemporaryDirectory(prefix="inloop-bench-up-") as tmp:
        env = dict(os.environ, INLOOP_DATA_DIR=tmp, DAGSTER_HOME=str(Path(tmp) / "dagster"),
                   **{k: str(v) for k, v in ports.items()})
        env.pop("MLFLOW_TRACKING_URI", None)
        start = time.perf_counter()
        proc = subprocess.Popen([str(Path(sys.executable).with_name("inloop")), "up", "--skip-first-run"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        seconds: float | None = None
        output: list[str] = []
        answering: dict[str, bool] = {}
        try:
            assert proc.stdout is not None
            deadline = start + timeout_s
            for line in proc.stdout:
                output.append(line)
                if line.startswith("inloop is up"):
                    seconds = time.perf_counter() - start
                    break
                if time.perf_counter() > deadline:
                    break
            if seconds is not None:
                # Check each service answers from outside, as a user would.
                for name, url in (("api", f"http://127.0.0.1:{ports['INLOOP_API_PORT']}/health"),
                                  ("console", f"http://127.0.0.1:{ports['INLOOP_CONSOLE_PORT']}/_stcore/health"),
                                  ("dagster", f"http://127.0.0.1:{ports['INLOOP_DAGSTER_PORT']}/server_info")):
                    try:
                        answering[name] = httpx.get(url, timeout=10).status_code == 200
                    except httpx.HTTPError:
                        answering[name] = False
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # inloop up stops its own services on SIGTERM
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
    if seconds is None:
        raise RuntimeError("inloop up did not come up:\n" + "".join(output[-30:]))
    return seconds, answering


def _cold_first_run(name: str, echo: Echo) -> float:
    """Seconds for one domain's first run in a fresh data directory (cold: empty MLflow, DB, Dagster home)."""
    from inloop.domains import discover_domains
    from inloop.launcher import first_run
    from inloop.settings import Settings

    with tempfile.TemporaryDirectory(prefix=f"inloop-bench-first-run-{name}-") as tmp:
        settings = Settings(data_dir=Path(tmp)).prepare()
        domain = discover_domains()[name]
        start = time.perf_counter()
        ok = first_run(settings, {name: domain}, lambda _line: None, force=True)
        seconds = time.perf_counter() - start
        if not ok:
            log = (Path(tmp) / "logs" / f"first-run-{name}.log").read_text()[-1500:]
            raise RuntimeError(f"{name}: first run failed:\n{log}")
    return seconds


def end_to_end(quick: bool, echo: Echo) -> list[Figure]:
    """Cold first runs per domain (full mode only) and the time for ``inloop up`` to answer."""
    from inloop.domains import discover_domains

    group = "End to end"
    figures: list[Figure] = []
    if quick:
        echo("  end to end: cold first runs are skipped in --quick (they take minutes); run the full bench")
    else:
        for name in discover_domains():
            echo(f"  end to end: cold first run of {name}")
            seconds = _cold_first_run(name, echo)
            echo(f"    {seconds:.0f} s")
            figures.append(Figure.of(group, f"cold first run of {name} (Dagster CLI, first_run job)", "s",
                                     Sample((seconds,)), note="one cold run: a second would not be cold"))
    runs = 1 if quick else 2
    times: list[float] = []
    answered: dict[str, bool] = {}
    for r in range(runs):
        seconds, answering = _up_once()
        times.append(seconds)
        answered = {k: answered.get(k, True) and v for k, v in answering.items()}
        echo(f"  end to end: inloop up answered in {seconds:.1f} s (run {r + 1}/{runs}): {answering}")
    figures.append(Figure.of(group, "inloop up --skip-first-run until every service answers", "s", Sample(tuple(times)),
                             note="fresh data directory and free ports each run; services: "
                                  + ", ".join(f"{k} {'answered' if v else 'DID NOT answer'}"
                                              for k, v in answered.items())))
    figures.append(Figure(group, "services answering after inloop up", "services", float(sum(answered.values())),
                          float(sum(answered.values())), float(sum(answered.values())), runs,
                          goal=f"= {len(answered)} (all)", met=all(answered.values())))
    return figures
