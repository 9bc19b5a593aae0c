"""Collect and verify the evidence a repository declares for the ML Test Score, per domain.

Four kinds of evidence, each found where it is declared (never in a spreadsheet):

* ``test`` — a test function marked ``@pytest.mark.rubric("<id>", ...)`` (or a marked class or
  module ``pytestmark``), found by reading ``tests/`` (AST; nothing is imported). Domain: the folder
  under ``tests/domains/<domain>/``; any other test folder counts for every domain. Verified when the
  test exists **and its last recorded run passed** (the record is written by
  :mod:`inloop.readiness.pytest_plugin`) **at the commit checked out now, for the test file as it
  is now** (same SHA-256). Automated when the repository's CI runs the suite and the result came from
  CI or a full session on a clean tree; a partial (``-k``, chosen paths) local run or a dirty tree
  counts as manual.
* ``check`` — a card concern with ``rubric: [<id>]``. Verified when the concern is enforced, its check
  exists in the domain's Dagster definitions and **has passed at least once** in the platform database
  (a check that only ever failed proves nothing yet). Automated when a schedule or sensor that is on by
  default runs a job containing the check's asset.
* ``code`` — an object decorated ``@rubric("<id>", what=..., how=...)`` (or ``rubric(...)(obj)``),
  found by reading the sources; when the repository is the installed checkout the module is imported
  and the declaration must have registered. ``how`` defaults to manual; ``how="automated"`` counts as
  automated only when the recorded test session at this commit **reached** the function (the record's
  ``reached``), with the same rule for partial runs and dirty trees as tests. Code nothing reached
  counts at most as manual; platform code counts for a domain only when that domain's tests or code
  reached it (or it is declared ``domain="*"``).
* ``document`` — a Markdown file with ``<!-- rubric: <id>, <id> -->``: results documented by hand
  (manual, verified by existence). It counts for the domain whose folder holds it
  (``domains/<d>/...``); a document elsewhere counts only for the domains it names:
  ``<!-- rubric: model-2; domains: credit, recommender -->``.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from inloop.readiness.rubric import rubric_test

__all__ = [
    "CheckInfo",
    "Evidence",
    "INSTALLED_REPO",
    "collect_card_evidence",
    "collect_code_evidence",
    "collect_document_evidence",
    "collect_evidence",
    "collect_test_evidence",
    "definitions_check_info",
    "platform_usage",
    "repo_domains",
    "scope_platform_evidence",
]

Kind = Literal["test", "check", "code", "document"]

#: The checkout this installed ``inloop`` was loaded from (platform/src/inloop/readiness/ -> repo).
INSTALLED_REPO = Path(__file__).resolve().parents[4]

_SKIP_DIRS = {".git", ".venv", ".inloop", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache",
              ".hypothesis", ".tools", "dist", "build"}


@dataclass
class Evidence:
    """One declaration of evidence for one rubric test, and what verifying it found."""

    rubric_id: str
    kind: Kind
    ref: str  # what to look at: test node id, check name, module:object, file
    location: str  # where it is declared: path[:line], relative to the repository
    domain: str | None  # None: counts for every domain
    what: str = ""
    how: Literal["automated", "manual"] = "manual"
    automation: str = ""  # who runs it: "CI (.ci/run: make test)", "schedule invoice_catch_up", "by hand"
    verified: bool = False
    problem: str = ""  # why it is not verified, and what to do
    last_result: str = "not run"  # passed / failed / skipped / not run / exists
    last_run_at: datetime | None = None
    runs: int | None = None
    #: For platform-wide evidence: the platform modules it is about (a domain must use one of them).
    modules: tuple[str, ...] = ()
    #: Platform code declared ``@rubric(..., domain="*")``: counts for every domain.
    everywhere: bool = False
    #: Code evidence: the domains whose tests (``tests/domains/<d>/``) or code (package ``d`` on the
    #: call stack) reached it in the recorded session at this commit; "*" when anything reached it.
    reached_by: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        if not self.verified:
            return 0.0
        return 1.0 if self.how == "automated" else 0.5

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_run_at"] = self.last_run_at.isoformat() if self.last_run_at else None
        data["score"] = self.score
        return data


# --- helpers -----------------------------------------------------------------------------------

def _rel(path: Path, repo: Path) -> str:
    try:
        return path.relative_to(repo).as_posix()
    except ValueError:
        return path.as_posix()


def _walk(root: Path, suffix: str) -> Iterator[Path]:
    if not root.is_dir():
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            if name.endswith(suffix):
                yield Path(folder) / name


def _parse(path: Path, problems: list[str], repo: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError) as exc:
        problems.append(f"{_rel(path, repo)}: cannot be read for rubric declarations: {exc}")
        return None


def _valid_ids(ids: Iterable[str], where: str, problems: list[str]) -> list[str]:
    good = []
    for rubric_id in ids:
        try:
            rubric_test(rubric_id)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        good.append(rubric_id)
    return good


def _string_args(call: ast.Call) -> list[str]:
    return [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def _kwarg(call: ast.Call, name: str) -> Any:
    for kw in call.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


def repo_domains(repo: Path) -> dict[str, Path]:
    """Domain folders of a repository: ``domains/<name>/project.yaml``."""
    base = repo / "domains"
    if not base.is_dir():
        return {}
    return {p.name: p for p in sorted(base.iterdir()) if (p / "project.yaml").is_file()}


def _domain_of(path: Path, repo: Path, base: str) -> str | None:
    """``<base>/domains/<d>/...`` -> d; anything else under ``base`` counts for every domain."""
    parts = Path(_rel(path, repo)).parts
    if base:
        parts = parts[1:] if parts and parts[0] == base else parts
    return parts[1] if len(parts) > 2 and parts[0] == "domains" else None


# --- tests -------------------------------------------------------------------------------------

def _mark_calls(node: ast.expr) -> list[ast.Call]:
    """``pytest.mark.rubric(...)`` calls in a decorator or a ``pytestmark`` value."""
    found: list[ast.Call] = []
    for sub in ast.walk(node):
        if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "rubric"
                and isinstance(sub.func.value, ast.Attribute) and sub.func.value.attr == "mark"):
            found.append(sub)
    return found


def _marked_ids(calls: list[ast.Call]) -> tuple[list[str], str]:
    ids: list[str] = []
    what = ""
    for call in calls:
        ids.extend(_string_args(call))
        what = what or (_kwarg(call, "what") or "")
    return ids, what


def _first_doc_line(node: ast.AST) -> str:
    doc = ast.get_docstring(node) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else None
    return (doc or "").strip().splitlines()[0] if doc else ""


def _is_parametrize(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "parametrize"


def _marked_params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[tuple[str, list[ast.Call]]]:
    """``pytest.param("case", marks=pytest.mark.rubric(...))`` cases of a parametrized test: (case id, marks)."""
    for deco in func.decorator_list:
        if not _is_parametrize(deco) or len(deco.args) < 2 or not isinstance(deco.args[1], ast.List | ast.Tuple):
            continue
        for item in deco.args[1].elts:
            if not (isinstance(item, ast.Call) and isinstance(item.func, ast.Attribute) and item.func.attr == "param"):
                continue
            marks = [c for kw in item.keywords if kw.arg == "marks" for c in _mark_calls(kw.value)]
            case = _kwarg(item, "id")
            if case is None and len(item.args) == 1 and isinstance(item.args[0], ast.Constant):
                case = str(item.args[0].value)
            if marks and case is not None:
                yield case, marks


def _tests_in(tree: ast.Module) -> Iterator[tuple[str, ast.AST, list[ast.Call]]]:
    """(node id suffix, node, rubric mark calls that apply) for every test function of a module."""
    module_marks: list[ast.Call] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets):
            module_marks.extend(_mark_calls(stmt.value))
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name.startswith("test"):
            own = module_marks + [c for d in stmt.decorator_list if not _is_parametrize(d) for c in _mark_calls(d)]
            yield stmt.name, stmt, own
            for case, marks in _marked_params(stmt):
                yield f"{stmt.name}[{case}]", stmt, own + marks
        elif isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
            class_marks = module_marks + [c for d in stmt.decorator_list for c in _mark_calls(d)]
            for body in stmt.body:
                if isinstance(body, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark"
                                                        for t in body.targets):
                    class_marks = class_marks + _mark_calls(body.value)
            for body in stmt.body:
                if isinstance(body, ast.FunctionDef | ast.AsyncFunctionDef) and body.name.startswith("test"):
                    yield (f"{stmt.name}::{body.name}", body,
                           class_marks + [c for d in body.decorator_list for c in _mark_calls(d)])


def _provenance_problem(rec: dict[str, Any], commit: str | None, what: str) -> str:
    """Why a recorded result does not belong to the code checked out now ('' when it does)."""
    from inloop.readiness.pytest_plugin import UNRECORDED

    recorded = rec.get("commit", UNRECORDED)
    if recorded == UNRECORDED:
        return (f"{what} was recorded without its commit (an old or hand-written record): run the suite again "
                "so the result is tied to this commit")
    if recorded != commit:
        return (f"{what} was recorded at commit {str(recorded)[:12]}, but {str(commit)[:12]} is checked out: "
                "run the suite again")
    return ""


def _strength(rec: dict[str, Any], ci: str) -> tuple[str, str]:
    """(how, who runs it) for a result that holds: automated only from CI or a full run on a clean tree."""
    if not ci:
        return "manual", "by hand (pytest); no CI script runs the suite"
    if rec.get("dirty"):
        return "manual", "recorded on a tree with uncommitted changes (by hand)"
    if rec.get("origin") != "ci" and rec.get("partial", True):
        return "manual", "recorded by a partial local run (-k, -m or chosen paths; by hand)"
    where = "CI" if rec.get("origin") == "ci" else "a full local session"
    at = f" at {str(rec['commit'])[:12]}" if rec.get("commit") else ""
    return "automated", f"{ci}; recorded by {where}{at}"


def collect_test_evidence(repo: Path, results: dict[str, dict[str, Any]] | None, problems: list[str], *,
                          commit: str | None = None) -> list[Evidence]:
    """Rubric-marked tests under ``tests/`` with their last recorded result (see ``pytest_plugin``),
    counted only when that result belongs to ``commit`` and to the test file as it is now."""
    from inloop.readiness.pytest_plugin import UNRECORDED, file_digest, result_of

    ci = _ci_runs_tests(repo)
    out: list[Evidence] = []
    for path in _walk(repo / "tests", ".py"):
        if not (path.name.startswith("test_") or path.name.endswith("_test.py")):
            continue
        tree = _parse(path, problems, repo)
        if tree is None:
            continue
        rel = _rel(path, repo)
        digest = file_digest(path)
        domain = _domain_of(path, repo, "tests")
        about = () if domain else tuple(sorted(m for m in _imports(tree, None) if _is_specific_platform_module(m)))
        for suffix, node, calls in _tests_in(tree):
            if not calls:
                continue
            raw, what = _marked_ids(calls)
            nodeid = f"{rel}::{suffix}"
            ids = list(dict.fromkeys(_valid_ids(raw, f"{rel}:{node.lineno}", problems)))  # type: ignore[attr-defined]
            outcome = result_of(results or {}, nodeid)
            for rubric_id in ids:
                ev = Evidence(rubric_id, "test", nodeid, f"{rel}:{node.lineno}", domain,  # type: ignore[attr-defined]
                              what=what or _first_doc_line(node) or suffix.rsplit("::", 1)[-1].replace("_", " "),
                              how="automated" if ci else "manual",
                              automation=ci or "by hand (pytest); no CI script runs the suite", modules=about)
                if outcome is None:
                    ev.problem = f"never run: run `pytest '{nodeid}'` (or the suite) so its result is recorded"
                    out.append(ev)
                    continue
                ev.last_result, ev.last_run_at = outcome["outcome"], outcome["at"]
                stale = _provenance_problem(outcome, commit, "its result")
                if stale:
                    ev.problem, ev.last_result = stale, "stale"
                elif outcome.get("file_sha256", UNRECORDED) != digest:
                    ev.problem, ev.last_result = ("its file changed since the result was recorded (SHA-256 "
                                                  "differs): run it again"), "stale"
                elif outcome["outcome"] != "passed":
                    ev.problem = f"its last run {outcome['outcome']}: a {outcome['outcome']} test proves nothing"
                else:
                    ev.verified = True
                    if ci:
                        ev.how, ev.automation = _strength(outcome, ci)
                out.append(ev)
    return out


def _ci_runs_tests(repo: Path) -> str:
    """Which CI runs the test suite, or '' when none does."""
    ci = repo / ".ci" / "run"
    if ci.is_file():
        text = ci.read_text(encoding="utf-8", errors="replace")
        if "make test" in text:
            return "CI (.ci/run: make test)"
        if "pytest" in text:
            return "CI (.ci/run: pytest)"
    workflows = repo / ".github" / "workflows"
    for wf in _walk(workflows, ".yml"):
        text = wf.read_text(encoding="utf-8", errors="replace")
        if "pytest" in text or "make test" in text:
            return f"CI ({_rel(wf, repo)})"
    return ""


# --- card concerns -----------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckInfo:
    """What a domain's Dagster definitions say about its checks."""

    checks: frozenset[str]
    automation: dict[str, str] = field(default_factory=dict)  # check -> "schedule X (job Y)" when automated
    scheduled_off: dict[str, str] = field(default_factory=dict)  # check -> "sensor X, off by default"
    error: str = ""


