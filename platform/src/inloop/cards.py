"""Project cards: the pre-project checklist and the stakeholders' concerns, as validated YAML.

A card (``domains/<d>/project.yaml``) is written *before* modelling. It holds the business
case (user story, KPI, baseline, the improvement that makes the project worth doing,
alternatives including "no ML at all", why it is core business, the stakeholder and the
capacity they commit), the **concerns** ("what should we definitely avoid?") each with the
metric, threshold, check, worst-case demo and alert route that make it enforceable, and the
outage impact matrix.

Loading is strict: unknown keys, duplicate keys, wrong types and inconsistent concerns fail
with the file, the field and what is wrong. Checklist answers may still be open (``null`` or
``TODO ...``): loading accepts them, :func:`lint_card` reports them, so a new team can load
its half-written card and see what is left to answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from inloop.sources import ColumnMapping, SourceRead

__all__ = [
    "Alternative",
    "BusinessCase",
    "CardError",
    "Concern",
    "CostBudget",
    "DataSource",
    "FeaturePolicy",
    "Finding",
    "LabelFeedback",
    "PolicyFeature",
    "Kpi",
    "Metric",
    "OfflineOnline",
    "OutageImpact",
    "ProjectCard",
    "Retention",
    "Threshold",
    "card_in_force",
    "is_unanswered",
    "lint_card",
    "load_card",
]

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$", max_length=100)]
#: Dagster names (asset checks) allow only letters, digits and underscores.
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=100)]
#: A checklist answer: free text, or ``null`` / ``TODO ...`` while the team has not answered it yet.
Answer = str | None

_UNANSWERED = re.compile(r"^\s*(todo|tbd|\?+|fixme|n/?a yet)\b", re.IGNORECASE)


def is_unanswered(value: object) -> bool:
    """True for a checklist answer that is missing, blank or a TODO placeholder."""
    return value is None or (isinstance(value, str) and (not value.strip() or bool(_UNANSWERED.match(value))))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Stakeholder(_Strict):
    name: Answer
    role: Answer
    contact: Answer
    committed_capacity: Answer = Field(description="Skin in the game: the time their team commits.")


class Kpi(_Strict):
    name: Answer
    how_measured: Answer
    current_value: Answer
    target: Answer


class Alternative(_Strict):
    name: str
    kind: Literal["no_ml", "rules", "buy", "manual", "ml", "other"]
    description: Answer
    expected_outcome: Answer = Field(description="Quantified: what this alternative would achieve.")
    cost: Answer
    decision: Answer = Field(description="Chosen, or rejected and why.")


class BusinessCase(_Strict):
    user_story: Answer = Field(description="As a <role>, I want <capability>, so that <benefit>.")
    kpi: Kpi
    optimized: Answer = Field(description="What the model optimizes, in business terms.")
    current_approach: Answer = Field(description="How it is done today (the baseline) and its number.")
    worth_doing_improvement: Answer = Field(description="The improvement that makes the project worth it.")
    alternatives: list[Alternative] = Field(default_factory=list)
    why_core_business: Answer
    stakeholder: Stakeholder

    @field_validator("user_story")
    @classmethod
    def _user_story_shape(cls, value: str | None) -> str | None:
        if value and not is_unanswered(value) and not re.match(r"(?is)^as an? .+ i want .+ so that .+", value):
            raise ValueError("write the business case as a user story: 'As a <role>, I want <...>, so that <...>'")
        return value


class Metric(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=100)
    description: str
    unit: str = ""
    label: str | None = Field(
        default=None, min_length=3, max_length=80,
        description="The metric in the stakeholder's words, shown instead of the code name "
                    "(e.g. 'Age of the model in service').")

    @field_validator("label")
    @classmethod
    def _label_in_words(cls, value: str | None) -> str | None:
        if value is None:
            return value
        value = value.strip()
        if re.fullmatch(r"[a-z0-9_]+", value) or "_" in value:
            raise ValueError("label is the metric in business words (e.g. 'Share of invoices booked without "
                             "review'), not a code name")
        if value.endswith((".", ":")):
            raise ValueError("label is a name, not a sentence: no trailing '.' or ':'")
        return value


class Threshold(_Strict):
    op: Literal["<=", ">=", "==", "<", ">"]
    value: float

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("threshold must be a finite number")
        return value

    def holds(self, observed: float | None) -> bool:
        """Whether ``observed`` satisfies the threshold (a missing or NaN value never does)."""
        if observed is None or not math.isfinite(observed):
            return False
        return {
            "<=": observed <= self.value,
            ">=": observed >= self.value,
            "==": math.isclose(observed, self.value, rel_tol=0, abs_tol=1e-12),
            "<": observed < self.value,
            ">": observed > self.value,
        }[self.op]

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


class OfflineOnline(_Strict):
    """How an offline metric relates to the live one a concern judges (ML Test Score model-2).

    Live is expected at ``scale`` x offline (1 when both are the same quantity); the concern's threshold is
    the largest shortfall of live below that expectation (``<=``), in the online metric's units.
    """

    offline_metric: str = Field(min_length=1, max_length=100, description="What the promotion gate read offline.")
    online_metric: str = Field(min_length=1, max_length=100, description="The same quantity measured live.")
    scale: float = Field(default=1.0, gt=0, description="Live expected per unit of offline (1: same quantity).")
    basis: str = Field(default="", description="Where the scale comes from (measured on which data).")

    @field_validator("scale")
    @classmethod
    def _finite_scale(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("scale must be a finite number")
        return value


class Concern(_Strict):
    """A stakeholder's worry, made measurable and enforced."""

    id: Slug
    statement: str = Field(min_length=3, description="In the stakeholder's own words.")
    raised_by: Answer
    worst_case: Answer
    user_story: Answer
    metric: Metric | None = None
    threshold: Threshold | None = None
    check: Identifier | None = Field(
        default=None, description="Name of the Dagster asset check that enforces it (snake_case, Dagster's rule)."
    )
    severity: Literal["ERROR", "WARN"] = "ERROR"
    blocking: bool = Field(default=False, description="Whether a failure gates downstream (models, bookings).")
    demo: Slug | None = Field(default=None, description="Worst-case demo id that shows it.")
    alert_route: list[Literal["console", "log", "webhook"]] = Field(default_factory=lambda: ["console", "log"])
    status: Literal["enforced", "planned"] = Field(
        default="enforced",
        description="'planned': agreed with the stakeholder, not implemented yet (check-project warns).",
    )
    rubric: list[str] = Field(
        default_factory=list,
        description="ML Test Score ids this concern's check is evidence for (e.g. monitor-2); see inloop.readiness.",
    )
    relation: OfflineOnline | None = Field(
        default=None, description="For an offline-vs-online concern: which offline metric promises which live one.")

    @field_validator("rubric")
    @classmethod
    def _known_rubric_ids(cls, ids: list[str]) -> list[str]:
        from inloop.readiness.rubric import rubric_test

        for rubric_id in ids:
            rubric_test(rubric_id)
        if len(set(ids)) != len(ids):
            raise ValueError("rubric lists an id twice")
        return ids

    @model_validator(mode="after")
    def _consistent(self) -> Concern:
        if self.blocking and self.severity != "ERROR":
            raise ValueError("a blocking concern must have severity ERROR (Dagster only blocks on ERROR)")
        if self.threshold is not None and self.metric is None:
            raise ValueError("a threshold needs the metric it applies to")
        if not self.alert_route:
            raise ValueError("alert_route must name at least one route (console, log, webhook)")
        if self.relation is not None and (self.threshold is None or self.threshold.op not in ("<=", "<")
                                          or self.threshold.value < 0):
            raise ValueError("an offline-vs-online relation needs a threshold '<= tolerance' (tolerance >= 0): "
                             "the largest shortfall of live below what offline promised")
        return self


