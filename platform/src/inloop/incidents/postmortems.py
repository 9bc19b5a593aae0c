"""Blameless post-mortems as Markdown files with YAML front matter, reviewed like code.

A post-mortem lives in ``domains/<d>/postmortems/<date>-<slug>.md``. The front matter holds
the structure (validated, indexed, exported as tickets); the Markdown body below it holds the
free-form investigation details (queries, logs, notes) and is kept verbatim::

    ---
    title: ...
    status: draft | in_review | reviewed | closed
    ...                      (every field of :class:`Postmortem`, in that order)
    ---
    ## Investigation details
    ...

Files round-trip byte-identically: :func:`render_postmortem` writes the canonical form that
:func:`parse_postmortem` reads, so ``render(parse(text)) == text`` for every canonical file
(``inloop postmortem fmt`` rewrites a hand-edited file into it). A malformed file raises
:class:`PostmortemError` naming the path, the field, its line and the problem.

Blameless by construction: there is no field for *who* caused it; the chain of five whys asks
what in the system and the process let it happen. :func:`lint_postmortem` also warns on
blaming language.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from inloop.cards import Finding, is_unanswered

__all__ = [
    "ActionPoint",
    "Detection",
    "Fact",
    "Impact",
    "Lessons",
    "OpenQuestion",
    "Postmortem",
    "PostmortemError",
    "Review",
    "TimelineEntry",
    "WhyStep",
    "link_evidence",
    "lint_postmortem",
    "load_postmortem",
    "parse_postmortem",
    "render_postmortem",
    "slugify",
]

PostmortemStatus = Literal["draft", "in_review", "reviewed", "closed"]
#: The project card's outage-matrix bucket the incident compares to. A model that is up but wrong
#: counts as down for as long as it was wrong for everyone it served; "none": only single cases
#: or a small segment were affected, or nothing was down.
OutageBucket = Literal["none", "1min", "10min", "1h", "24h"]
DetectionKind = Literal["check", "alert", "bug_report", "live_test_set", "customer_contact", "other"]
FactKind = Literal[
    "logged_input", "replay", "screenshot", "check_result", "alert", "bug_report", "demo_trace",
    "drift_report", "log", "statement", "document",
]
Verdict = Literal["confirmed", "rejected", "open"]
ActionType = Literal["mitigate", "prevent", "process"]
Priority = Literal["high", "medium", "low"]
ActionStatus = Literal["open", "in_progress", "done", "wont_do"]

Text = Annotated[str, Field(min_length=1)]
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$")
_FACT_REF = re.compile(r"\[(F\d+)\]")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Impact(_Section):
    """The impact in business terms, and the bucket of the card's outage matrix it reached."""

    business: Text = Field(description="What it cost or risked, in the stakeholder's terms.")
    affected: Text = Field(description="Who and how many.")
    duration: Text = Field(description="From start to mitigation, e.g. '3 days, degraded (not down)'.")
    outage_bucket: OutageBucket = Field(description="Card outage-matrix bucket it compares to (see OutageBucket).")


class Detection(_Section):
    """How it was found: a check, an alert, a bug report, the live test set, a customer."""

    kind: DetectionKind
    description: Text
    reference: str | None = Field(default=None, description="e.g. 'alert:12', 'bug:3', 'check:credit/input_schema'.")
    detected_at: str | None = Field(default=None, description="YYYY-MM-DD or YYYY-MM-DD HH:MM (UTC).")

    @model_validator(mode="after")
    def _time_shape(self) -> Detection:
        if self.detected_at is not None and not _TIME.match(self.detected_at):
            raise ValueError("detected_at must look like 2026-03-01 or 2026-03-01 14:05 (UTC)")
        return self