@lru_cache(maxsize=16)
def definitions_check_info(domain_name: str) -> CheckInfo:
    """Checks of an installed domain, and which of them a default-on schedule or sensor runs."""
    from inloop.domains import get_domain

    try:
        defs = get_domain(domain_name).definitions()
    except Exception as exc:  # a broken code location is a finding, not a crash
        return CheckInfo(frozenset(), error=f"the domain's Dagster definitions do not load: {type(exc).__name__}: {exc}")
    check_assets: dict[str, set[Any]] = {}
    for checks_def in list(defs.asset_checks or []) + list(defs.assets or []):
        for key in getattr(checks_def, "check_keys", ()):
            check_assets.setdefault(key.name, set()).add(key.asset_key)
    runners: list[tuple[str, str, bool]] = []  # (description, job name, on by default)
    for schedule in defs.schedules or []:
        try:
            on = str(schedule.default_status).endswith("RUNNING")
            runners.append((f"schedule {schedule.name}", schedule.job_name, on))
        except Exception:
            continue
    for sensor in defs.sensors or []:
        try:
            if not sensor.has_jobs:
                continue
            on = str(sensor.default_status).endswith("RUNNING")
            runners.extend((f"sensor {sensor.name}", t.job_name, on) for t in sensor.targets)
        except Exception:
            continue
    job_assets: dict[str, set[Any]] = {}
    for _, job_name, _on in runners:
        if job_name in job_assets:
            continue
        try:
            job_assets[job_name] = set(defs.resolve_job_def(job_name).asset_layer.executable_asset_keys)
        except Exception:
            job_assets[job_name] = set()
    automated: dict[str, str] = {}
    off: dict[str, str] = {}
    for check, assets in check_assets.items():
        for who, job_name, on in runners:
            if assets & job_assets.get(job_name, set()):
                if on:
                    automated.setdefault(check, f"{who} (job {job_name})")
                else:
                    off.setdefault(check, f"{who} (job {job_name}) is off by default")
    return CheckInfo(frozenset(check_assets), automated, off)


