"""Score the collected evidence per domain (the ML Test Score) and render it.

A rubric test scores the best of its verified evidence: 1.0 when it runs automatically and
repeatedly, 0.5 when done by hand with documented results, 0 without verified evidence. A
section's score is the sum of its seven tests; the final score is the minimum over the sections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inloop.readiness.collect import (
    INSTALLED_REPO,
    Evidence,
    collect_evidence,
    platform_usage,
    repo_domains,
    scope_platform_evidence,
)
from inloop.readiness.rubric import RUBRIC, SECTION_TITLES, SECTIONS, RubricTest

__all__ = ["DomainReport", "ReadinessError", "TestScore", "domain_reports", "render_text"]


class ReadinessError(ValueError):
    """A bad request (unknown domain, not a repository); the message says what to do."""


@dataclass
class TestScore:
    test: RubricTest
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def score(self) -> float:
        return max((e.score for e in self.evidence), default=0.0)

    @property
    def best(self) -> Evidence | None:
        verified = [e for e in self.evidence if e.verified]
        return max(verified, key=lambda e: (e.score, e.last_run_at is not None)) if verified else None

    @property
    def how(self) -> str:
        best = self.best
        return best.how if best else "missing"

    @property
    def last_result(self) -> str:
        best = self.best
        if best is None:
            results = {e.last_result for e in self.evidence}
            for shown in ("failed", "skipped", "not run"):
                if shown in results:
                    return shown
            return "not counted" if self.evidence else "—"
        if best.last_run_at is not None:
            return f"{best.last_result} {best.last_run_at:%Y-%m-%d %H:%M}"
        return best.last_result

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.test.id, "section": self.test.section, "title": self.test.title, "score": self.score,
                "how": self.how, "last_result": self.last_result, "closes_it": self.test.closes_it,
                "evidence": [e.to_dict() for e in self.evidence]}


@dataclass
class DomainReport:
    domain: str
    repo: Path
    tests: list[TestScore]
    problems: list[str] = field(default_factory=list)

    def section_scores(self) -> dict[str, float]:
        return {s: sum(t.score for t in self.tests if t.test.section == s) for s in SECTIONS}

    @property
    def final(self) -> float:
        return min(self.section_scores().values())

    def score_of(self, rubric_id: str) -> float:
        return next(t.score for t in self.tests if t.test.id == rubric_id)

    def missing(self) -> list[TestScore]:
        return [t for t in self.tests if t.score == 0]

    def partial(self) -> list[TestScore]:
        return [t for t in self.tests if t.score == 0.5]

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain, "repo": str(self.repo), "final": self.final,
            "sections": self.section_scores(), "tests": [t.to_dict() for t in self.tests],
            "missing": [{"id": t.test.id, "title": t.test.title, "closes_it": t.test.closes_it,
                         "declared_but_unverified": [f"{e.kind} {e.ref}: {e.problem}" for e in t.evidence]}
                        for t in self.missing()],
            "problems": self.problems,
        }


def _domain_cards(repo: Path) -> dict[str, Path]:
    """The repository's domains and their cards: ``domains/*/project.yaml``, plus installed domains
    whose folder lives elsewhere (only when reading the installed checkout)."""
    cards = {name: folder / "project.yaml" for name, folder in repo_domains(repo).items()}
    if repo.resolve() == INSTALLED_REPO:
        from inloop.domains import discover_domains

        for name, dom in discover_domains().items():
            cards.setdefault(name, dom.card_path)
    return cards


def domain_reports(
    domain: str | None = None,
    *,
    repo: Path | None = None,
    results: dict[str, dict[str, Any]] | None = None,
    check_info: Any = None,
    history: Any = None,
    verify_imports: bool | None = None,
    reached: dict[str, dict[str, Any]] | None = None,
    commit: Any = "HEAD",
) -> list[DomainReport]:
    """One report per domain of ``repo`` (default: the installed checkout), or of ``domain`` alone."""
    repo = (repo or INSTALLED_REPO).resolve()
    if not repo.is_dir():
        raise ReadinessError(f"{repo} is not a folder; pass --repo the root of an inloop checkout")
    if not (repo / "tests").is_dir() and not (repo / "domains").is_dir():
        raise ReadinessError(f"{repo} has neither tests/ nor domains/; pass --repo the root of an inloop checkout")
    cards = _domain_cards(repo)
    if domain is not None:
        if domain not in cards:
            raise ReadinessError(f"unknown domain {domain!r}; domains in {repo}: {', '.join(sorted(cards)) or '(none)'}")
        cards = {domain: cards[domain]}
    if not cards:
        raise ReadinessError(f"no domains in {repo} (looked for domains/*/project.yaml)")
    evidence, problems = collect_evidence(repo, cards, results=results, check_info=check_info, history=history,
                                          verify_imports=verify_imports, reached=reached, commit=commit)
    usage, known = platform_usage(repo, cards)
    features: dict[str, set[str]] = {}  # rubric id -> platform modules holding @rubric code for it
    every: dict[str, set[str]] = {}  # the same, declared for every domain (domain="*")
    exercised: dict[str, dict[str, set[str]]] = {}  # rubric id -> platform module -> domains that reached its code
    for e in evidence:
        if e.kind == "code" and e.domain is None:
            (every if e.everywhere else features).setdefault(e.rubric_id, set()).update(e.modules)
            for module in e.modules:
                exercised.setdefault(e.rubric_id, {}).setdefault(module, set()).update(e.reached_by)
    reports = []
    for name in sorted(cards):
        scoped = (scope_platform_evidence(e, name, usage.get(name, set()), known, features, every, exercised)
                  for e in evidence)
        mine = [e for e in scoped if e is not None]
        tests = [TestScore(t, [e for e in mine if e.rubric_id == t.id]) for t in RUBRIC]
        reports.append(DomainReport(name, repo, tests, problems))
    return reports


def _fmt(score: float) -> str:
    return f"{score:.1f}"


def render_text(report: DomainReport, *, verbose: bool = True) -> str:
    """The 28-row table, the section scores, the final score and what is missing."""
    sections = report.section_scores()
    lines = [f"{report.domain}: ML Test Score {_fmt(report.final)} (the minimum of "
             + ", ".join(f"{s} {_fmt(v)}" for s, v in sections.items()) + ")", ""]
    lines.append(f"  {'test':<10} {'score':>5}  {'how':<9}  {'last result':<24} title")
    for section in SECTIONS:
        lines.append(f"  -- {SECTION_TITLES[section]} ({_fmt(sections[section])} of 7)")
        for t in (t for t in report.tests if t.test.section == section):
            lines.append(f"  {t.test.id:<10} {_fmt(t.score):>5}  {t.how:<9}  {t.last_result:<24} {t.test.title}")
            if not verbose:
                continue
            for e in sorted(t.evidence, key=lambda e: (-e.score, e.kind, e.ref)):
                mark = "+" if e.verified else "x"
                detail = e.automation if e.verified else e.problem
                lines.append(f"  {'':<10} {mark} {e.kind:<8} {e.ref}  [{e.how}; {detail}]")
    missing = report.missing()
    lines += ["", f"missing ({len(missing)} of {len(report.tests)}): what would close each"]
    for t in missing:
        lines.append(f"  {t.test.id:<10} {t.test.title}: {t.test.closes_it}")
        for e in t.evidence:
            lines.append(f"  {'':<10} declared but not counted: {e.kind} {e.ref} — {e.problem}")
    partial = report.partial()
    if partial:
        lines.append(f"by hand only ({len(partial)}): automate these to score 1.0")
        lines.extend(f"  {t.test.id:<10} {t.test.title}" for t in partial)
    if report.problems:
        lines += ["", "problems in the declarations:"] + [f"  {p}" for p in report.problems]
    return "\n".join(lines)

