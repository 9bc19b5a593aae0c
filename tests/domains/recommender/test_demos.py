"""The worst-case demo tells a true story: it passes only if every claim held."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from inloop import db
from inloop.alerts import list_alerts
from inloop.db.models import Prediction
from inloop.demos import run_demo
from recommender.demos import DEMOS
from recommender.domain import domain


def test_every_demo_named_on_the_card_is_registered():
    named = {c.demo for c in domain.card().concerns if c.demo}
    assert named <= set(domain.demos())


def test_womens_bag_on_mens_page():
    result = run_demo(DEMOS["womens-bag-on-mens-page"])
    assert result.error is None
    assert result.passed, [s.title for s in result.failed_claims]
    titles = [s.title for s in result.steps if s.kind == "claim"]
    assert any("not a recommendation" in t for t in titles)
    assert any("recommendations box is unchanged" in t for t in titles)
    report = next(s for s in result.steps if s.title.startswith("A colleague reports"))
    # The request ids the story points at are real entries of the prediction log.
    with db.read_session() as sess:
        logged = set(sess.scalars(sa.select(Prediction.request_id).where(
            Prediction.request_id.in_(list(report.evidence["request_ids"].values())))))
    assert logged == set(report.evidence["request_ids"].values())
    result_step = next(s for s in result.steps if s.kind == "result")
    assert result_step.evidence["before"] > 0 and result_step.evidence["after"] == 0


@pytest.mark.slow  # MLflow's first use of a fresh tracking database dominates (~10 s on two cores)
@pytest.mark.rubric("infra-4", "model-5")
def test_model_no_better_than_bestsellers_is_refused_and_the_champion_keeps_serving():
    result = run_demo(DEMOS["model-no-better-than-bestsellers"])
    assert result.error is None
    assert result.passed, [s.title for s in result.failed_claims]
    from inloop import tracking
    from recommender.lib.registry import MODEL_NAME

    assert str(tracking.champion_version(MODEL_NAME)) == "1"
    [alert] = list_alerts("recommender")
    assert alert.concern_id == "model-beats-popularity" and alert.severity == "ERROR"