class Fact(_Section):
    """Facts first: what was observed, each linked to its evidence (or marked pending)."""

    id: str = Field(pattern=r"^F\d+$", description="F1, F2, ... (cited from the five whys as [F1]).")
    kind: FactKind
    description: Text
    ref: str | None = Field(default=None, description="request:<id>, bug:<id>, alert:<id>, file:<path>, a URL ...")
    status: Literal["linked", "pending"] = Field(
        default="linked", description="'pending': the evidence exists in the story but is not linked yet.")
    data: dict[str, Any] | None = Field(default=None, description="Exact logged values (features, output, ...).")

    @model_validator(mode="after")
    def _linked_has_ref(self) -> Fact:
        if self.status == "linked" and not self.ref:
            raise ValueError("a linked fact needs its ref (or mark it status: pending)")
        return self


class TimelineEntry(_Section):
    at: str = Field(description="YYYY-MM-DD or YYYY-MM-DD HH:MM (UTC).")
    event: Text

    @model_validator(mode="after")
    def _time_shape(self) -> TimelineEntry:
        if not _TIME.match(self.at):
            raise ValueError("at must look like 2026-03-01 or 2026-03-01 14:05 (UTC)")
        return self


class WhyStep(_Section):
    """One link of the five-whys chain: nothing is concluded without being checked."""

    question: Text
    hypothesis: Text
    how_checked: Text
    evidence: Text = Field(description="What the check showed; cite facts as [F1].")
    verdict: Verdict


class ActionPoint(_Section):
    id: str = Field(pattern=r"^A\d+$", description="A1, A2, ... (the review accepts them by id).")
    type: ActionType
    description: Text
    owner: Text = Field(description="A team or role, who will do it (not who caused anything).")
    priority: Priority
    status: ActionStatus = "open"
    ticket: str | None = None


class OpenQuestion(_Section):
    """A question the investigation cannot answer alone (e.g. a trade-off for the business)."""

    question: Text
    asked_of: Text
    answer: str | None = None


class Lessons(_Section):
    went_well: list[Text] = Field(default_factory=list)
    went_wrong: list[Text] = Field(default_factory=list)
    got_lucky: list[Text] = Field(default_factory=list)


class Review(_Section):
    reviewer: str | None = None
    reviewed_on: dt.date | None = None
    accepted_action_points: list[str] = Field(default_factory=list)
    notes: str | None = None


class Postmortem(_Section):
    """A blameless post-mortem (there is deliberately no field for blame)."""

    title: Text = Field(max_length=300)
    domain: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    status: PostmortemStatus
    date: dt.date = Field(description="When the incident happened (first impact).")
    authors: list[Text] = Field(min_length=1)
    summary: Text = Field(description="What happened, in plain words a stakeholder understands.")
    impact: Impact
    detection: Detection
    facts: list[Fact] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    five_whys: list[WhyStep] = Field(default_factory=list)
    root_cause: Text
    trigger: Text
    resolution: Text
    action_points: list[ActionPoint] = Field(default_factory=list)
    open_questions: list[OpenQuestion] = Field(default_factory=list)
    lessons: Lessons = Field(default_factory=Lessons)
    review: Review = Field(default_factory=Review)
    details: str = Field(default="", exclude=True, description="The Markdown body, kept verbatim.")

    @model_validator(mode="after")
    def _consistent(self) -> Postmortem:
        for attr, items in (("facts", self.facts), ("action_points", self.action_points)):
            ids = [item.id for item in items]
            duplicated = sorted({i for i in ids if ids.count(i) > 1})
            if duplicated:
                raise ValueError(f"{attr}: ids must be unique, repeated: {', '.join(duplicated)}")
        fact_ids = {f.id for f in self.facts}
        for i, step in enumerate(self.five_whys):
            missing = sorted(set(_FACT_REF.findall(step.evidence)) - fact_ids)
            if missing:
                raise ValueError(f"five_whys[{i}].evidence cites {', '.join(missing)}, which is not in facts")
        action_ids = {a.id for a in self.action_points}
        unknown = [a for a in self.review.accepted_action_points if a not in action_ids]
        if unknown:
            raise ValueError(f"review.accepted_action_points names {', '.join(unknown)}, not in action_points")
        if self.status in ("reviewed", "closed") and not self.review.reviewer:
            raise ValueError(f"status {self.status} needs review.reviewer (who reviewed the action points)")
        if self.status == "closed":
            unfinished = [a.id for a in self.action_points
                          if a.id in self.review.accepted_action_points and a.status not in ("done", "wont_do")]
            if unfinished:
                raise ValueError(f"status closed, but accepted action points are not done: {', '.join(unfinished)}")
        return self

    def accepted_action_points(self) -> list[ActionPoint]:
        accepted = set(self.review.accepted_action_points)
        return [a for a in self.action_points if a.id in accepted]

    def is_resolved(self) -> bool:
        """Mitigated and every accepted action point finished (done or deliberately not done)."""
        return self.status == "closed" or (
            self.status == "reviewed"
            and all(a.status in ("done", "wont_do") for a in self.accepted_action_points())
            and bool(self.accepted_action_points())
        )