def _check_history(domain: str) -> dict[str, dict[str, Any]]:
    """Per concern: the last result and how many evaluations the platform database holds."""
    import sqlalchemy as sa

    from inloop import db
    from inloop.db.models import CheckResult

    passes = sa.func.sum(sa.case((CheckResult.passed.is_(True), 1), else_=0))
    latest = (sa.select(CheckResult.concern_id, sa.func.max(CheckResult.id).label("id"),
                        sa.func.count(CheckResult.id).label("n"), passes.label("passes"))
              .where(CheckResult.domain == domain).group_by(CheckResult.concern_id).subquery())
    query = sa.select(CheckResult, latest.c.n, latest.c.passes).join(latest, CheckResult.id == latest.c.id)
    with db.read_session() as sess:
        rows = sess.execute(query).all()
    return {row.concern_id: {"passed": row.passed, "at": row.evaluated_at, "check": row.check_name, "count": n,
                             "passes": int(p or 0)}
            for row, n, p in rows}


def collect_card_evidence(
    repo: Path,
    domain: str,
    card_path: Path,
    problems: list[str],
    *,
    check_info: Callable[[str], CheckInfo] | None = None,
    history: Callable[[str], dict[str, dict[str, Any]]] | None = None,
) -> list[Evidence]:
    """Concerns with ``rubric:`` on the domain's card, verified against definitions and check history."""
    from inloop.cards import CardError, load_card

    try:
        card = load_card(card_path)
    except CardError as exc:
        problems.append(f"{domain}: the project card does not load, its rubric evidence is not counted: {exc}")
        return []
    tagged = [c for c in card.concerns if c.rubric]
    if not tagged:
        return []
    info = (check_info or definitions_check_info)(domain)
    try:
        past = (history or _check_history)(domain)
    except Exception as exc:
        problems.append(f"{domain}: the platform database cannot be read for check results: {exc}")
        past = {}
    lines = card_path.read_text(encoding="utf-8").splitlines()
    out: list[Evidence] = []
    for concern in tagged:
        line = next((i + 1 for i, text in enumerate(lines) if re.match(rf"\s*-\s*id:\s*['\"]?{re.escape(concern.id)}\b",
                                                                           text)), 0)
        where = f"{_rel(card_path, repo)}:{line}" if line else _rel(card_path, repo)
        automation = info.automation.get(concern.check or "", "")
        for rubric_id in concern.rubric:
            ev = Evidence(rubric_id, "check", f"check {concern.check} (concern {concern.id})", where, domain,
                          what=concern.statement, how="automated" if automation else "manual",
                          automation=automation or info.scheduled_off.get(concern.check or "", "")
                          or "runs when someone materializes its asset (no schedule or sensor on by default)")
            record = past.get(concern.id)
            if record is not None:
                ev.last_result = "passed" if record["passed"] else "failed"
                ev.last_run_at = record["at"]
                ev.runs = record["count"]
            if concern.status != "enforced" or concern.check is None:
                ev.problem = "the concern is planned, not enforced: implement its check"
            elif info.error:
                ev.problem = info.error
            elif concern.check not in info.checks:
                ev.problem = f"no asset check named {concern.check!r} in the domain's Dagster definitions"
            elif record is None:
                ev.problem = "the check has never run: materialize its asset (e.g. the domain's first_run job)"
            elif not record.get("passes", 1 if record["passed"] else 0):
                ev.problem = (f"the check has only ever failed ({record['count']} runs): a check that never "
                              "passed proves nothing yet")
            else:
                ev.verified = True
            out.append(ev)
    return out


