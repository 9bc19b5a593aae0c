"""Every demo run through the platform's runner is stored: the console shows it without running anything."""

from __future__ import annotations

import pandas as pd

from inloop.demos import Demo, DemoTrace, last_demo_runs, run_demo


def _story(holds: bool):
    def run(trace: DemoTrace) -> None:
        trace.step("input", "A scan arrives", image=b"\x89PNG....", table=pd.DataFrame({"a": [1, 2]}))
        trace.claim(holds, "The invoice is not lost", gap=0)
    return run


def test_each_run_is_stored_with_verdict_steps_and_source() -> None:
    demo = Demo("lost-scan", "A lost scan", "story", _story(True), ("never-lose",))
    run_demo(demo, domain="shop")
    run_demo(Demo("lost-scan", "A lost scan", "story", _story(False)), domain="shop", source="console")
    run_demo(Demo("other", "Another", "story", _story(True)), domain="shop", store=False)
    [last] = last_demo_runs("shop")
    assert (last.demo_id, last.passed, last.source) == ("lost-scan", False, "console")
    assert [s.kind for s in last.steps] == ["input", "claim"]
    assert last.steps[1].ok is False and last.steps[1].title == "The invoice is not lost"
    assert last.steps[0].evidence["table"] == [{"a": 1}, {"a": 2}]
    assert "bytes" in last.steps[0].evidence["image"]
    first, second = last_demo_runs("shop", "lost-scan", per_demo=5)
    assert (first.passed, second.passed, second.source) == (False, True, "test suite")  # newest first; pytest run


def test_the_domain_defaults_to_the_story_functions_package() -> None:
    from credit.domain import domain

    demo = domain.demos()["why-rejected"]
    from inloop.demos import demo_domain

    assert demo_domain(demo) == "credit"


def test_a_database_that_cannot_store_does_not_fail_the_demo(monkeypatch) -> None:
    monkeypatch.setenv("INLOOP_DATABASE_URL", "sqlite:////nonexistent-dir/x.db")
    from inloop.settings import reset_settings

    reset_settings()
    result = run_demo(Demo("ok", "fine", "story", _story(True)), domain="shop")
    assert result.passed
