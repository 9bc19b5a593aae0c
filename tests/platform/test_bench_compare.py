"""`inloop bench compare`: a new bench result against the last committed one; regressions alert."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inloop.alerts import list_alerts
from inloop.bench.compare import baseline_for, compare_results, direction, newest_committed
from inloop.bench.report import Figure, Sample, write_report
from inloop.cli import app

GROUP = "Serving overhead (POST /credit/decisions)"


def _result(folder: Path, stamp: str, p50: float, rps: float, ratio: float, mode: str = "quick",
            extra: bool = False, measurements: tuple[str, ...] = ("credit",)) -> Path:
    figures = [Figure.of(GROUP, "API, prediction logging on: p50", "ms", Sample((p50, p50 * 0.9, p50 * 1.1))),
               Figure.of(GROUP, "API, prediction logging on: throughput", "requests/s", Sample((rps, rps))),
               Figure.of(GROUP, "p50 logging on / logging off", "ratio", Sample((ratio,))),
               Figure.of("prediction log", "replay lookup p99 at 10,000 rows", "ms", Sample((13.0, 12.0, 14.0)))]
    if extra:
        figures.append(Figure.of("console", "models page render", "s", Sample((2.8,))))
    meta = {"started": f"2026-11-{stamp[6:8]}T{stamp[9:11]}:00:00+00:00", "stamp": stamp, "mode": mode,
            "machine": "2 cores", "measurements": list(measurements), "seconds": 1.0}
    return write_report(figures, meta, folder)["json"]


def test_direction_follows_the_unit() -> None:
    assert [direction(u) for u in ("ms", "s", "MiB", "requests/s", "invoices/min", "ratio", "rows")] == \
        ["lower", "lower", "lower", "higher", "higher", None, None]


@pytest.mark.rubric("monitor-6")
def test_a_slowdown_beyond_tolerance_is_a_finding_with_an_alert_and_exit_1(tmp_path: Path) -> None:
    old = _result(tmp_path, "20261101T100000Z", p50=30.0, rps=300.0, ratio=1.2)
    new = _result(tmp_path, "20261102T100000Z", p50=45.0, rps=280.0, ratio=9.0, extra=True)
    assert json.loads(new.read_text())["figures"][0]["unit"] == "ms"  # the real report format
    result = CliRunner().invoke(app, ["bench", "compare", str(new), "--baseline", str(old), "--tolerance", "0.3"])
    assert result.exit_code == 1, result.output
    assert "REGRESSED Serving overhead (POST /credit/decisions): API, prediction logging on: p50: 30 -> 45 ms " \
           "(50% worse; lower is better)" in result.output
    assert "ok        Serving overhead (POST /credit/decisions): API, prediction logging on: throughput" in result.output
    assert "(not judged)" in result.output and "new       console: models page render" in result.output
    (alert,) = list_alerts(domain="platform")
    assert alert.source == "bench" and "p50" in alert.title and "50% worse" in alert.message
    # Within tolerance: no finding, exit 0, no new alert.
    calm = compare_results(new, old, tolerance=0.6)
    assert not calm.regressions and len(list_alerts(domain="platform")) == 1
    ok = CliRunner().invoke(app, ["bench", "compare", str(new), "--baseline", str(old), "--tolerance", "0.6"])
    assert ok.exit_code == 0, ok.output


def test_default_baseline_is_the_newest_committed_result_of_the_same_mode(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    older = _result(folder, "20261101T100000Z", p50=20.0, rps=300.0, ratio=1.0)
    newer = _result(folder, "20261103T100000Z", p50=30.0, rps=300.0, ratio=1.0)
    full = _result(folder, "20261104T100000Z", p50=90.0, rps=100.0, ratio=1.0, mode="full")
    uncommitted = _result(folder, "20261105T100000Z", p50=10.0, rps=300.0, ratio=1.0)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", str(tmp_path)], check=True)
    subprocess.run([*git, "add", str(older), str(newer), str(full)], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "results"], cwd=tmp_path, check=True)
    new = _result(folder, "20261106T100000Z", p50=33.0, rps=300.0, ratio=1.0)
    base = baseline_for(new)
    figure, path = base[(GROUP, "API, prediction logging on: p50")]
    assert path == newer and figure["median"] == 30.0  # not the full run, not the uncommitted one
    assert uncommitted.exists()
    assert not compare_results(new, alert=False).regressions


def test_the_newest_committed_result_of_a_measurement_is_found_by_its_start_time(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    older = _result(folder, "20261101T100000Z", p50=20.0, rps=300.0, ratio=1.0)
    newer = _result(folder, "20261103T100000Z", p50=30.0, rps=300.0, ratio=1.0, mode="full")
    other = _result(folder, "20261104T100000Z", p50=9.0, rps=300.0, ratio=1.0, measurements=("recommender",))
    _result(folder, "20261105T100000Z", p50=10.0, rps=300.0, ratio=1.0)  # credit too, but never committed
    stray = folder / "0-notes.json"
    stray.write_text(json.dumps({"measurements": ["credit"]}))  # committed, but not a bench result
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", str(tmp_path)], check=True)
    subprocess.run([*git, "add", str(older), str(newer), str(other), str(stray)], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "results"], cwd=tmp_path, check=True)
    assert newest_committed(folder, "credit") == newer
    assert newest_committed(folder, "recommender") == other
    assert newest_committed(folder, "invoice_ocr") is None


def test_a_file_that_is_not_a_bench_result_is_refused_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"figures": "nope"}))
    result = CliRunner().invoke(app, ["bench", "compare", str(bad)])
    assert result.exit_code == 2 and "is not a bench result" in result.output


@pytest.mark.slow
@pytest.mark.rubric("monitor-6")
def test_inloop_bench_compares_its_new_result_with_the_committed_ones(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A real (quick, partial) bench run; the committed baseline claims an impossibly fast replay lookup."""
    repo = tmp_path / "repo"
    committed = repo / "bench" / "results"
    figures = [Figure.of("prediction log", "replay lookup p99 at 10,000 rows", "ms", Sample((0.001,))),
               Figure.of("prediction log", "write throughput at 10,000 rows", "rows/s", Sample((1.0,)))]
    meta = {"started": "2026-01-01T00:00:00+00:00", "stamp": "20260101T000000Z-quick", "mode": "quick",
            "machine": "2 cores", "measurements": ["prediction_log"], "seconds": 1.0}
    old = write_report(figures, meta, committed)["json"]
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", str(old)], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "baseline"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(app, ["bench", "--quick", "--only", "prediction_log", "--out", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    assert "bench compare:" in result.output
    assert "REGRESSED prediction log: replay lookup p99 at 10,000 rows: 0.001 ->" in result.output
    assert "ok        prediction log: write throughput at 10,000 rows: 1 ->" in result.output
    assert any(a.source == "bench" and "replay lookup" in a.title for a in list_alerts(domain="platform"))
