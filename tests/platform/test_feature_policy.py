"""A card's feature_policy: what it must say to load, and how a model's feature list is held against it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from inloop.cards import CardError, load_card
from inloop.feature_policy import FeaturePolicyError, check_features, require_allowed_features

CREDIT_CARD = Path(__file__).resolve().parents[2] / "domains" / "credit" / "project.yaml"


def _card_with(tmp_path: Path, policy: dict) -> Path:
    data = yaml.safe_load(CREDIT_CARD.read_text())
    data["feature_policy"] = policy
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


POLICY = {"approved_by": "Compliance", "forbidden": ["nationality", "age", "sex"],
          "features": [{"name": "income", "sources": ["loan_history"], "why": "repayment ability"},
                       {"name": "age_band", "sources": ["loan_history"], "protected": True, "why": "agreed, banded"}]}


@pytest.mark.rubric("data-4")
def test_features_are_judged_by_name_source_and_forbidden_attribute(tmp_path: Path) -> None:
    card = load_card(_card_with(tmp_path, POLICY))
    assert check_features(card, {"income": ["loan_history"], "age_band": ["loan_history"]}) == []
    found = {v.feature: v.problem for v in check_features(card, {
        "income": ["loan_history", "credit_bureau"],  # an unapproved source
        "applicant_nationality": ["loan_history"],  # named after a forbidden attribute
        "age": [],  # the forbidden attribute itself
        "shoe_size": [],  # simply not agreed
    })}
    assert set(found) == {"income", "applicant_nationality", "age", "shoe_size"}
    assert "credit_bureau" in found["income"] and "nationality" in found["applicant_nationality"]
    assert "forbidden" in found["age"] and "not in the card's feature_policy" in found["shoe_size"]
    with pytest.raises(FeaturePolicyError, match="shoe_size"):
        require_allowed_features(card, ["income", "shoe_size"])


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p["features"].append({"name": "age", "sources": ["loan_history"], "why": "x y z"}), "forbidden list"),
    (lambda p: p["features"][1].update(protected=False), "named after a forbidden attribute"),
    (lambda p: p["features"][0].update(sources=["scraped_web"]), "not in data_sources"),
    (lambda p: p["features"].append(dict(p["features"][0])), "twice"),
])
def test_a_policy_that_contradicts_itself_does_not_load(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    policy = {**POLICY, "features": [dict(f) for f in POLICY["features"]]}
    change(policy)
    with pytest.raises(CardError, match=message):
        load_card(_card_with(tmp_path, policy))


def test_a_card_without_a_policy_cannot_be_checked(tmp_path: Path) -> None:
    data = yaml.safe_load(CREDIT_CARD.read_text())
    data.pop("feature_policy", None)
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ValueError, match="no feature_policy"):
        check_features(load_card(path), ["income"])