# --- code ----------------------------------------------------------------------------------------

def _rubric_calls(node: ast.AST) -> list[ast.Call]:
    """``rubric(...)`` / ``readiness.rubric(...)`` calls (not ``pytest.mark.rubric``)."""
    found = []
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Call):
            continue
        func = sub.func
        named = isinstance(func, ast.Name) and func.id == "rubric"
        attribute = (isinstance(func, ast.Attribute) and func.attr == "rubric"
                     and not (isinstance(func.value, ast.Attribute) and func.value.attr == "mark"))
        if named or attribute:
            found.append(sub)
    return found


def _module_name(path: Path, repo: Path) -> str | None:
    parts = Path(_rel(path, repo)).with_suffix("").parts
    if "src" not in parts:
        return None
    mod = list(parts[parts.index("src") + 1:])
    if mod and mod[-1] == "__init__":
        mod.pop()
    return ".".join(mod) or None


def _code_declarations(tree: ast.Module) -> Iterator[tuple[str, int, ast.Call, bool]]:
    """(object name, line, rubric call, whether its calls can be recorded) for decorated defs/classes
    and ``name = rubric(...)(obj)`` (recordable when ``obj`` turns out to be a function)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and deco in _rubric_calls(deco):
                    yield node.name, node.lineno, deco, not isinstance(node, ast.ClassDef)
        elif isinstance(node, ast.Assign | ast.Expr):
            value = node.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Call) and value.func in _rubric_calls(value.func):
                target = node.targets[0] if isinstance(node, ast.Assign) else None
                name = (target.id if isinstance(target, ast.Name)
                        else ast.unparse(value.args[0]) if value.args else "?")
                yield name, node.lineno, value.func, True


def _reach_of(module: str | None, name: str, reached: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The reach record of ``module:name`` (a method is recorded as ``module:Class.name``)."""
    if not module:
        return None
    for key, rec in reached.items():
        mod, _, qual = key.partition(":")
        if mod == module and (qual == name or qual.endswith("." + name)):
            return rec
    return None


