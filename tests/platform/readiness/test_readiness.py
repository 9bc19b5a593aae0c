"""Readiness: evidence is found where it is declared, verified, scored, and missing evidence is named.

A small repository is written into the test's folder: a domain ``parcels`` (its card), a marked test
for it, a platform test (counts for every domain), a ``@rubric`` declaration and a document.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inloop.cli import app
from inloop.readiness.collect import CheckInfo
from inloop.readiness.pytest_plugin import load_reached, load_results, results_path
from inloop.readiness.report import ReadinessError, domain_reports, render_text

CARD = (Path(__file__).resolve().parents[1] / "cards" / "minimal.yaml").read_text()

DOMAIN_TEST = '''\
import pytest

pytestmark = pytest.mark.rubric("data-1")


@pytest.mark.rubric("data-7", "infra-2")
def test_features():
    """Feature code on three rows."""


class TestTraining:
    @pytest.mark.rubric("infra-1")
    def test_same_seed_same_model(self):
        pass

    def test_not_marked_beyond_the_module(self):
        pass


@pytest.mark.rubric("model-9")
def test_with_a_typo_in_its_id():
    pass
'''

PLATFORM_TEST = '''\
import pytest


@pytest.mark.rubric("model-1")
def test_every_card_lints():
    pass


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.rubric("infra-3")
def test_pipeline(n):
    pass


@pytest.mark.parametrize("story", ["quiet", pytest.param("drift", marks=[pytest.mark.slow, pytest.mark.rubric("monitor-3")])])
def test_story(story):
    pass
'''

CODE = '''\
from inloop.readiness import rubric


@rubric("infra-7", what="rolls back", how="manual")
def roll_back():
    pass


@rubric("monitor-6", what="bench compare")
class Bench:
    pass
'''


def _repo(root: Path, *, ci: bool = True) -> Path:
    (root / "domains" / "parcels" / "src" / "parcels").mkdir(parents=True)
    (root / "domains" / "parcels" / "project.yaml").write_text(
        CARD.replace("    check: no_unsorted_parcels\n", "    check: no_unsorted_parcels\n    rubric: [monitor-2]\n"))
    (root / "domains" / "parcels" / "src" / "parcels" / "ops.py").write_text(CODE)
    (root / "tests" / "domains" / "parcels").mkdir(parents=True)
    (root / "tests" / "domains" / "parcels" / "test_parcels.py").write_text(DOMAIN_TEST)
    (root / "tests" / "platform").mkdir(parents=True)
    (root / "tests" / "platform" / "test_cards.py").write_text(PLATFORM_TEST)
    (root / "docs").mkdir()
    (root / "docs" / "offline-online.md").write_text(
        "# Offline vs online\n\n<!-- rubric: model-2; domains: parcels -->\nr = 0.8\n")
    if ci:
        (root / ".ci").mkdir()
        (root / ".ci" / "run").write_text("#!/bin/sh\nmake test\n")
    return root


NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)


def _ran(outcome: str, source: str, **provenance: object) -> dict:
    """A recorded result as the plugin writes it: from CI, a full session, at the test folder's commit
    (None: the repositories written here are not git checkouts), for the test file ``source``."""
    return {"outcome": outcome, "at": NOW, "commit": None, "dirty": False, "origin": "ci", "partial": False,
            "file_sha256": hashlib.sha256(source.encode()).hexdigest(), **provenance}


def _results(**outcomes: str) -> dict[str, dict]:
    base = "tests/domains/parcels/test_parcels.py::"
    return {base + k.replace("__", "::"): _ran(v, DOMAIN_TEST) for k, v in outcomes.items()}


def _no_checks(_domain: str) -> CheckInfo:
    return CheckInfo(frozenset())


def _report(repo: Path, results: dict, check_info=_no_checks, history=lambda d: {}):  # type: ignore[no-untyped-def]
    (report,) = domain_reports("parcels", repo=repo, results=results, check_info=check_info, history=history)
    return report


def test_passed_marked_tests_score_one_and_never_run_or_failed_ones_score_nothing(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    report = _report(repo, _results(test_features="passed", TestTraining__test_same_seed_same_model="failed"))
    assert report.score_of("data-7") == 1.0 and report.score_of("infra-2") == 1.0
    features = next(e for t in report.tests for e in t.evidence if t.test.id == "data-7")
    assert features.ref == "tests/domains/parcels/test_parcels.py::test_features"
    assert features.what == "Feature code on three rows." and features.automation == "CI (.ci/run: make test); recorded by CI"
    # the class method failed last time: declared, run, but not evidence
    (training,) = next(t for t in report.tests if t.test.id == "infra-1").evidence
    assert (training.verified, training.last_result) == (False, "failed") and report.score_of("infra-1") == 0
    # the module-level mark applies to every test of the file; none of them ran
    data1 = next(t for t in report.tests if t.test.id == "data-1")
    assert {e.ref.rsplit("::", 1)[1] for e in data1.evidence} == {
        "test_features", "test_same_seed_same_model", "test_not_marked_beyond_the_module", "test_with_a_typo_in_its_id"}
    assert report.score_of("data-1") == 1.0  # test_features passed and carries the module mark
    assert any("never run" in e.problem for e in data1.evidence)
    assert any("model-9" in p and "unknown ML Test Score id" in p for p in report.problems)


def test_without_ci_a_passing_test_is_manual_and_scores_half(tmp_path: Path) -> None:
    report = _report(_repo(tmp_path, ci=False), _results(test_features="passed"))
    assert report.score_of("data-7") == 0.5
    assert next(t for t in report.tests if t.test.id == "data-7").how == "manual"


def test_platform_tests_count_for_every_domain_and_parametrized_cases_combine(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    base = "tests/platform/test_cards.py::"
    results = {base + "test_every_card_lints": _ran("passed", PLATFORM_TEST),
               base + "test_pipeline[1]": _ran("passed", PLATFORM_TEST),
               base + "test_pipeline[2]": _ran("failed", PLATFORM_TEST)}
    report = _report(repo, results)
    assert report.score_of("model-1") == 1.0
    assert report.score_of("infra-3") == 0.0  # one case failed: the test failed
    # a mark on one case of a parametrized test is evidence of that case only
    (story,) = next(t for t in report.tests if t.test.id == "monitor-3").evidence
    assert story.ref == base + "test_story[drift]" and "never run" in story.problem
    results[base + "test_story[drift]"] = _ran("passed", PLATFORM_TEST)
    results[base + "test_story[quiet]"] = _ran("failed", PLATFORM_TEST)  # not the marked case
    assert _report(repo, results).score_of("monitor-3") == 1.0


def test_code_and_documents_count_as_declared_and_the_card_check_must_exist_and_have_run(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    report = _report(repo, {})
    assert report.score_of("infra-7") == 0.5  # how="manual"
    assert report.score_of("monitor-6") == 0.5  # how defaults to manual; a class cannot be reached anyway
    (bench,) = next(t for t in report.tests if t.test.id == "monitor-6").evidence
    assert (bench.kind, bench.ref, bench.domain, bench.how) == ("code", "parcels.ops:Bench", "parcels", "manual")
    assert report.score_of("model-2") == 0.5  # a document naming parcels: by hand, results written down
    # the card's check is not in the definitions
    (check,) = next(t for t in report.tests if t.test.id == "monitor-2").evidence
    assert check.kind == "check" and "no asset check named 'no_unsorted_parcels'" in check.problem
    assert check.location == "domains/parcels/project.yaml:29"
    # it exists but never ran
    exists = lambda d: CheckInfo(frozenset({"no_unsorted_parcels"}))  # noqa: E731
    (check,) = next(t for t in _report(repo, {}, exists).tests if t.test.id == "monitor-2").evidence
    assert "never run" in check.problem
    # it ran three times and only ever failed: it has not shown it can pass, so it proves nothing yet
    failing = lambda d: {"no-parcel-left-behind": {"passed": False, "at": NOW, "count": 3, "passes": 0}}  # noqa: E731
    report = _report(repo, {}, exists, failing)
    assert report.score_of("monitor-2") == 0.0
    (check,) = next(t for t in report.tests if t.test.id == "monitor-2").evidence
    assert "only ever failed (3 runs)" in check.problem
    # it passed once and failed last (catching a failure is its job), by hand
    ran = lambda d: {"no-parcel-left-behind": {"passed": False, "at": NOW, "count": 3, "passes": 1}}  # noqa: E731
    report = _report(repo, {}, exists, ran)
    assert report.score_of("monitor-2") == 0.5
    (check,) = next(t for t in report.tests if t.test.id == "monitor-2").evidence
    assert (check.last_result, check.runs) == ("failed", 3)
    # a schedule that is on by default runs it: automated
    scheduled = lambda d: CheckInfo(frozenset({"no_unsorted_parcels"}),  # noqa: E731
                                    {"no_unsorted_parcels": "schedule nightly (job sort)"})
    assert _report(repo, {}, scheduled, ran).score_of("monitor-2") == 1.0


def test_sections_sum_the_final_is_their_minimum_and_missing_says_what_closes_it(tmp_path: Path) -> None:
    report = _report(_repo(tmp_path), _results(test_features="passed"))
    sections = report.section_scores()
    # data: data-1 (module mark on the passing test), data-7; model: model-2 (document);
    # infra: infra-2 (test), infra-7 (manual code); monitor: monitor-6 (code, manual)
    assert sections == {"data": 2.0, "model": 0.5, "infra": 1.5, "monitor": 0.5}
    assert report.final == 0.5
    missing = {t.test.id for t in report.missing()}
    assert len(missing) == 28 - 6 and "model-5" in missing
    text = render_text(report)
    assert "parcels: ML Test Score 0.5" in text
    assert "model-5    A simpler model is not better: a promotion gate comparing the model with a simple baseline" in text
    assert "declared but not counted: check check no_unsorted_parcels" in text
    data = report.to_dict()
    assert data["final"] == 0.5 and len(data["tests"]) == 28
    assert {m["id"] for m in data["missing"]} == missing


def test_unknown_domains_and_non_repositories_are_clear_errors(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    with pytest.raises(ReadinessError, match="unknown domain 'credit'; domains in .*: parcels"):
        domain_reports("credit", repo=repo, results={})
    with pytest.raises(ReadinessError, match="has neither tests/ nor domains/"):
        domain_reports(repo=tmp_path)
    result = CliRunner().invoke(app, ["readiness", "nope", "--repo", str(repo)])
    assert result.exit_code == 2 and "unknown domain 'nope'" in result.output


def test_the_command_prints_json_and_fails_under_a_floor(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    results_path(repo).parent.mkdir(parents=True)
    record = {**_ran("passed", DOMAIN_TEST), "at": NOW.isoformat()}
    results_path(repo).write_text(json.dumps({"tests": {"tests/domains/parcels/test_parcels.py::test_features": record}}))
    result = CliRunner().invoke(app, ["readiness", "parcels", "--repo", str(repo), "--json"])
    assert result.exit_code == 0, result.output
    (data,) = json.loads(result.output)
    assert data["domain"] == "parcels" and data["sections"]["data"] == 2.0
    result = CliRunner().invoke(app, ["readiness", "--repo", str(repo), "--fail-under", "1"])
    assert result.exit_code == 1 and "below --fail-under 1: parcels 0.5" in result.output


def test_the_plugin_records_only_marked_tests_and_keeps_earlier_results(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "pyproject.toml").write_text(textwrap.dedent("""\
        [tool.pytest.ini_options]
        markers = ["rubric(*ids): ML Test Score evidence"]
        """))
    (project / "tests" / "conftest.py").write_text('pytest_plugins = ["inloop.readiness.pytest_plugin"]\n')
    (project / "tests" / "test_x.py").write_text(textwrap.dedent("""\
        import pytest

        from inloop.readiness import rubric


        @rubric("infra-7", what="rolls back", how="automated")
        def roll_back():
            return "rolled back"


        @rubric("infra-6", what="canary", how="automated")
        def never_called():
            return "never"


        @pytest.mark.rubric("data-7")
        def test_ok():
            assert roll_back() == "rolled back"

        @pytest.mark.rubric("infra-1")
        def test_bad():
            assert False

        @pytest.mark.rubric("infra-2")
        @pytest.mark.skip(reason="not here")
        def test_skipped():
            pass

        def test_unmarked():
            pass
        """))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], cwd=project, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()

    def run(*args: str) -> None:
        # Only the plugins this needs (the installed ones cost seconds of start-up each); a local run.
        env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "CI": ""}
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=project,
                       env=env, capture_output=True, text=True, timeout=120, check=False)

    run("-p", "xdist.plugin", "-n", "1")  # under xdist: the controller records what the worker reports
    results = load_results(project)
    assert {k.split("::")[1]: v["outcome"] for k, v in results.items()} == {
        "test_ok": "passed", "test_bad": "failed", "test_skipped": "skipped"}
    bad = results["tests/test_x.py::test_bad"]
    assert bad["ids"] == ["infra-1"]
    # tied to the commit and the test file it judged; a whole local session on a clean tree
    digest = hashlib.sha256((project / "tests" / "test_x.py").read_bytes()).hexdigest()
    assert (bad["commit"], bad["dirty"], bad["file_sha256"], bad["origin"], bad["partial"]) == (
        head, False, digest, "local", False)
    # the decorated function a test called is recorded as reached, with the test file; the other is not
    reached = load_reached(project)
    assert set(reached) == {"test_x:roll_back"}
    assert reached["test_x:roll_back"]["test_files"] == ["tests/test_x.py"]
    assert reached["test_x:roll_back"]["commit"] == head
    first = bad["at"]
    (project / "tests" / "test_x.py").write_text("import pytest\n\n@pytest.mark.rubric('data-7')\ndef test_ok():\n"
                                                 "    assert False\n")
    run("tests/test_x.py::test_ok")
    again = load_results(project)
    ok = again["tests/test_x.py::test_ok"]
    assert ok["outcome"] == "failed"
    assert ok["partial"] is True and ok["dirty"] is True  # one chosen test, on an edited tree
    assert ok["file_sha256"] != digest
    assert again["tests/test_x.py::test_bad"]["at"] == first  # not run this time: kept
    assert set(load_reached(project)) == {"test_x:roll_back"}  # kept too


def test_platform_evidence_counts_only_for_domains_whose_code_uses_it_unless_declared_for_every_domain(
        tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    platform = repo / "platform" / "src" / "inloop"
    platform.mkdir(parents=True)
    (platform / "tuning.py").write_text(
        'from inloop.readiness import rubric\n\n\n@rubric("model-3", what="bounded search")\ndef search():\n    pass\n')
    (platform / "studies.py").write_text("from inloop.tuning import search\n")
    (platform / "scaffold.py").write_text(
        'from inloop.readiness import rubric\n\n\n@rubric("data-6", what="new domain", domain="*")\n'
        "def new_domain():\n    pass\n")
    (repo / "tests" / "platform" / "test_tuning.py").write_text(
        'import pytest\n\nfrom inloop.tuning import search\nfrom inloop.scaffold import new_domain\n\n\n'
        '@pytest.mark.rubric("model-3", "data-6")\ndef test_search():\n    pass\n')
    # parcels reaches inloop.tuning through inloop.studies; boxes uses neither
    (repo / "domains" / "parcels" / "src" / "parcels" / "train.py").write_text("import inloop.studies\n")
    boxes = repo / "domains" / "boxes"
    boxes.mkdir()
    (boxes / "project.yaml").write_text(CARD.replace("domain: parcels", "domain: boxes"))
    source = (repo / "tests" / "platform" / "test_tuning.py").read_text()
    results = {"tests/platform/test_tuning.py::test_search": _ran("passed", source)}
    # the recorded session: a parcels test reached the search; only a platform test reached new_domain
    reached = {"inloop.tuning:search": {"commit": None, "origin": "ci", "partial": False,
                                        "test_files": ["tests/domains/parcels/test_parcels.py"], "callers": ["parcels"]},
               "inloop.scaffold:new_domain": {"commit": None, "origin": "ci", "partial": False,
                                              "test_files": ["tests/platform/test_tuning.py"], "callers": []}}
    other, parcels = domain_reports(repo=repo, results=results, check_info=_no_checks, history=lambda d: {},
                                    reached=reached)
    assert (parcels.domain, other.domain) == ("parcels", "boxes")
    assert parcels.score_of("model-3") == 1.0
    assert other.score_of("model-3") == 0.0
    problems = {e.problem for t in other.tests if t.test.id == "model-3" for e in t.evidence}
    assert problems == {"a platform test of inloop.tuning, whose @rubric code boxes's tests and code never reached",
                        "platform code that boxes's tests and code never reached in the recorded session at this "
                        "commit: exercise it from tests/domains/boxes/ or boxes's code"}
    # declared for every domain: the test of it counts for both
    assert parcels.score_of("data-6") == other.score_of("data-6") == 1.0
    # parcels imports inloop.tuning but no parcels test reached it: the platform evidence no longer counts
    reached["inloop.tuning:search"].update(test_files=["tests/platform/test_tuning.py"], callers=[])
    _, parcels = domain_reports(repo=repo, results=results, check_info=_no_checks, history=lambda d: {},
                                reached=reached)
    assert parcels.score_of("model-3") == 0.0


def test_a_check_counts_once_the_platform_database_holds_its_result(tmp_path: Path) -> None:
    from inloop.cards import load_card
    from inloop.checks import Measurement, evaluate_concern
    from inloop.readiness.collect import _check_history  # the database reading readiness relies on

    repo = _repo(tmp_path)
    exists = lambda d: CheckInfo(frozenset({"no_unsorted_parcels"}))  # noqa: E731
    (report,) = domain_reports("parcels", repo=repo, results={}, check_info=exists)  # the real history
    assert report.score_of("monitor-2") == 0.0
    concern = load_card(repo / "domains" / "parcels" / "project.yaml").concern("no-parcel-left-behind")
    for value in (0, 2):
        evaluate_concern("parcels", concern, Measurement(value, "counted at 22:00"))
    (report,) = domain_reports("parcels", repo=repo, results={}, check_info=exists)
    (check,) = next(t for t in report.tests if t.test.id == "monitor-2").evidence
    assert (check.verified, check.last_result, check.runs, check.score) == (True, "failed", 2, 0.5)
    # a concern whose check only ever failed in the database: not counted
    evaluate_concern("parcels", concern.model_copy(update={"id": "always-failing"}), Measurement(5, "counted"))
    history = _check_history("parcels")
    assert history["always-failing"]["passes"] == 0 and history["no-parcel-left-behind"]["passes"] == 1
