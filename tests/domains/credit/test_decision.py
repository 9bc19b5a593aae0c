"""The decision service: policy before model, reasons in plain words, a deterministic live test set, a log."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from credit.lib.data import generate_applications
from credit.lib.decision import DecisionService, in_live_test_set
from credit.lib.features import build_features, labels
from credit.lib.model import train_risk_model
from credit.lib.policy import default_policy_path, load_policy, parse_policy
from inloop.predictions import get_prediction


@pytest.fixture(scope="module")
def service() -> DecisionService:
    history = generate_applications(6_000, seed=3)
    return DecisionService(train_risk_model(build_features(history), labels(history), num_rounds=120),
                           load_policy(), model_version="7")


@pytest.fixture(scope="module")
def applicants() -> pd.DataFrame:
    return generate_applications(3_000, seed=4, months=[18]).drop(columns=["default_12m"])


def _policy(**changes: object):  # type: ignore[no-untyped-def]
    data = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    return parse_policy(yaml.safe_dump({**data, **changes}))


def test_every_decision_has_reasons_that_point_the_right_way(service: DecisionService,
                                                             applicants: pd.DataFrame) -> None:
    decisions = service.decide_batch(applicants, log=False)
    kinds = {d.policy_decision for d in decisions}
    assert kinds == {"approve", "refer", "reject"}
    for d in decisions:
        assert d.reasons, d
        model_reasons = [r for r in d.reasons if not r.code.startswith("rule:")]
        against = d.policy_decision != "approve"
        assert all((r.contribution > 0) == against for r in model_reasons)
        assert [abs(r.contribution) for r in model_reasons] == sorted((abs(r.contribution) for r in model_reasons),
                                                                      reverse=True)
        assert all(r.text and "_" not in r.text for r in d.reasons)  # plain words, not column names


def test_cutoffs_turn_probability_into_decisions(service: DecisionService, applicants: pd.DataFrame) -> None:
    cut = service.policy.cutoffs
    for d in service.decide_batch(applicants, log=False):
        if d.hard_rule is None:
            expected = ("approve" if d.probability_of_default < cut.approve_below else
                        "reject" if d.probability_of_default >= cut.reject_from else "refer")
            assert d.policy_decision == expected


def test_live_test_set_is_deterministic_and_about_two_percent() -> None:
    policy = load_policy()
    ids = [f"A{i:06d}" for i in range(20_000)]
    members = [i for i in ids if in_live_test_set(i, policy)]
    assert 0.015 < len(members) / len(ids) < 0.025
    assert members == [i for i in ids if in_live_test_set(i, policy)]
    resalted = _policy(live_test_set={"share": 0.02, "salt": "another-salt"})
    assert members != [i for i in ids if in_live_test_set(i, resalted)]


def test_live_test_set_lifts_model_rejections_but_never_hard_rules(service: DecisionService,
                                                                   applicants: pd.DataFrame) -> None:
    everyone_in = service.with_policy(_policy(live_test_set={"share": 0.05, "salt": "x" * 8}))
    decisions = everyone_in.decide_batch(applicants, log=False)
    live = [d for d in decisions if d.live_test_set]
    assert live and all(d.decision == "approve" or d.hard_rule for d in live)
    assert any(d.policy_decision == "reject" and d.decision == "approve" for d in live)
    assert all(d.decision == d.policy_decision for d in decisions if not d.live_test_set)

    poor = applicants.iloc[[0]].copy()
    poor["income_monthly_eur"] = 500.0
    poor["application_id"] = next(f"P{i}" for i in range(10_000) if in_live_test_set(f"P{i}", service.policy))
    [d] = service.decide_batch(poor, log=False)
    assert d.live_test_set and d.decision == "reject" and d.hard_rule == "minimum-income"
    assert d.reasons[0].code == "rule:minimum-income" and "EUR 600" in d.reasons[0].text


def test_an_override_decides_as_if_the_permit_were_unknown(service: DecisionService,
                                                           applicants: pd.DataFrame) -> None:
    temporary = applicants[applicants["residence_permit"].astype(str) == "temporary"]
    permit_blind = service.with_policy(_policy(version="test-override", overrides=[{
        "id": "permit-alone-is-no-reason", "description": "decide as if the permit were unknown",
        "when": [{"feature": "residence_permit", "op": "in", "value": ["temporary"]}],
        "ignore_feature": "residence_permit"}]))
    before = service.decide_batch(temporary, log=False)
    after = permit_blind.decide_batch(temporary, log=False)
    assert permit_blind.model is service.model  # no retraining
    assert all(a.overrides == ["permit-alone-is-no-reason"] for a in after)
    assert all(r.code != "residence_permit" for a in after for r in a.reasons)
    assert sum(a.probability_of_default < b.probability_of_default for a, b in zip(after, before, strict=True)) \
        > len(before) / 2  # a temporary permit raised the estimated risk for most of them
    # Citizens are not matched by the override: nothing changes for them.
    citizens = applicants[applicants["residence_permit"].astype(str) == "citizen"].head(50)
    assert [d.probability_of_default for d in permit_blind.decide_batch(citizens, log=False)] == \
        [d.probability_of_default for d in service.decide_batch(citizens, log=False)]


def test_every_decision_is_logged_with_model_and_policy_version(service: DecisionService,
                                                                applicants: pd.DataFrame) -> None:
    application = applicants.iloc[5].to_dict()
    decision = service.decide(application)
    logged = get_prediction(decision.request_id or "")
    assert (logged.domain, logged.component, logged.model_version, logged.policy_version) == \
        ("credit", "loan_decision", "7", service.policy.version)
    assert logged.subject_id == application["application_id"]
    assert logged.features["application_duration_seconds"] == application["application_duration_seconds"]
    assert logged.output["decision"] == decision.decision
    assert logged.output["reasons"][0]["text"] == decision.reasons[0].text
    assert logged.live_test_set == decision.live_test_set
    assert logged.latency_ms is not None


def test_an_application_without_id_is_refused(service: DecisionService, applicants: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"lacks input\(s\) \['application_id'\]"):
        service.decide_batch(applicants.drop(columns=["application_id"]).head(3), log=False)


def test_unreadable_applications_are_refused_with_what_is_wrong(service: DecisionService,
                                                                applicants: pd.DataFrame) -> None:
    broken = applicants.head(3).copy()
    broken["residence_permit"] = broken["residence_permit"].astype(str)
    broken.loc[broken.index[0], "residence_permit"] = "tourist"
    broken.loc[broken.index[1], "income_monthly_eur"] = None
    with pytest.raises(ValueError) as error:
        service.decide_batch(broken, log=False)
    assert "residence_permit must be one of citizen" in str(error.value) and "'tourist'" in str(error.value)
    assert "income_monthly_eur must be a number" in str(error.value)
    with pytest.raises(ValueError, match=r"lacks input\(s\) \['channel'\]"):
        service.decide_batch(applicants.drop(columns=["channel"]).head(3), log=False)


@pytest.mark.rubric("monitor-3")
def test_the_fast_path_scores_exactly_like_the_model_on_a_frame(service: DecisionService,
                                                                applicants: pd.DataFrame) -> None:
    import numpy as np

    expected = service.model.probability(build_features(applicants))
    fast = [d.probability_of_default for d in service.decide_batch(applicants, log=False)]
    single = service.decide(applicants.iloc[17].to_dict(), log=False).probability_of_default
    np.testing.assert_allclose(fast, expected, atol=1e-6)
    assert single == fast[17]