class OutageBucket(_Strict):
    impact: Answer = Field(description="Business impact if the system is down this long.")
    severity: Literal["none", "low", "medium", "high", "critical"]


class OutageImpact(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    one_minute: OutageBucket = Field(alias="1min")
    ten_minutes: OutageBucket = Field(alias="10min")
    one_hour: OutageBucket = Field(alias="1h")
    one_day: OutageBucket = Field(alias="24h")
    restart_behaviour: Answer = Field(description="What happens at restart: queue, cache, catch-up.")
    weekend_on_call: bool
    on_call: Answer = Field(description="Who is paged, and when.")

    def buckets(self) -> dict[str, OutageBucket]:
        return {"1 min": self.one_minute, "10 min": self.ten_minutes, "1 h": self.one_hour, "24 h": self.one_day}


class BugReportPolicy(_Strict):
    escalation_threshold: int = Field(default=3, ge=1, le=10_000, description="Similar reports that escalate.")
    window_days: int = Field(default=14, ge=1, le=365)


class Retention(_Strict):
    """How long the domain keeps what it holds about people and companies, and why (privacy, ML Test Score data-5).

    A retention sweep erases what is older than ``period_days`` (counted from the end of the calendar
    year in which the record was finished, as accounting law counts it); ``inloop forget`` erases a
    subject earlier on request.
    """

    period_days: int = Field(ge=1, le=36_600, description="How long records are kept once finished.")
    applies_to: str = Field(min_length=3, description="What the period covers (files, ledger fields, exports).")
    legal_basis: Answer = Field(description="Why this long: the law or contract that sets the period.")
    decided_by: Answer = Field(description="Who set the period (a person or role).")


class LabelFeedback(_Strict):
    """When the outcome a model predicts becomes known, and under which name it lands in the label table.

    Monitors judge realised performance only on labels that have arrived; until then the estimate from
    the model's confidence (:mod:`inloop.performance_estimation`) stands in for it.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64, description="The label's name (POST /labels).")
    delay_days: int = Field(ge=0, le=3_660, description="Days from the prediction until its outcome is known.")
    source: Answer = Field(description="Who reports the outcome (a feed, a team, a user action).")


class DataSource(_Strict):
    """An upstream dataset the domain reads, and who to send its data-quality report to."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=100)] = Field(
        description="The source's name in the domain's code (its data_quality_sources hook).")
    description: str = Field(min_length=3)
    owner: Answer = Field(description="The team or person who produces the data and can fix it.")
    contact: Answer = Field(description="Where the report goes (e-mail, channel, ticket queue).")
    read: SourceRead = Field(default_factory=SourceRead, description=(
        "Where the rows come from: the domain's synthetic generator (default), csv, parquet or sql (inloop.sources)."))
    mapping: ColumnMapping | None = Field(default=None, description=(
        "From the source's names, codes and units to the domain's schema; none: the source already uses them."))


