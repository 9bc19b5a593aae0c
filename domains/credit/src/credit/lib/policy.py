"""The decision policy the business edits (``domains/credit/policy.yaml``), validated strictly.

The model estimates a probability of default; the policy decides. Cut-offs, hard rules and
overrides live in a versioned YAML file owned by Credit Risk, so the lending logic changes
without retraining ("if it only learns from the past, can we still change the logic?").
Loading refuses anything ambiguous and names the file, the field and what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from credit.lib.features import CATEGORIES, FEATURES

__all__ = ["Condition", "Cutoffs", "DecisionPolicy", "HardRule", "LiveTestSet", "Override", "PolicyError",
           "default_policy_path", "load_policy", "parse_policy"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Condition(_Strict):
    """``feature op value``; for categories ``op`` is ``in`` and ``value`` a list."""

    feature: str
    op: Literal["<", "<=", ">", ">=", "==", "in"]
    value: float | str | list[str]

    @model_validator(mode="after")
    def _known(self) -> Condition:
        if self.feature not in FEATURES:
            raise ValueError(f"unknown feature {self.feature!r}; features are {', '.join(FEATURES)}")
        if self.feature in CATEGORIES:
            allowed = CATEGORIES[self.feature]
            values = self.value if isinstance(self.value, list) else [self.value]
            if self.op not in ("in", "=="):
                raise ValueError(f"{self.feature} is a category: use op 'in' with a list or '=='")
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise ValueError(f"{self.feature} has no value(s) {unknown}; it has {', '.join(allowed)}")
        elif not isinstance(self.value, int | float) or isinstance(self.value, bool):
            raise ValueError(f"{self.feature} is a number: compare it with a number, got {self.value!r}")
        elif self.op == "in":
            raise ValueError(f"op 'in' is for categories; {self.feature} is a number")
        return self

    def holds(self, application: dict[str, Any]) -> bool:
        seen = application[self.feature]
        if self.feature in CATEGORIES:
            values = self.value if isinstance(self.value, list) else [self.value]
            return str(seen) in values
        seen = float(seen)
        target = float(self.value)  # type: ignore[arg-type]
        return {"<": seen < target, "<=": seen <= target, ">": seen > target, ">=": seen >= target,
                "==": seen == target}[self.op]


class Cutoffs(_Strict):
    approve_below: float = Field(gt=0, lt=1)
    reject_from: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Cutoffs:
        if self.reject_from < self.approve_below:
            raise ValueError(f"reject_from ({self.reject_from}) must not be below approve_below ({self.approve_below})")
        return self


class HardRule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    reason: str = Field(min_length=5, description="Plain words, shown to the applicant.")
    when: Condition


class Override(_Strict):
    """For applicants matching ``when``, decide as if ``ignore_feature`` were not known."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = Field(min_length=5)
    when: list[Condition] = Field(min_length=1)
    ignore_feature: str

    @field_validator("ignore_feature")
    @classmethod
    def _feature(cls, value: str) -> str:
        if value not in FEATURES:
            raise ValueError(f"unknown feature {value!r}; features are {', '.join(FEATURES)}")
        return value


class LiveTestSet(_Strict):
    share: float = Field(ge=0, le=0.05, description="At most 5 %: the rest of the book follows the model.")
    salt: str = Field(min_length=4)


class DecisionPolicy(_Strict):
    version: str = Field(min_length=1, max_length=64)
    owner: str
    cutoffs: Cutoffs
    hard_rules: list[HardRule] = Field(default_factory=list)
    overrides: list[Override] = Field(default_factory=list)
    live_test_set: LiveTestSet

    @model_validator(mode="after")
    def _unique_ids(self) -> DecisionPolicy:
        ids = [r.id for r in self.hard_rules] + [o.id for o in self.overrides]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rule/override ids must be unique: {', '.join(duplicates)}")
        return self


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file, the field and the problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid decision policy\n" + "\n".join(f"  - {p}" for p in problems))


def default_policy_path() -> Path:
    """``domains/credit/policy.yaml`` next to the project card."""
    return Path(__file__).resolve().parents[3] / "policy.yaml"


def parse_policy(text: str, source: str = "<policy>") -> DecisionPolicy:
    """Validate policy YAML text; raises :class:`PolicyError` with every problem found."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise PolicyError(source, [f"{where}YAML syntax: {getattr(exc, 'problem', None) or exc}"]) from None
    if not isinstance(data, dict):
        raise PolicyError(source, [f"the policy must be a YAML mapping, got {type(data).__name__}"])
    try:
        return DecisionPolicy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(policy)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (typo?)"
            problems.append(f"{where}: {msg}")
        raise PolicyError(source, problems) from None


def load_policy(path: str | Path | None = None) -> DecisionPolicy:
    """Load and validate the policy file (default: :func:`default_policy_path`)."""
    path = Path(path) if path else default_policy_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(str(path), ["file not found"]) from None
    return parse_policy(text, str(path))
