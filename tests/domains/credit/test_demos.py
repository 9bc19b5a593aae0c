"""The credit worst-case demos pass: each story's claims hold against the real system."""

from __future__ import annotations

from pathlib import Path

import pytest

from credit.domain import domain
from inloop.demos import run_demo


# The monitoring demos run whole pipelines (drift reports, 12,000 decisions, a retraining): they are
# marked slow, so they run in the full suite but not in a quick `-m "not slow"` pass.
@pytest.mark.parametrize("demo_id", [
    "why-rejected",
    pytest.param("unit-change", marks=[pytest.mark.slow, pytest.mark.rubric("monitor-2", "monitor-3")]),
    pytest.param("silent-degradation", marks=[pytest.mark.slow, pytest.mark.rubric("monitor-7")]),
    pytest.param("bad-model-refused", marks=[pytest.mark.slow, pytest.mark.rubric("infra-4", "model-5")]),
])
def test_demo_story_holds(demo_id: str, champion_env: Path) -> None:
    result = run_demo(domain.demos()[demo_id])
    failed = [s.title for s in result.failed_claims]
    assert result.passed, f"{demo_id}: error={result.error} failed claims={failed}"