class PolicyFeature(_Strict):
    """One feature the stakeholders allow the model to use, where it may come from, and why."""

    name: str = Field(min_length=1, max_length=100, description="The feature's name as the model sees it.")
    sources: list[Identifier] = Field(min_length=1, description="data_sources ids it may be read or derived from.")
    protected: bool = Field(default=False, description="A protected attribute, or a close proxy of one.")
    why: str = Field(min_length=3, description="Why it is allowed; for a protected one, who agreed and on what terms.")


class FeaturePolicy(_Strict):
    """Meta-level requirements on features: what may be used, from which sources, and what never.

    :func:`inloop.feature_policy.check_features` holds a model's feature list against it.
    """

    approved_by: Answer = Field(description="Who agreed the policy (legal, compliance, the product owner).")
    forbidden: list[str] = Field(default_factory=list, description=(
        "Attributes no feature may be or be named after (case-insensitive; e.g. sex, nationality)."))
    features: list[PolicyFeature] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> FeaturePolicy:
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise ValueError("feature_policy lists a feature twice")
        forbidden = {f.lower().replace("-", "_").replace(" ", "_") for f in self.forbidden}
        clash = [n for n in names if n.lower() in forbidden]
        if clash:
            raise ValueError(f"feature_policy allows {clash}, which its own forbidden list names")
        # a feature named after a forbidden attribute (age_band after age) is a proxy: allowed only as protected
        proxies = [f.name for f in self.features if not f.protected
                   and any(f"_{a}_" in f"_{f.name.lower()}_" for a in forbidden)]
        if proxies:
            raise ValueError(f"feature_policy: {proxies} are named after a forbidden attribute; mark them "
                             "protected: true with the reason they are allowed, or remove them")
        return self

    def feature(self, name: str) -> PolicyFeature | None:
        return next((f for f in self.features if f.name == name), None)


