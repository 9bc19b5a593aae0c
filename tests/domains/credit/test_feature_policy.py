"""Credit's features adhere to the card's feature_policy: the trained champion does, a forbidden one cannot."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from credit.defs.card import credit_card
from credit.lib.data import generate_applications
from credit.lib.features import FEATURES, build_features, labels
from credit.lib.model import train_risk_model
from inloop.feature_policy import FeaturePolicyError, check_features, require_allowed_features


@pytest.mark.rubric("data-4")
def test_the_trained_model_uses_only_allowed_features_from_the_loan_book(
        credit_world: tuple[Path, dg.ExecuteInProcessResult]) -> None:
    _, run = credit_world
    model = run.output_for_node("risk_model_candidate").model  # the pipeline's step already checked it
    assert model.features == FEATURES
    policy = credit_card().feature_policy
    assert policy is not None and {f.name for f in policy.features} >= set(FEATURES)
    assert check_features(credit_card(), {f: ["loan_history"] for f in model.features}) == []
    # the two protected inputs are allowed only as documented, protected features
    assert {f.name for f in policy.features if f.protected} == {"age_band", "residence_permit"}
    assert {"nationality", "sex", "age"} <= set(policy.forbidden)


@pytest.mark.rubric("data-4")
def test_adding_a_forbidden_or_unapproved_feature_to_the_model_fails() -> None:
    applications = generate_applications(400, seed=3)
    X = build_features(applications)
    X["nationality_code"] = np.random.default_rng(0).integers(0, 5, len(X)).astype(float)
    model = train_risk_model(X, labels(applications), num_rounds=5)
    with pytest.raises(FeaturePolicyError, match="nationality_code.*forbidden attribute 'nationality'"):
        require_allowed_features(credit_card(), {f: ["loan_history"] for f in model.features})
    # an allowed feature from a source nobody approved (a bought bureau feed) fails too
    found = check_features(credit_card(), {"income_monthly_eur": ["credit_bureau"]})
    assert [v.feature for v in found] == ["income_monthly_eur"]
