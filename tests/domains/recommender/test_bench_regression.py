"""The page service's committed latency is guarded: the bench hook measures it, a slower result is a finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inloop.alerts import list_alerts
from inloop.bench.compare import compare_results, direction, newest_committed
from recommender.bench import GROUP, measure

REPO = Path(__file__).resolve().parents[3]


def _newest_committed_recommender_result() -> Path:
    committed = newest_committed(REPO / "bench" / "results", "recommender")
    if committed is None:
        pytest.skip("no committed bench result measures the recommender")
    return committed


@pytest.mark.rubric("monitor-6")
def test_a_slower_page_service_than_committed_is_a_regression_and_the_hook_measures_what_is_compared(
        tmp_path: Path) -> None:
    committed = _newest_committed_recommender_result()
    data = json.loads(committed.read_text())
    latencies = [f for f in data["figures"] if f["group"] == GROUP and f["unit"] == "ms"]
    assert len(latencies) == 4 and all(direction(f["unit"]) == "lower" for f in latencies)
    assert not compare_results(committed, committed).regressions

    # the hook (quick sizes) produces every figure the committed result holds, so a new run is compared
    # (a figure added since the last committed run is only recorded until the next one is committed)
    fresh = measure(True, lambda _: None)
    assert {(f["group"], f["name"]) for f in data["figures"]} <= {(f.group, f.name) for f in fresh}
    assert all(f.median > 0 for f in fresh if f.unit in ("ms", "s"))
    # the time goals the tests no longer judge are stated on the figures (met or not is the bench's verdict)
    goals = {f.name: f.goal for f in fresh if f.goal}
    assert goals == {"page render (3 boxes): p50": "< 50 ms", "ALS training": "< 10 s at the test shop's size"}

    slower = json.loads(committed.read_text())
    slower["meta"]["started"] = "2099-01-01T00:00:00+00:00"
    for figure in slower["figures"]:
        if figure["name"] == "page render (3 boxes): p50":
            figure["median"] *= 1.5
        if figure["name"] == "bare ranking (recommendations only): p50":
            figure["median"] *= 1.1  # within the tolerance
    new = tmp_path / "recommender-slower.json"
    new.write_text(json.dumps(slower))
    comparison = compare_results(new, committed, tolerance=0.3)
    assert [(d.name, d.worse_by) for d in comparison.regressions] == [("page render (3 boxes): p50", 0.5)]
    (alert,) = list_alerts(domain="platform")
    assert "page render (3 boxes): p50" in alert.title and committed.name in alert.message
