"""Numerical stability of the recommender: NaN/inf stop training and are never ranked on, with an alert."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from inloop.alerts import list_alerts
from inloop.stability import NonFiniteError
from recommender.lib.collaborative import train_als


@pytest.mark.rubric("monitor-5")
def test_training_refuses_event_weights_that_are_not_numbers(shop) -> None:  # type: ignore[no-untyped-def]
    events = shop.events.head(5_000).copy()
    # An upstream change: a new event type the weights table does not know maps to NaN.
    events.loc[events.index[:7], "event_type"] = "wishlist"
    with pytest.raises(NonFiniteError) as caught:
        train_als(events, shop.catalog, shop.spec.n_accounts, factors=4, iterations=1)
    assert " NaN of " in caught.value.problems["features"]  # cells of the 7 events (duplicates are summed)
    (alert,) = list_alerts(domain="recommender")
    assert alert.source == "stability" and "training" in alert.title and alert.severity == "ERROR"


@pytest.mark.rubric("monitor-5")
def test_a_model_with_nan_factors_is_never_ranked_on_and_alerts(shop, trained) -> None:  # type: ignore[no-untyped-def]
    service, _ = trained
    factors = service.model.item_factors.copy()
    factors[:, 0] = np.nan  # a corrupted model file: one factor is NaN for every article
    broken = type(service)(service.assortment, service.history,
                           dataclasses.replace(service.model, item_factors=factors), service.popularity, service.config)
    account = int(shop.events["account_id"].value_counts().index[0])  # the busiest account: it has a history
    view, _ = service.render(account, "home", "desktop", shop.spec.end, log=False)  # the healthy model serves
    assert any(b.component == "recommendations_box" for b in view.boxes)
    with pytest.raises(NonFiniteError, match="scores"):
        broken.render(account, "home", "desktop", shop.spec.end, log=False)
    alerts = [a for a in list_alerts(domain="recommender") if a.source == "stability"]
    assert len(alerts) == 1 and "serving" in alerts[0].title