class CostBudget(_Strict):
    """What one feature group or data source may cost (ML Test Score data-3); ablation findings are judged on it.

    A feature group is one of the domain's ablation groups (:class:`inloop.ablation.FeatureGroup`); a data
    source budget names the card's ``data_sources`` id and the groups it feeds, whose costs add up against it.
    """

    feature_group: Identifier | None = Field(default=None, description="An ablation feature group's name.")
    data_source: Identifier | None = Field(default=None, description="A data_sources id.")
    feature_groups: list[Identifier] = Field(default_factory=list, description=(
        "For a data source: the ablation groups it feeds (their measured costs are added up)."))
    ms_per_row: float | None = Field(default=None, ge=0, le=1e6, description="Serving latency it may add per row.")
    bytes: int | None = Field(default=None, ge=0, description="Model size it may add.")
    money_per_month: float | None = Field(default=None, ge=0, description="What it may cost a month (licence, calls).")
    known_money_per_month: float | None = Field(default=None, ge=0, description="What it costs today, where known.")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    why: str = Field(min_length=3, description="Why this budget: what the source or group is worth.")

    @field_validator("ms_per_row", "money_per_month", "known_money_per_month")
    @classmethod
    def _finite_cost(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("a cost must be a finite number")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> CostBudget:
        if (self.feature_group is None) == (self.data_source is None):
            raise ValueError("a cost budget names exactly one of feature_group or data_source")
        if self.feature_group is not None and self.feature_groups:
            raise ValueError("feature_groups belongs to a data_source budget (the groups the source feeds)")
        if self.data_source is not None and not self.feature_groups:
            raise ValueError(f"the budget of data source {self.data_source!r} must list the feature_groups it feeds")
        if self.ms_per_row is None and self.bytes is None and self.money_per_month is None:
            raise ValueError("a cost budget states at least one of ms_per_row, bytes or money_per_month")
        if self.known_money_per_month is not None and self.money_per_month is None:
            raise ValueError("known_money_per_month needs the money_per_month budget it is held against")
        has_money = self.money_per_month is not None
        if has_money != (self.currency is not None):
            raise ValueError("money_per_month and currency go together (e.g. currency: EUR)")
        return self

    @property
    def target(self) -> str:
        return f"feature group {self.feature_group}" if self.feature_group else f"data source {self.data_source}"


class ProjectCard(_Strict):
    domain: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    summary: str
    business_case: BusinessCase
    concerns: list[Concern] = Field(min_length=1)
    outage_impact: OutageImpact
    bug_reports: BugReportPolicy = Field(default_factory=BugReportPolicy)
    data_sources: list[DataSource] = Field(default_factory=list,
                                           description="Upstream datasets and their owners (data-quality reports).")
    feature_policy: FeaturePolicy | None = Field(
        default=None, description="Allowed features and sources, and forbidden attributes (ML Test Score data-4).")
    retention: Retention | None = Field(
        default=None, description="How long records about people and companies are kept (privacy, data-5).")
    cost_budgets: list[CostBudget] = Field(default_factory=list, description=(
        "What each feature group and data source may cost (ML Test Score data-3); the ablation is judged on it."))
    labels: LabelFeedback | None = Field(
        default=None, description="When outcomes arrive (the label delay) and their name in the label table.")

    @model_validator(mode="after")
    def _unique_ids(self) -> ProjectCard:
        for attr in ("id", "check"):
            seen: set[str] = set()
            for concern in self.concerns:
                value = getattr(concern, attr)
                if value is None:
                    continue
                if value in seen:
                    raise ValueError(f"two concerns share the {attr} {value!r}; each must be unique")
                seen.add(value)
        sources = [s.id for s in self.data_sources]
        if len(set(sources)) != len(sources):
            raise ValueError("two data_sources share an id; each must be unique")
        if self.feature_policy is not None:
            unknown = sorted({src for f in self.feature_policy.features for src in f.sources} - set(sources))
            if unknown:
                raise ValueError(f"feature_policy names source(s) {unknown} that are not in data_sources")
        targets = [b.target for b in self.cost_budgets]
        if len(set(targets)) != len(targets):
            raise ValueError("two cost_budgets are for the same feature group or data source")
        unknown = sorted({b.data_source for b in self.cost_budgets if b.data_source} - set(sources))
        if unknown:
            raise ValueError(f"cost_budgets name data source(s) {unknown} that are not in data_sources")
        return self

    def source(self, source_id: str) -> DataSource:
        """The ``data_sources`` entry ``source_id``."""
        for source in self.data_sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.data_sources) or "none"
        raise KeyError(f"{self.domain}'s card has no data source {source_id!r} (known: {known})")

    def concern(self, concern_id: str) -> Concern:
        for concern in self.concerns:
            if concern.id == concern_id:
                return concern
        known = ", ".join(c.id for c in self.concerns)
        raise KeyError(f"{self.domain} has no concern {concern_id!r} (known: {known})")