def _reached_by(rec: dict[str, Any]) -> tuple[str, ...]:
    """Who reached it: ``d`` for tests under ``tests/domains/<d>/`` and for package ``d`` calling it; "*"."""
    names = {"*"} | set(rec.get("callers") or ())
    for file in rec.get("test_files") or ():
        parts = Path(file).parts
        if len(parts) > 3 and parts[0] == "tests" and parts[1] == "domains":
            names.add(parts[2])
    return tuple(sorted(names))


def _code_strength(declared: str, reachable: bool, rec: dict[str, Any] | None, commit: str | None,
                   ci: str) -> tuple[str, str, tuple[str, ...]]:
    """(how it counts, who runs it, who reached it) for one ``@rubric`` declaration."""
    if not reachable:
        return "manual", "not a function, so no run can be recorded: counts as manual (by hand)", ()
    if rec is None:
        return "manual", "never reached by a recorded test session: counts as manual (by hand)", ()
    stale = _provenance_problem(rec, commit, "its reach")
    if stale:
        return "manual", f"{stale}; until then it counts as manual (by hand)", ()
    by = _reached_by(rec)
    if declared != "automated":
        return "manual", "by hand (reached by the recorded test session)", by
    how, who = _strength(rec, ci)
    if how == "automated":
        who = f"declared automated and reached by the recorded session ({who})"
    return how, who, by


