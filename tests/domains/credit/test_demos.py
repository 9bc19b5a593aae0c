"""The credit worst-case demos pass: each story's claims hold against the real system."""

from __future__ import annotations

from pathlib import Path

import pytest
from credit.domain import domain
from inloop.demos import run_demo


@pytest.mark.parametrize("demo_id", ["why-rejected", "unit-change", "silent-degradation", "bad-model-refused"])
def test_demo_story_holds(demo_id: str, champion_env: Path) -> None:
    result = run_demo(domain.demos()[demo_id])
    failed = [s.title for s in result.failed_claims]
    assert result.passed, f"{demo_id}: error={result.error} failed claims={failed}"
