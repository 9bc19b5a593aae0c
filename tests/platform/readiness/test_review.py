"""Review is recorded (ML Test Score model-1): CODEOWNERS names who reviews every card, policy and model file.

The promotion side (the reviewer stored with each promotion and shown on the model card) is tested in
tests/platform/test_canary.py.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from inloop.readiness.collect import INSTALLED_REPO, repo_domains

CODEOWNERS = INSTALLED_REPO / ".github" / "CODEOWNERS"
REVIEWERS = "@inloop/ml-review"


def _rules() -> list[tuple[str, list[str]]]:
    rules = []
    for line in CODEOWNERS.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            pattern, *owners = line.split()
            rules.append((pattern, owners))
    return rules


def _owners(path: str, rules: list[tuple[str, list[str]]]) -> list[str]:
    """GitHub's rule for the anchored patterns used here: the last matching pattern wins."""
    found: list[str] = []
    for pattern, owners in rules:
        body = pattern.lstrip("/")
        hit = path.startswith(body) if body.endswith("/") else fnmatch.fnmatch(path, body)
        if hit:
            found = owners
    return found


@pytest.mark.rubric("model-1")
def test_every_card_policy_and_model_file_has_owners_who_review_it_and_no_rule_is_stale() -> None:
    rules = _rules()
    assert rules, f"{CODEOWNERS} has no rules"
    for pattern, owners in rules:
        assert owners and all(o.startswith("@") for o in owners), f"{pattern}: owners must be @team or @user"
        if "*" not in pattern:  # a rule for a path that no longer exists reviews nothing
            assert (INSTALLED_REPO / pattern.lstrip("/")).exists(), f"CODEOWNERS names a missing path: {pattern}"
    reviewed = [f"domains/{name}/project.yaml" for name in repo_domains(INSTALLED_REPO)]
    reviewed += ["domains/credit/policy.yaml", "domains/invoice_ocr/src/invoice_ocr/lib/policy.py",
                 "domains/recommender/src/recommender/defs/model.py", "domains/credit/src/credit/lib/model.py",
                 "platform/src/inloop/canary.py", "platform/src/inloop/model_card.py"]
    assert len(reviewed) >= 9
    for path in reviewed:
        assert (INSTALLED_REPO / path).exists(), path
        owners = _owners(path, rules)
        assert REVIEWERS in owners, f"{path} is not reviewed by {REVIEWERS} (owners: {owners or 'none'})"
    # every domain folder has an owning team beyond the reviewers
    for name in repo_domains(INSTALLED_REPO):
        assert [o for o in _owners(f"domains/{name}/src/x.py", rules) if o != REVIEWERS], name
    assert _owners("README.md", rules) == []  # the rules are scoped, not a catch-all


def test_the_owners_rule_matching_is_last_match_wins() -> None:
    rules = [("/domains/", ["@a"]), ("/domains/*/project.yaml", ["@b"])]
    assert _owners("domains/credit/project.yaml", rules) == ["@b"]
    assert _owners("domains/credit/src/credit/x.py", rules) == ["@a"]
    assert _owners(str(Path("docs") / "x.md"), rules) == []
