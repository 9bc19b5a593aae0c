"""The recommender's inputs adhere to the card's feature_policy, and the declared inputs are all the model uses."""

from __future__ import annotations

import numpy as np
import pytest

from inloop.feature_policy import FeaturePolicyError, require_allowed_features
from recommender.domain import domain
from recommender.lib import feature_inputs
from recommender.lib.collaborative import MODEL_INPUTS, train_als
from recommender.lib.history import time_split


@pytest.mark.rubric("data-4")
def test_every_input_the_model_and_page_service_read_is_allowed_from_its_source() -> None:
    card = domain.card()
    assert feature_inputs.check_inputs(card) == []
    used = feature_inputs.inputs_in_use()
    assert "person_id" not in used and "section" not in used  # the shop never knows who holds the device
    assert {f.name for f in card.feature_policy.features if f.protected} == {"size"}


@pytest.mark.rubric("data-4")
def test_the_model_reads_only_its_declared_inputs_and_adding_a_forbidden_one_fails(shop, monkeypatch) -> None:
    split = time_split(shop.events, 7)
    model = train_als(split.train, shop.catalog, shop.spec.n_accounts, iterations=3)
    # scramble every column the declaration leaves out: the model does not change
    undeclared = [c for c in split.train.columns if c not in MODEL_INPUTS["shop_events"]]
    assert "person_id" in undeclared
    rng = np.random.default_rng(0)
    scrambled = split.train.assign(**{c: rng.permutation(split.train[c].to_numpy()) for c in undeclared})
    again = train_als(scrambled, shop.catalog, shop.spec.n_accounts, iterations=3)
    assert np.array_equal(model.item_factors, again.item_factors)

    # a developer lets the model learn from the person behind the account: refused by the policy
    monkeypatch.setitem(MODEL_INPUTS, "shop_events", (*MODEL_INPUTS["shop_events"], "person_id"))
    with pytest.raises(FeaturePolicyError, match="person_id.*forbidden"):
        require_allowed_features(domain.card(), feature_inputs.inputs_in_use())
    # an allowed column from a source nobody approved for it (article names from the clickstream)
    monkeypatch.setitem(MODEL_INPUTS, "shop_events", ("account_id", "item_id", "event_type", "ts", "name"))
    assert [v.feature for v in feature_inputs.check_inputs(domain.card())] == ["name"]
