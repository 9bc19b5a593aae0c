"""Features adhere to meta-level requirements: a model's feature list held against its card's policy.

A project card's ``feature_policy`` (see :class:`inloop.cards.FeaturePolicy`) lists every feature the
stakeholders allow, the data sources each may come from, which are protected attributes (allowed only
with the reason recorded beside them), and attributes no feature may ever be. :func:`check_features`
compares what a trained model really uses — its feature names and the source each was read from —
with that policy; :func:`require_allowed_features` refuses to go on (training, registering) otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from inloop.cards import ProjectCard
from inloop.readiness import rubric

__all__ = ["FeaturePolicyError", "Violation", "check_features", "require_allowed_features"]


@dataclass(frozen=True)
class Violation:
    feature: str
    problem: str

    def __str__(self) -> str:
        return f"{self.feature}: {self.problem}"


class FeaturePolicyError(ValueError):
    """A model uses a feature (or a source) its card's feature policy does not allow."""

    def __init__(self, domain: str, violations: Sequence[Violation]) -> None:
        self.violations = list(violations)
        super().__init__(f"{domain}: the model's features break the card's feature_policy: "
                         + "; ".join(str(v) for v in self.violations))


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_").replace(" ", "_")


def _forbidden_in(name: str, forbidden: Sequence[str]) -> str | None:
    """The forbidden attribute ``name`` is or is named after (``applicant_nationality``), if any."""
    norm = _normalise(name)
    return next((f for f in forbidden if f == norm or f"_{f}_" in f"_{norm}_"), None)


@rubric("data-4", how="automated", what="a model's features and their sources are held against the card's feature_policy "
        "(allowed features, approved sources, forbidden attributes); training refuses a violation")
def check_features(card: ProjectCard, used: Mapping[str, Sequence[str]] | Sequence[str]) -> list[Violation]:
    """Everything in ``used`` the policy does not allow; empty when the features adhere to it.

    ``used`` maps each feature to the data sources it was read from, or is a plain list of feature names
    (then only names are judged). A feature is refused when the policy does not list it (the message says
    when it is, or is named after, a forbidden attribute: ``nationality`` also catches
    ``applicant_nationality``) or when it comes from a source the policy does not approve for it.
    """
    policy = card.feature_policy
    if policy is None:
        raise ValueError(f"{card.domain}: the project card has no feature_policy to check the features against")
    sources_of = dict(used) if isinstance(used, Mapping) else {name: () for name in used}
    if not sources_of:
        raise ValueError("no features given to check")
    forbidden = [_normalise(f) for f in policy.forbidden]
    violations: list[Violation] = []
    for name, sources in sources_of.items():
        allowed = policy.feature(name)
        if allowed is None:
            hit = _forbidden_in(name, forbidden)
            problem = (f"is (or is named after) the forbidden attribute {hit!r}" if hit is not None else
                       "is not in the card's feature_policy (add it there, with its sources and why, for review)")
            violations.append(Violation(name, problem))
            continue
        bad = sorted(set(sources) - set(allowed.sources))
        if bad:
            violations.append(Violation(name, f"comes from {bad}, not an approved source ({allowed.sources})"))
    return violations


def require_allowed_features(card: ProjectCard, used: Mapping[str, Sequence[str]] | Sequence[str]) -> None:
    """Raise :class:`FeaturePolicyError` when :func:`check_features` finds anything."""
    violations = check_features(card, used)
    if violations:
        raise FeaturePolicyError(card.domain, violations)
