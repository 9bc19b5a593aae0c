"""A logged decision reads back and re-runs on the champion with the same result."""

from __future__ import annotations

from pathlib import Path

import pytest

from credit.lib.data import generate_applications
from credit.lib.registry import load_decision_service
from inloop.incidents.replay import replay


@pytest.mark.rubric("infra-5")
def test_a_logged_decision_replays_identically_on_the_champion(champion_env: Path) -> None:
    service = load_decision_service()
    application = generate_applications(200, seed=9, months=[18]).drop(columns=["default_12m"]).iloc[3].to_dict()
    decision = service.decide(application)
    result = replay(decision.request_id or "", against="champion")
    assert result.record.features["income_monthly_eur"] == application["income_monthly_eur"]
    assert result.rerun is not None and result.rerun.model_version == service.model_version
    assert result.rerun.changes == []
    with pytest.raises(LookupError, match="no version or alias 'nope'"):
        replay(decision.request_id or "", against="nope")
