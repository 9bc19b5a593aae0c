"""`inloop replay REQUEST_ID --against champion` for a page box: the logged inputs, rendered again."""

from __future__ import annotations

import datetime as dt

import pytest

from inloop import tracking
from inloop.incidents.replay import replay
from recommender.lib.registry import MODEL_NAME, log_model


@pytest.mark.slow
@pytest.mark.rubric("infra-5")
def test_a_logged_box_replays_identically_on_the_model_that_served_it(monkeypatch, trained) -> None:  # type: ignore[no-untyped-def]
    from inloop.settings import reset_settings

    monkeypatch.setenv("INLOOP_DEMO_DATA_SCALE", "0.4")  # the API's shop = the suite's TEST_SHOP
    reset_settings()
    service, _ = trained
    with tracking.start_run("recommender", "replay-test"):
        version = log_model(service.model)
    assert tracking.promote(MODEL_NAME, version, [tracking.GateResult("test", True, "test model")]).promoted
    view, _ = service.render(12, "men", "app", dt.datetime(2026, 10, 30, 12, tzinfo=dt.UTC), log=True)
    for component, request_id in view.request_ids.items():
        result = replay(request_id, "champion")
        assert result.record.component == component and result.rerun is not None
        assert result.rerun.output["items"] == result.record.output["items"]
        # The bestseller fallback is refit on the serving shop's clickstream, so its version may differ;
        # nothing else may.
        assert {c.path for c in result.rerun.changes} <= {"output.notes.popularity_version"}
    with pytest.raises(LookupError, match="no version or alias"):
        replay(view.request_ids["recommendations_box"], "no-such-alias")