class PostmortemError(ValueError):
    """A post-mortem file that cannot be read: names the path, each field (with its line) and the problem."""

    def __init__(self, path: Path | str, problems: list[tuple[str, str]]) -> None:
        self.path = Path(path)
        self.problems = problems
        super().__init__(f"{path}: invalid post-mortem\n" + "\n".join(f"  - {f}: {p}" for f, p in problems))


# File format -----------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Canonical YAML: block style, nested lists indented, multi-line text as literal blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:  # noqa: FBT001
        super().increase_indent(flow, False)


_UNUSUAL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Control characters and the other line breaks YAML knows (NEL, LS, PS) would be folded or
    # dropped in plain or block style: such a string is written double-quoted, with escapes.
    if _UNUSUAL.search(value):
        style: str | None = '"'
    else:
        style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML (libyaml when available) that refuses duplicate keys instead of keeping the last."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _front_matter(text: str, path: Path) -> tuple[str, str, int]:
    """Split ``text`` into (YAML, body, line number where the YAML starts)."""
    if not text.startswith("---\n"):
        raise PostmortemError(path, [("(file)", "must start with a '---' line that opens the YAML front matter")])
    end = text.find("\n---\n", 3)
    if end == -1:
        if text.endswith("\n---"):
            end = len(text) - 4
        else:
            raise PostmortemError(path, [("(file)", "the front matter is never closed by a '---' line")])
    return text[4:end + 1], text[end + 5:], 2


