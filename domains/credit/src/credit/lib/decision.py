"""The decision service: application -> probability of default -> policy -> decision with reasons.

A plain function the API and the demos call. For each application it

1. scores the probability of default with the risk model and takes the per-feature
   contributions (LightGBM ``pred_contrib``) in the same pass;
2. applies the business's policy: hard rules first, then overrides (decide as if a feature were
   unknown, by removing its contribution), then the cut-offs;
3. applies the live test set: for a deterministic ~2 % of applicants a model rejection is not
   applied (hard rules still are) and the decision is flagged, so true performance can be measured;
4. explains the decision with reason codes in plain words (the strongest contributions against
   the applicant for a rejection or referral, in their favour for an approval);
5. logs it to the platform prediction log with the model and policy versions.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from credit.lib.features import DERIVED, FEATURES
from credit.lib.model import RiskModel
from credit.lib.policy import DecisionPolicy
from inloop.stability import require_finite

__all__ = ["COMPONENT", "MODEL_NAME", "Decision", "DecisionService", "Reason", "in_live_test_set", "reason_text"]

MODEL_NAME = "credit-default-risk"
COMPONENT = "loan_decision"
DecisionKind = Literal["approve", "refer", "reject"]
REASONS_PER_DECISION = 3


@dataclass(frozen=True)
class Reason:
    code: str
    text: str
    contribution: float


@dataclass(frozen=True)
class Decision:
    application_id: str
    decision: DecisionKind
    probability_of_default: float
    reasons: list[Reason]
    policy_version: str
    model_name: str
    model_version: str
    live_test_set: bool = False
    policy_decision: DecisionKind | None = None
    hard_rule: str | None = None
    overrides: list[str] = field(default_factory=list)
    request_id: str | None = None

    def output(self) -> dict[str, Any]:
        """What the prediction log and the API return."""
        out = asdict(self)
        out.pop("request_id")
        return out


def in_live_test_set(application_id: str, policy: DecisionPolicy) -> bool:
    """Deterministic membership: the same applicant is always in or out, whatever the order."""
    digest = hashlib.sha256(f"{policy.live_test_set.salt}:{application_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < policy.live_test_set.share


def reason_text(feature: str, value: Any, against: bool) -> str:
    """A contribution in the applicant's words."""
    if feature == "income_monthly_eur":
        return f"Net monthly income of EUR {value:,.0f} is {'low' if against else 'solid'} for this loan"
    if feature == "burden":
        return f"The monthly instalment would be {value:.0%} of net income"
    if feature == "employment_years":
        return f"{value:.1f} years with the current employer"
    if feature == "existing_credits":
        n = int(value)
        return f"{n} running credit{'s' if n != 1 else ''} at other lenders" if n else "No running credits elsewhere"
    if feature == "residence_permit":
        return {"citizen": "Citizen", "permanent": "Permanent residence permit", "eu_worker": "EU worker",
                "temporary": "Temporary residence permit (recently moved here)"}.get(str(value), f"Residence: {value}")
    if feature == "age_band":
        return f"Age band {value}"
    if feature == "channel":
        return {"partner": "Applied through a partner shop", "web": "Applied online", "app": "Applied in the app",
                "branch": "Applied in a branch"}.get(str(value), f"Applied through {value}")
    if feature == "application_duration_seconds":
        return f"Application form completed in {value / 60:.0f} minutes"
    if feature == "loan_amount_eur":
        return f"Loan amount of EUR {value:,.0f}"
    if feature == "loan_duration_months":
        return f"Loan term of {int(value)} months"
    return f"{feature.replace('_', ' ')}: {value}"


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _read_applications(applications: Sequence[Mapping[str, Any]],
                       used: frozenset[str] | None = None) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Each application's feature values (for the policy) and the feature matrix (for the model).

    Refuses applications the model cannot read at all — missing inputs, unknown categories,
    non-numbers — naming the field, the value and the application. Values that are readable but
    implausible (a duration in milliseconds) are decided and left to the monitoring checks, as on
    the real live path. Plain Python, no pandas: one application takes microseconds. ``used`` are
    the features the model reads: an input outside it may be empty (a source that lacks it, e.g.
    the German credit data has no income), and is NaN for the policy.
    """
    from credit.lib.data import MODEL_INPUTS
    from credit.lib.features import CATEGORIES

    codes = {name: {v: i for i, v in enumerate(values)} for name, values in CATEGORIES.items()}
    records: list[dict[str, Any]] = []
    matrix = np.empty((len(applications), len(FEATURES)))
    problems: list[str] = []
    for row_index, application in enumerate(applications):
        missing = [c for c in ("application_id", *MODEL_INPUTS) if c not in application]
        if missing:
            raise ValueError(f"application {application.get('application_id', row_index)} lacks input(s) {missing}")
        record: dict[str, Any] = {}
        for col, name in enumerate(FEATURES):
            if name in DERIVED:  # its inputs come before it in FEATURES, so the record holds them
                try:
                    value = DERIVED[name].compute(*(record[c] for c in DERIVED[name].inputs))
                except (TypeError, ZeroDivisionError):
                    value = math.nan
                matrix[row_index, col] = value
            elif name in codes:
                value = application[name]
                value = str(value) if value is not None and not (isinstance(value, float) and math.isnan(value)) \
                    else None
                if value is None and used is not None and name not in used:
                    matrix[row_index, col] = math.nan
                elif value not in codes[name]:
                    problems.append(f"{name} must be one of {', '.join(CATEGORIES[name])} "
                                    f"(got {application[name]!r} for {application['application_id']})")
                    matrix[row_index, col] = math.nan
                else:
                    matrix[row_index, col] = codes[name][value]
            else:
                try:
                    value = float(application[name])
                except (TypeError, ValueError):
                    value = math.nan
                if math.isnan(value) and (used is None or name in used):
                    problems.append(f"{name} must be a number (got {application[name]!r} for "
                                    f"{application['application_id']})")
                matrix[row_index, col] = value
            record[name] = value
        records.append(record)
        if len(problems) >= 10:
            break
    if problems:
        raise ValueError("unusable application(s): " + "; ".join(problems))
    return records, matrix


class DecisionService:
    """Decides loan applications with one model version and one policy version."""

    def __init__(self, model: RiskModel, policy: DecisionPolicy, *, model_version: str,
                 model_name: str = MODEL_NAME, domain: str = "credit") -> None:
        self.model = model
        self.policy = policy
        self.model_version = str(model_version)
        self.model_name = model_name
        self.domain = domain

    def with_policy(self, policy: DecisionPolicy) -> DecisionService:
        """The same model under another policy (a policy change needs no retraining)."""
        return DecisionService(self.model, policy, model_version=self.model_version, model_name=self.model_name,
                               domain=self.domain)

    def decide(self, application: Mapping[str, Any], *, log: bool = True) -> Decision:
        """Decide one application (a mapping of the application's inputs plus ``application_id``)."""
        return self.decide_many([application], log=log)[0]

    def decide_batch(self, applications: pd.DataFrame, *, log: bool = True) -> list[Decision]:
        """Decide every application of a frame, in one scoring pass; log them in one transaction."""
        return self.decide_many(applications.to_dict(orient="records"), log=log)

    def decide_many(self, applications: Sequence[Mapping[str, Any]], *, log: bool = True) -> list[Decision]:
        """Decide applications (mappings), in one scoring pass; log them in one transaction."""
        start = time.perf_counter()
        # The policy reads every application input; the model only the features it was trained on.
        features = list(self.model.features)
        used = set(features)
        for name in features:
            used.update(DERIVED[name].inputs if name in DERIVED else ())
        records, matrix = _read_applications(applications, frozenset(used))
        inputs = matrix[:, [FEATURES.index(f) for f in features]]
        # Numerical stability: a NaN/inf feature or score is refused (with an alert), never decided on.
        require_finite(self.domain, "serving", {"features": inputs},
                       evidence={"model_version": self.model_version, "features_order": features})
        contributions = self.model.contributions_matrix(inputs)
        require_finite(self.domain, "serving", {"scores": contributions.sum(axis=1)},
                       evidence={"model_version": self.model_version})
        ids = [str(a["application_id"]) for a in applications]
        decisions = [self._decide_row(app_id, row, contrib, features)
                     for app_id, row, contrib in zip(ids, records, contributions, strict=True)]
        if log:
            latency_ms = (time.perf_counter() - start) * 1000 / max(len(decisions), 1)
            decisions = self._log(decisions, applications, latency_ms)
        return decisions

    def _decide_row(self, application_id: str, row: dict[str, Any], contrib: np.ndarray,
                    features: list[str]) -> Decision:
        policy = self.policy
        raw = float(contrib.sum())
        ignored: set[str] = set()
        applied_overrides = []
        for override in policy.overrides:
            if all(cond.holds(row) for cond in override.when):
                ignored.add(override.ignore_feature)
                applied_overrides.append(override.id)
        for name in ignored & set(features):
            raw -= float(contrib[features.index(name)])
        pd_ = _sigmoid(raw)

        hard_rule = next((rule for rule in policy.hard_rules if rule.when.holds(row)), None)
        if hard_rule is not None:
            kind: DecisionKind = "reject"
        elif pd_ < policy.cutoffs.approve_below:
            kind = "approve"
        elif pd_ >= policy.cutoffs.reject_from:
            kind = "reject"
        else:
            kind = "refer"

        live = in_live_test_set(application_id, policy)
        final: DecisionKind = "approve" if live and hard_rule is None else kind

        against = kind != "approve"
        order = np.argsort(-contrib[:-1] if against else contrib[:-1])
        reasons = []
        if hard_rule is not None:
            reasons.append(Reason(f"rule:{hard_rule.id}", hard_rule.reason, 0.0))
        for i in order:
            name = features[i]
            value = float(contrib[i])
            if name in ignored or (value <= 0 if against else value >= 0):
                continue
            reasons.append(Reason(name, reason_text(name, row[name], against), round(value, 4)))
            if len(reasons) >= REASONS_PER_DECISION:
                break
        return Decision(application_id=application_id, decision=final, probability_of_default=round(pd_, 6),
                        reasons=reasons, policy_version=policy.version, model_name=self.model_name,
                        model_version=self.model_version, live_test_set=live, policy_decision=kind,
                        hard_rule=hard_rule.id if hard_rule else None, overrides=applied_overrides)

    def log_entries(self, decisions: Sequence[Decision], applications: Sequence[Mapping[str, Any]],
                    latency_ms: float) -> list[Any]:
        """The prediction-log entries for decided applications (the API hands them to its batched writer)."""
        from credit.lib.features import DERIVED
        from inloop.predictions import PredictionEntry

        logged = ("application_id", "applied_at", *(f for f in FEATURES if f not in DERIVED))
        return [PredictionEntry(domain=self.domain, component=COMPONENT,
                                features={k: app[k] for k in logged if k in app}, output=d.output(),
                                model_name=d.model_name, model_version=d.model_version,
                                policy_version=d.policy_version, subject_id=d.application_id,
                                live_test_set=d.live_test_set, latency_ms=latency_ms)
                for d, app in zip(decisions, applications, strict=True)]

    def _log(self, decisions: Sequence[Decision], applications: Sequence[Mapping[str, Any]],
             latency_ms: float) -> list[Decision]:
        from inloop.predictions import log_predictions

        entries = self.log_entries(decisions, applications, latency_ms)
        log_predictions(entries)
        return [Decision(**{**d.__dict__, "request_id": e.request_id}) for d, e in zip(decisions, entries, strict=True)]
