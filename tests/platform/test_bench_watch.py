"""monitor-6: `inloop bench watch` runs a quick fixed benchmark in CI and every night, compares it with the last
committed *watch* result (like with like) and fails with an alert on a regression past the tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inloop.alerts import list_alerts
from inloop.bench.compare import baseline_for, compare_results, newest_committed
from inloop.bench.watch import MODE, committed_results_dir
from inloop.cli import app

REPO = Path(__file__).resolve().parents[2]


def _result(folder: Path, stamp: str, started: str, mode: str, cost: float) -> Path:
    """A bench result whose two watch figures cost ``cost`` times the bare work."""
    figures = [{"group": "watch", "name": name, "unit": "x bare", "median": cost, "min": cost, "max": cost,
                "runs": 5} for name in ("prediction log write cost at 20,000 rows", "replay lookup cost at 20,000 rows")]
    path = folder / f"{stamp}.json"
    path.write_text(json.dumps({"meta": {"started": started, "stamp": stamp, "mode": mode,
                                         "measurements": [MODE] if mode == MODE else ["prediction_log"]},
                                "figures": figures}))
    return path


@pytest.mark.slow
@pytest.mark.rubric("monitor-6")
def test_the_watch_compares_with_the_last_watch_result_only_and_a_regression_fails_with_an_alert(
        tmp_path: Path) -> None:
    # Baselines: an old watch run that was 1000x faster than anything real (so the new run has regressed), and
    # a newer *quick* run with the same figure names that must never be taken as the baseline of a watch.
    fast = tmp_path / "fast"
    fast.mkdir()
    _result(fast, "20261101T000000Z-watch", "2026-11-01T00:00:00+00:00", MODE, cost=0.001)
    _result(fast, "20261102T000000Z-quick", "2026-11-02T00:00:00+00:00", "quick", cost=10_000.0)
    out = tmp_path / "out"
    done = CliRunner().invoke(app, ["bench", "watch", "--out", str(out), "--baseline-dir", str(fast)])
    assert done.exit_code == 1, done.output
    assert "2 regressed" in done.output and "REGRESSED watch: prediction log write cost" in done.output
    (new,) = out.glob("*-watch.json")
    data = json.loads(new.read_text())
    assert data["meta"]["mode"] == MODE and {f["unit"] for f in data["figures"]} == {"x bare"}
    assert all(f["median"] > 1 for f in data["figures"])  # the platform's way costs more than the bare work
    alerts = [a for a in list_alerts("platform") if a.cause_key.startswith("bench-regression:watch:")]
    assert len(alerts) == 2
    assert {p.name for _, p in baseline_for(new, fast).values()} == {"20261101T000000Z-watch.json"}

    # Against a committed watch result slower than now, the same run passes: nothing regressed.
    slow = tmp_path / "slow"
    slow.mkdir()
    _result(slow, "20261101T000000Z-watch", "2026-11-01T00:00:00+00:00", MODE, cost=1_000_000.0)
    passed = compare_results(new, baseline_dir=slow, tolerance=0.5)
    assert passed.regressions == [] and len(passed.deltas) == 2 and passed.unmatched == ()


def test_newest_committed_can_ask_for_one_mode() -> None:
    folder = committed_results_dir()
    assert folder == REPO / "bench" / "results"
    watch = newest_committed(folder, MODE, modes=(MODE,))
    assert watch is not None and json.loads(watch.read_text())["meta"]["mode"] == MODE
    assert newest_committed(folder, MODE, modes=("full",)) is None  # a full run never ran the watch
    credit_full = newest_committed(folder, "credit", modes=("full",))
    assert credit_full is None or json.loads(credit_full.read_text())["meta"]["mode"] == "full"


@pytest.mark.slow
def test_ci_runs_the_watch_and_every_code_location_schedules_it_nightly() -> None:
    import dagster as dg

    from inloop.domains import discover_domains

    assert "inloop bench watch" in (REPO / ".ci" / "run").read_text()
    for name, domain in discover_domains().items():
        schedules = {s.name: s for s in domain.definitions().schedules or []}
        watch = schedules[f"{name}_bench_watch_nightly"]
        assert watch.default_status == dg.DefaultScheduleStatus.RUNNING
        assert watch.job.name == f"{name}_bench_watch"


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["bench", "watch", "--out", str(tmp_path), "--baseline-dir",
                                       str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no committed bench results" in missing.output
    negative = CliRunner().invoke(app, ["bench", "watch", "--tolerance", "-1"])
    assert negative.exit_code == 2
