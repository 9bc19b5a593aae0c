"""Credit's committed serving and monitoring benchmarks are guarded: a slower credit result is a finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inloop.alerts import list_alerts
from inloop.bench.compare import compare_results, direction, newest_committed

REPO = Path(__file__).resolve().parents[3]
SERVING = "Serving overhead (POST /credit/decisions)"


def _newest_committed_credit_result() -> Path:
    committed = newest_committed(REPO / "bench" / "results", "credit")
    if committed is None:
        pytest.skip("no committed bench result measures credit")
    return committed


@pytest.mark.rubric("monitor-6")
def test_a_slower_credit_decision_path_than_committed_is_a_regression(tmp_path: Path) -> None:
    committed = _newest_committed_credit_result()
    data = json.loads(committed.read_text())
    serving = [f for f in data["figures"] if f["group"] == SERVING and f["unit"] in ("ms", "requests/s")]
    assert serving and all(direction(f["unit"]) for f in serving)  # every latency and throughput is judged
    assert not compare_results(committed, committed).regressions  # the committed result against itself

    slower = json.loads(committed.read_text())
    slower["meta"]["started"] = "2099-01-01T00:00:00+00:00"
    for figure in slower["figures"]:
        if figure["group"] == SERVING and figure["name"] == "API, prediction logging on: p50":
            figure["median"] *= 1.5
        if figure["group"] == SERVING and figure["name"] == "API, prediction logging on: throughput":
            figure["median"] *= 0.9  # within the tolerance
    new = tmp_path / "credit-slower.json"
    new.write_text(json.dumps(slower))
    comparison = compare_results(new, committed)
    assert [(d.name, d.worse_by) for d in comparison.regressions] == [("API, prediction logging on: p50", 0.5)]
    (alert,) = list_alerts(domain="platform")
    assert "API, prediction logging on: p50" in alert.title and committed.name in alert.message