def _node_line(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 0-based line of the YAML node at ``loc`` (or its closest existing parent)."""
    node, line = root, None if root is None else root.start_mark.line
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line
    return line


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(front matter)"


def parse_postmortem(text: str, path: Path | str = "<text>") -> Postmortem:
    """Read a post-mortem from its Markdown text; raises :class:`PostmortemError`."""
    path = Path(path)
    front, body, first_line = _front_matter(text, path)
    try:
        data = yaml.load(front, Loader=_StrictLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + first_line}" if mark else "front matter"
        raise PostmortemError(path, [(where, f"YAML syntax: {getattr(exc, 'problem', None) or exc}")]) from None
    if not isinstance(data, dict):
        raise PostmortemError(path, [("(front matter)", f"must be a YAML mapping, got {type(data).__name__}")])
    if "details" in data:
        raise PostmortemError(path, [("details", "write the details as Markdown below the front matter")])
    try:
        return Postmortem.model_validate({**data, "details": body})
    except ValidationError as exc:
        problems = []
        root = yaml.compose(front, Loader=_StrictLoader)  # only now: the node marks give line numbers
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = _node_line(root, loc)
            where = _field_path(loc) + ("" if line is None else f" (line {line + first_line})")
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (blame has no field: say what in the system let it happen)" \
                    if "blame" in str(loc[-1]).lower() else "unknown field"
            elif err["type"] == "missing":
                msg = "required field is missing"
            problems.append((where, msg))
        raise PostmortemError(path, problems) from None


def render_postmortem(postmortem: Postmortem) -> str:
    """The canonical Markdown text of a post-mortem (what :func:`parse_postmortem` reads back)."""
    data = postmortem.model_dump(mode="python", exclude={"details"})
    front = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                      default_flow_style=False)
    return f"---\n{front}---\n{postmortem.details}"


def load_postmortem(path: str | Path) -> Postmortem:
    """Read and validate a post-mortem file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PostmortemError(path, [("(file)", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise PostmortemError(path, [("(file)", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    return parse_postmortem(text, path)


def link_evidence(source: str | Path, links: dict[str, str], out_dir: Path) -> tuple[Path, Postmortem]:
    """A copy of the post-mortem at ``source`` with facts ``links`` (fact id -> ref) linked, in ``out_dir``.

    Worst-case demos use it to attach a run's real evidence (request ids, check results, reports)
    to a seeded post-mortem whose evidence is pending; the reviewed file itself is left as it is.
    """
    postmortem = load_postmortem(source)
    unknown = set(links) - {f.id for f in postmortem.facts}
    if unknown:
        raise PostmortemError(Path(source), [("facts", f"no fact {', '.join(sorted(unknown))} to link")])
    facts = [f.model_copy(update={"ref": links[f.id], "status": "linked"}) if links.get(f.id) else f
             for f in postmortem.facts]
    linked = postmortem.model_copy(update={"facts": facts})
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / Path(source).name
    out.write_text(render_postmortem(linked), encoding="utf-8")
    return out, linked


def slugify(text: str, max_length: int = 60) -> str:
    """A file-name-safe slug: lower case, ASCII letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "incident"


# Lint --------------------------------------------------------------------------------------------

_BLAME = re.compile(
    r"\b(fault|blam(e|ed|es|ing)|careless(ly|ness)?|negligen(t|ce)|incompeten(t|ce)|stupid|lazy|sloppy|"
    r"human error|should have known|should have noticed|failed to notice|screwed up|messed up)\b",
    re.IGNORECASE,
)


def _texts(value: Any, where: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(where, value)]
    if isinstance(value, BaseModel):
        return [t for name in type(value).model_fields for t in _texts(getattr(value, name), f"{where}.{name}")]
    if isinstance(value, list):
        return [t for i, item in enumerate(value) for t in _texts(item, f"{where}[{i}]")]
    return []


def lint_postmortem(postmortem: Postmortem) -> list[Finding]:
    """What a reviewer would flag: blaming language, unanswered fields, an unfinished chain, and a
    ``reviewed`` (or ``closed``) post-mortem whose evidence is still pending (an error)."""
    findings: list[Finding] = []
    for where, text in [t for name in type(postmortem).model_fields if name != "details"
                        for t in _texts(getattr(postmortem, name), name)] + [("details", postmortem.details)]:
        match = _BLAME.search(text)
        if match:
            findings.append(Finding("warning", where, f"blaming language ({match.group(0)!r}): describe what in "
                                    "the system or process allowed it, not who"))
        if postmortem.status != "draft" and where != "details" and is_unanswered(text):
            findings.append(Finding("error", where, "still a TODO, but the post-mortem is past draft"))
    if not postmortem.facts:
        findings.append(Finding("warning", "facts", "no facts: start from what was observed"))
    if not postmortem.five_whys:
        findings.append(Finding("warning", "five_whys", "no five-whys chain yet"))
    elif postmortem.status != "draft" and postmortem.five_whys[-1].verdict != "confirmed":
        findings.append(Finding("warning", "five_whys", "the chain does not end in a confirmed step"))
    pending = [f.id for f in postmortem.facts if f.status == "pending"]
    if pending and postmortem.status in ("reviewed", "closed"):
        findings.append(Finding("error", "facts", f"status {postmortem.status}, but evidence is still pending: "
                                f"{', '.join(pending)} (link each fact to its record, or set status: draft)"))
    elif pending:
        findings.append(Finding("warning", "facts", f"evidence still pending: {', '.join(pending)}"))
    if postmortem.status in ("reviewed", "closed") and not postmortem.review.accepted_action_points \
            and postmortem.action_points:
        findings.append(Finding("warning", "review", "reviewed, but no action point was accepted"))
    return findings
