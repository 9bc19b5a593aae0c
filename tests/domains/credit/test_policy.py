"""The decision policy file: the shipped one is valid; a broken edit is refused with file, field and problem."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

from credit.defs import monitoring
from credit.lib.policy import PolicyError, default_policy_path, load_policy, parse_policy
from inloop.alerts import list_alerts

SHIPPED = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))


def _edited(**changes: object) -> str:
    return yaml.safe_dump({**SHIPPED, **changes}, sort_keys=False)


def test_the_shipped_policy_is_valid() -> None:
    policy = load_policy()
    assert policy.version and policy.owner
    assert 0 < policy.cutoffs.approve_below <= policy.cutoffs.reject_from < 1
    assert policy.live_test_set.share == 0.02
    assert {rule.id for rule in policy.hard_rules} == {"minimum-income", "over-indebted"}


@pytest.mark.parametrize(("changes", "field", "problem"), [
    ({"cutoffs": {"approve_below": 0.4, "reject_from": 0.3}}, "cutoffs", "must not be below approve_below"),
    ({"cutoffs": {"approve_below": 1.5, "reject_from": 0.3}}, "cutoffs.approve_below", "less than 1"),
    ({"hard_rules": [{"id": "x", "reason": "too little income", "when": {"feature": "incom", "op": "<", "value": 1}}]},
     "hard_rules.0.when", "unknown feature 'incom'"),
    ({"hard_rules": [{"id": "x", "reason": "not from here", "when": {"feature": "residence_permit", "op": "in",
                                                                      "value": ["tourist"]}}]},
     "hard_rules.0.when", "has no value(s) ['tourist']"),
    ({"hard_rules": [{"id": "x", "reason": "too little income", "when": {"feature": "income_monthly_eur", "op": "<",
                                                                          "value": "low"}}]},
     "hard_rules.0.when", "compare it with a number"),
    ({"overrides": [{"id": "o", "description": "ignore the permit", "when": [], "ignore_feature": "residence_permit"}]},
     "overrides.0.when", "at least 1 item"),
    ({"overrides": [{"id": "o", "description": "ignore the permit", "ignore_feature": "permit",
                     "when": [{"feature": "channel", "op": "==", "value": "web"}]}]},
     "overrides.0.ignore_feature", "unknown feature 'permit'"),
    ({"live_test_set": {"share": 0.2, "salt": "abcd"}}, "live_test_set.share", "less than or equal to 0.05"),
    ({"hard_rules": SHIPPED["hard_rules"] * 2}, "(policy)", "ids must be unique: minimum-income, over-indebted"),
    ({"cut_offs": {}}, "cut_offs", "unknown field"),
])
def test_a_broken_edit_names_the_field_and_the_problem(changes: dict, field: str, problem: str) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policy(_edited(**changes), "policy.yaml")
    message = str(error.value)
    assert message.startswith("policy.yaml: invalid decision policy")
    assert any(p.startswith(f"{field}:") and problem in p for p in error.value.problems), message


def test_yaml_syntax_and_missing_file_are_reported(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"line \d+: YAML syntax"):
        parse_policy("version: x\ncutoffs: [\n")
    with pytest.raises(PolicyError, match="file not found"):
        load_policy(tmp_path / "nope.yaml")
    with pytest.raises(PolicyError, match="must be a YAML mapping"):
        parse_policy("- a list\n")


def test_a_broken_policy_file_fails_the_blocking_check_and_alerts(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "policy.yaml"
    broken.write_text(_edited(cutoffs={"approve_below": 0.5, "reject_from": 0.2}), encoding="utf-8")
    monkeypatch.setattr(monitoring, "default_policy_path", lambda: broken)
    result = dg.materialize([monitoring.decision_policy, monitoring.decision_policy_valid], raise_on_error=False)
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == "decision_policy_valid" and not evaluation.passed
    assert "must not be below approve_below" in evaluation.metadata["summary"].value
    [alert] = list_alerts("credit")
    assert alert.concern_id == "change-logic-without-retraining"