def collect_code_evidence(repo: Path, problems: list[str], *, verify_imports: bool | None = None,
                          for_domains: Iterable[str] | None = None,
                          reached: dict[str, dict[str, Any]] | None = None,
                          commit: str | None = None) -> list[Evidence]:
    """``@rubric`` declarations in the platform, domain and console sources.

    A declaration counts as automated only when it says ``how="automated"`` and the recorded test
    session at ``commit`` reached it (``reached``, see ``pytest_plugin.load_reached``); otherwise at
    most as manual. When verifying by import, only declarations that count for ``for_domains``
    (default: all) are imported: a domain's report never loads another domain's ML stack.
    """
    wanted = None if for_domains is None else set(for_domains)
    from inloop.readiness import code_evidence

    if verify_imports is None:
        verify_imports = repo.resolve() == INSTALLED_REPO
    ci = _ci_runs_tests(repo)
    roots = [repo / "platform" / "src", repo / "dashboards" / "src"]
    roots += [d / "src" for d in repo_domains(repo).values()]
    out: list[Evidence] = []
    for root in roots:
        for path in _walk(root, ".py"):
            if "readiness" in path.parts and path.parent.name == "readiness" and "inloop" in path.parts:
                continue  # the machinery itself, not evidence
            tree = _parse(path, problems, repo)
            if tree is None:
                continue
            rel = _rel(path, repo)
            module = _module_name(path, repo)
            for name, line, call, reachable in _code_declarations(tree):
                ids = _valid_ids(_string_args(call), f"{rel}:{line}", problems)
                declared = _kwarg(call, "how") or "manual"
                domain = _kwarg(call, "domain") or _domain_of(path, repo, "")
                ref = f"{module}:{name}" if module else f"{rel}:{name}"
                problem, verified = "", True
                if declared not in ("automated", "manual"):
                    problem, verified = f"how must be 'automated' or 'manual', not {declared!r}", False
                elif verify_imports and module and (wanted is None or domain is None or domain in wanted):
                    try:
                        importlib.import_module(module)
                    except Exception as exc:
                        problem, verified = f"module {module} does not import: {type(exc).__name__}: {exc}", False
                    else:
                        registered = [e for e in code_evidence() if e.qualname.split(":", 1)[0] == module
                                      and set(ids) <= set(e.ids)]
                        if not registered:
                            problem, verified = f"importing {module} registered no @rubric declaration for {ids}", False
                how, automation, by = _code_strength(declared, reachable, _reach_of(module, name, reached or {}),
                                                     commit, ci)
                for rubric_id in ids:
                    everywhere = domain == "*"
                    if everywhere:  # declared for every domain, whether or not its code imports this
                        domain = None
                        platform = False
                    else:
                        platform = domain is None and module is not None and module.split(".")[0] == "inloop"
                    out.append(Evidence(rubric_id, "code", ref, f"{rel}:{line}", domain,
                                        modules=(module,) if module and (platform or everywhere) else (),
                                        everywhere=everywhere, reached_by=by,
                                        what=_kwarg(call, "what") or "", how=how,  # type: ignore[arg-type]
                                        automation=automation, verified=verified, problem=problem,
                                        last_result=("reached" if by else "exists") if verified else "missing"))
    return out


# --- documents -----------------------------------------------------------------------------------

_DOC_TAG = re.compile(r"<!--\s*rubric:\s*(.*?)\s*-->", re.IGNORECASE | re.DOTALL)
_DOC_DOMAINS = re.compile(r";\s*domains?\s*:\s*(.*)$", re.IGNORECASE | re.DOTALL)