class CardError(ValueError):
    """A card that cannot be loaded; the message names the file, the field and the problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: invalid project card\n" + "\n".join(f"  - {p}" for p in problems))


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys (PyYAML would silently keep the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> Any:
    """Read YAML strictly (no duplicate keys); errors name the file and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CardError(path, ["file not found"]) from None
    except UnicodeDecodeError as exc:
        raise CardError(path, [f"not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CardError(path, [f"{where}YAML syntax: {problem}"]) from None


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(card)"


def _resolve_source_paths(data: dict[str, Any], folder: Path) -> None:
    """A source's relative ``read.path`` is relative to the card file that names it (not the working dir)."""
    for source in data.get("data_sources") or []:
        read = source.get("read") if isinstance(source, dict) else None
        path = read.get("path") if isinstance(read, dict) else None
        if isinstance(path, str) and "://" not in path and not Path(path).is_absolute():
            read["path"] = str((folder / path).resolve())


def load_card(path: str | Path, *, overlay: str | Path | None = None) -> ProjectCard:
    """Load and validate a project card, or raise :class:`CardError` naming file, field and problem.

    ``overlay`` is a second YAML file whose top-level keys replace the card's (e.g. ``data_sources``
    pointing a domain at a team's own data, ``domains/credit/examples/``); errors name the overlay.
    """
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise CardError(path, [f"the card must be a YAML mapping, got {type(data).__name__}"])
    _resolve_source_paths(data, path.parent)
    if overlay is not None:
        overlay = Path(overlay)
        extra = read_yaml(overlay)
        if not isinstance(extra, dict):
            raise CardError(overlay, [f"a card overlay must be a YAML mapping, got {type(extra).__name__}"])
        if "domain" in extra and extra["domain"] != data.get("domain"):
            raise CardError(overlay, [f"domain: the overlay is for {extra['domain']!r}, the card for "
                                      f"{data.get('domain')!r}"])
        _resolve_source_paths(extra, overlay.parent)
        data = {**data, **extra}
        path = overlay
    try:
        return ProjectCard.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (typo? see docs/project-card.md for the fields a card has)"
            problems.append(f"{_field_path(err['loc'])}: {msg}")
        raise CardError(path, problems) from None


def card_in_force(domain: str, path: str | Path) -> ProjectCard:
    """The card a domain runs with: ``path``, with the overlay the settings name for ``domain``
    (``INLOOP_CARD_OVERLAYS='{"credit": "domains/credit/examples/german_credit/card-overlay.yaml"}'``)."""
    from inloop.settings import get_settings

    return load_card(path, overlay=get_settings().card_overlays.get(domain))


# Lint ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One thing check-project found: ``error`` fails the lint, ``warning`` does not."""

    level: Literal["error", "warning"]
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.level.upper():7} {self.where}: {self.message}"


def _unanswered(model: BaseModel, prefix: str) -> list[str]:
    out: list[str] = []
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        where = f"{prefix}.{name}"
        if isinstance(value, BaseModel):
            out += _unanswered(value, where)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    out += _unanswered(item, f"{where}[{i}]")
        elif field.annotation == Answer and is_unanswered(value):
            out.append(where)
    return out


def lint_card(card: ProjectCard, *, checks: set[str] | None, demos: set[str] | None) -> list[Finding]:
    """What a reviewer would ask about this card before modelling starts.

    ``checks`` and ``demos`` are what the domain really implements (asset check names and
    demo ids); ``None`` skips that cross-check.
    """
    findings: list[Finding] = []
    for where in _unanswered(card.business_case, "business_case"):
        findings.append(Finding("error", where, "unanswered checklist item"))
    for where in _unanswered(card.outage_impact, "outage_impact"):
        findings.append(Finding("error", where, "unanswered checklist item"))
    case = card.business_case
    if not any(alt.kind == "no_ml" for alt in case.alternatives):
        findings.append(Finding("error", "business_case.alternatives", 'no "no ML at all" alternative (kind: no_ml)'))
    for i, alt in enumerate(case.alternatives):
        outcome = alt.expected_outcome or ""
        if not is_unanswered(outcome) and not re.search(r"\d", outcome):
            findings.append(
                Finding("error", f"business_case.alternatives[{i}].expected_outcome", "not quantified (no number)")
            )
    if not is_unanswered(case.worth_doing_improvement) and not re.search(r"\d", case.worth_doing_improvement or ""):
        findings.append(Finding("error", "business_case.worth_doing_improvement", "not quantified (no number)"))
    for i, concern in enumerate(card.concerns):
        where = f"concerns[{i}] ({concern.id})"
        for name in ("raised_by", "worst_case", "user_story"):
            if is_unanswered(getattr(concern, name)):
                findings.append(Finding("error", f"{where}.{name}", "unanswered checklist item"))
        planned = concern.status == "planned"
        level: Literal["error", "warning"] = "warning" if planned else "error"
        suffix = " (concern is planned)" if planned else ""
        if concern.metric is None:
            findings.append(Finding(level, where, "no metric measures this concern" + suffix))
        elif concern.threshold is None:
            findings.append(Finding(level, where, f"metric {concern.metric.name} has no threshold" + suffix))
        if concern.check is None:
            findings.append(Finding(level, where, "no check enforces this concern" + suffix))
        elif checks is not None and concern.check not in checks:
            findings.append(Finding(level, f"{where}.check", f"no Dagster asset check named {concern.check!r}"
                                    f" in the domain's definitions{suffix}"))
        if concern.demo is not None and demos is not None and concern.demo not in demos:
            findings.append(Finding(level, f"{where}.demo", f"no worst-case demo {concern.demo!r} registered{suffix}"))
        if not planned and concern.demo is None and concern.blocking:
            findings.append(Finding("warning", where, "a blocking concern without a worst-case demo"))
    planned_ids = [c.id for c in card.concerns if c.status == "planned"]
    if planned_ids:
        findings.append(Finding("warning", "concerns", f"{len(planned_ids)} planned, not yet enforced: "
                                + ", ".join(planned_ids)))
    return findings