def collect_document_evidence(repo: Path, problems: list[str], domains: Iterable[str] | None = None) -> list[Evidence]:
    """Markdown files declaring ``<!-- rubric: id, id -->``: results documented by hand.

    A document counts for the domain whose folder holds it; a document anywhere else counts only for
    the domains its tag names (``<!-- rubric: model-2; domains: credit -->``) — never for every domain.
    """
    known = set(repo_domains(repo)) | set(domains or ())
    out: list[Evidence] = []
    for path in _walk(repo, ".md"):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        rel = _rel(path, repo)
        if rel == "docs/readiness.md":
            continue  # the how-to shows the syntax; it is not evidence
        for match in _DOC_TAG.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            tag = match.group(1).strip()
            named_part = _DOC_DOMAINS.search(tag)
            names = [n for n in re.split(r"[\s,]+", named_part.group(1).strip()) if n] if named_part else []
            tag = tag[: named_part.start()] if named_part else tag
            ids = _valid_ids(re.split(r"[\s,]+", tag.strip()), f"{rel}:{line}", problems)
            title = next((t.lstrip("# ").strip() for t in text.splitlines() if t.startswith("# ")), path.stem)
            folder = _domain_of(path, repo, "")
            for name in names:
                if name not in known:
                    problems.append(f"{rel}:{line}: the rubric tag names unknown domain {name!r}; domains: "
                                    + (", ".join(sorted(known)) or "(none)"))
            owners = [folder] if folder else [n for n in dict.fromkeys(names) if n in known]
            for rubric_id in ids:
                if not owners:
                    out.append(Evidence(rubric_id, "document", rel, f"{rel}:{line}", None, what=title, how="manual",
                                        automation="by hand, results documented", last_result="not counted",
                                        problem="a document outside domains/<d>/ counts only for the domains it "
                                                "names: write <!-- rubric: " + rubric_id + "; domains: <d> -->"))
                for owner in owners:
                    out.append(Evidence(rubric_id, "document", rel, f"{rel}:{line}", owner,
                                        what=title, how="manual", automation="by hand, results documented",
                                        verified=True, last_result="exists"))
    return out


# --- which platform code a domain uses --------------------------------------------------------

#: Platform modules every domain's code touches, or the entry points that reach everything:
#: importing one of them says nothing about which feature a test is about.
_GENERIC = ("inloop.settings", "inloop.db", "inloop.domains", "inloop.readiness", "inloop.cli", "inloop.api.app")


def _is_specific_platform_module(name: str) -> bool:
    return (name.split(".")[0] == "inloop" and name != "inloop"
            and not any(name == g or name.startswith(g + ".") for g in _GENERIC))


def _imports(tree: ast.Module, package: str | None) -> set[str]:
    """Absolute names a module imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level and package:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            if base:
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def platform_usage(repo: Path, domains: Iterable[str]) -> tuple[dict[str, set[str]], set[str]]:
    """Per domain: every ``inloop`` module its code reaches (its own imports, then theirs); and the
    platform's modules."""
    graph: dict[str, set[str]] = {}
    for path in _walk(repo / "platform" / "src", ".py"):
        module = _module_name(path, repo)
        tree = _parse(path, [], repo)
        if module and tree is not None:
            package = module if path.name == "__init__.py" else module.rpartition(".")[0]
            graph[module] = {m for m in _imports(tree, package) if m.split(".")[0] == "inloop"}
    usage: dict[str, set[str]] = {}
    for name in domains:
        start: set[str] = set()
        for path in _walk(repo / "domains" / name / "src", ".py"):
            tree = _parse(path, [], repo)
            if tree is not None:
                start |= {m for m in _imports(tree, None) if m.split(".")[0] == "inloop"}
        seen: set[str] = set()
        todo = list(start)
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            todo.extend(graph.get(module, ()))
        usage[name] = seen
    return usage, set(graph)


def scope_platform_evidence(evidence: Evidence, domain: str, used: set[str], known: set[str],
                            features: dict[str, set[str]] | None = None,
                            every: dict[str, set[str]] | None = None,
                            exercised: dict[str, dict[str, set[str]]] | None = None) -> Evidence | None:
    """The evidence as it counts for ``domain``: its own; platform-wide evidence about platform code
    the domain's own tests or code exercised; or other platform-wide evidence (listed, not counted).

    Platform ``@rubric`` code counts only when the domain's tests or code reached it
    (``Evidence.reached_by``). A platform test is about the platform modules it imports — narrowed to
    those holding ``@rubric`` code for the same rubric test (``features``) when it imports any, and then
    the domain must have reached that code (``exercised``: rubric id -> module -> domains); otherwise the
    domain's code must import every module it is about.
    """
    if evidence.domain is not None:
        return evidence if evidence.domain == domain else None
    if evidence.kind == "document":
        return evidence  # a document that names no domain: listed, never counted
    if evidence.everywhere:
        return evidence
    if evidence.kind == "code":
        if domain in evidence.reached_by:
            return evidence
        return replace(evidence, verified=False,
                       problem=f"platform code that {domain}'s tests and code never reached in the recorded session "
                               f"at this commit: exercise it from tests/domains/{domain}/ or {domain}'s code")
    about = {m for m in evidence.modules if m in known}
    if evidence.kind == "test" and about & (every or {}).get(evidence.rubric_id, set()):
        return evidence  # a test of platform code declared for every domain (@rubric(domain="*"))
    # a test importing a package (``from inloop.privacy import forget``) is about the feature modules in it
    feature = {f for f in (features or {}).get(evidence.rubric_id, set())
               if any(f == m or f.startswith(m + ".") for m in about)}
    if feature:
        reached = (exercised or {}).get(evidence.rubric_id, {})
        if any(domain in reached.get(m, set()) for m in feature):
            return evidence
        names = ", ".join(sorted(feature))
        return replace(evidence, verified=False,
                       problem=f"a platform test of {names}, whose @rubric code {domain}'s tests and code never reached")
    unused = sorted(m for m in about if m not in used)
    if not unused:
        return evidence
    names = ", ".join(unused)
    return replace(evidence, verified=False,
                   problem=f"platform evidence about {names}, which {domain}'s code does not use")


def _registered_elsewhere(found: list[Evidence], domains: Iterable[str], repo: Path,
                          verify_imports: bool | None, reached: dict[str, dict[str, Any]] | None = None,
                          commit: str | None = None) -> list[Evidence]:
    """``@rubric`` declarations the imported code registered that no source file shows (e.g. made by a
    factory at import time) — only for the installed checkout, whose code is what was imported."""
    from inloop.readiness import code_evidence

    if not (verify_imports if verify_imports is not None else repo.resolve() == INSTALLED_REPO):
        return []
    seen = {e.ref.split(":", 1)[0] for e in found}
    wanted = set(domains)
    out = []
    for decl in code_evidence():
        module = decl.qualname.split(":", 1)[0]
        if module in seen or (decl.domain is not None and decl.domain != "*" and decl.domain not in wanted):
            continue
        everywhere = decl.domain == "*"
        platform = decl.domain is None and module.split(".")[0] == "inloop"
        how, automation, by = _code_strength(decl.how, True, (reached or {}).get(decl.qualname), commit,
                                             _ci_runs_tests(repo))
        for rubric_id in decl.ids:
            out.append(Evidence(rubric_id, "code", decl.qualname, module, None if everywhere else decl.domain,
                                what=decl.what, how=how, verified=True,  # type: ignore[arg-type]
                                last_result="reached" if by else "exists", automation=automation, reached_by=by,
                                modules=(module,) if platform or everywhere else (), everywhere=everywhere))
    return out


# --- all of it -----------------------------------------------------------------------------------

def collect_evidence(
    repo: Path,
    domains: dict[str, Path],
    *,
    results: dict[str, dict[str, Any]] | None = None,
    check_info: Callable[[str], CheckInfo] | None = None,
    history: Callable[[str], dict[str, dict[str, Any]]] | None = None,
    verify_imports: bool | None = None,
    reached: dict[str, dict[str, Any]] | None = None,
    commit: str | None | Literal["HEAD"] = "HEAD",
) -> tuple[list[Evidence], list[str]]:
    """Every declaration of evidence in ``repo`` (domain None: every domain) and the problems met.

    ``results`` and ``reached`` default to the repository's record; ``commit`` to what is checked out
    (``git rev-parse HEAD``; None outside git). Recorded results from another commit do not count.
    """
    from inloop.readiness.pytest_plugin import load_reached, load_results, repo_commit

    if commit == "HEAD":
        commit = repo_commit(repo)[0]
    problems: list[str] = []
    evidence = collect_test_evidence(repo, load_results(repo) if results is None else results, problems,
                                     commit=commit)
    for name, card in domains.items():
        evidence += collect_card_evidence(repo, name, card, problems, check_info=check_info, history=history)
    reached = load_reached(repo) if reached is None else reached
    code = collect_code_evidence(repo, problems, verify_imports=verify_imports, for_domains=domains,
                                 reached=reached, commit=commit)
    evidence += code + _registered_elsewhere(code, domains, repo, verify_imports, reached, commit)
    evidence += collect_document_evidence(repo, problems, domains)
    return evidence, problems
