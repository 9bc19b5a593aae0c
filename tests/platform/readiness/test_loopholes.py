"""Readiness counts only evidence that ran: each loophole a strict reader found, shown closed.

* a ``@rubric`` function nothing reached earns no automated point (at most manual);
* a tagged document outside a domain's folder does not count for it unless it names the domain;
* a results record from another commit, for a changed test file, or without provenance does not count;
* a partial local run or a dirty tree counts as manual, not automated.

The repository is a git checkout written into the test's folder, so "the commit checked out now" is real.
"""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inloop.readiness.collect import CheckInfo
from inloop.readiness.report import DomainReport, domain_reports

CARD = (Path(__file__).resolve().parents[1] / "cards" / "minimal.yaml").read_text()
NOW = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
TEST_FILE = "tests/domains/parcels/test_parcels.py"
NODE = TEST_FILE + "::test_rollback"

DOMAIN_TEST = '''\
import pytest


@pytest.mark.rubric("infra-7")
def test_rollback():
    pass
'''

CODE = '''\
from inloop.readiness import rubric


@rubric("monitor-6", what="bench compare", how="automated")
def compare():
    pass
'''

GIT = ["git", "-c", "user.name=readiness", "-c", "user.email=readiness@example.org"]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def _checkout(root: Path) -> tuple[Path, str]:
    """A committed repository with two domains (parcels, boxes), a marked test and ``@rubric`` code."""
    for name in ("parcels", "boxes"):
        (root / "domains" / name / "src" / name).mkdir(parents=True)
        (root / "domains" / name / "project.yaml").write_text(CARD.replace("domain: parcels", f"domain: {name}"))
    (root / "domains" / "parcels" / "src" / "parcels" / "bench.py").write_text(CODE)
    (root / "tests" / "domains" / "parcels").mkdir(parents=True)
    (root / TEST_FILE).write_text(DOMAIN_TEST)
    (root / ".ci").mkdir()
    (root / ".ci" / "run").write_text("#!/bin/sh\nmake test\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "parcels")
    return root, _git(root, "rev-parse", "HEAD")


def _record(commit: str | None, **changes: object) -> dict:
    base = {"outcome": "passed", "at": NOW, "commit": commit, "dirty": False, "origin": "ci", "partial": False,
            "file_sha256": hashlib.sha256(DOMAIN_TEST.encode()).hexdigest()}
    return {**base, **changes}


def _reports(repo: Path, results: dict, reached: dict | None = None) -> dict[str, DomainReport]:
    reports = domain_reports(repo=repo, results=results, reached=reached or {}, verify_imports=False,
                             check_info=lambda d: CheckInfo(frozenset()), history=lambda d: {})
    return {r.domain: r for r in reports}


def _evidence(report: DomainReport, rubric_id: str) -> list:
    return next(t for t in report.tests if t.test.id == rubric_id).evidence


def test_a_result_from_another_commit_or_for_a_changed_test_file_does_not_count(tmp_path: Path) -> None:
    repo, head = _checkout(tmp_path)
    assert _reports(repo, {NODE: _record(head)})["parcels"].score_of("infra-7") == 1.0

    other = _reports(repo, {NODE: _record("0" * 40)})["parcels"]
    assert other.score_of("infra-7") == 0.0
    (ev,) = _evidence(other, "infra-7")
    assert ev.last_result == "stale" and "recorded at commit 000000000000" in ev.problem

    hand_written = {k: v for k, v in _record(head).items() if k not in ("commit", "file_sha256")}
    (ev,) = _evidence(_reports(repo, {NODE: hand_written})["parcels"], "infra-7")
    assert not ev.verified and "recorded without its commit" in ev.problem

    # the test file changed after its result was recorded (same commit, edited tree)
    (repo / TEST_FILE).write_text(DOMAIN_TEST.replace("pass", "assert True"))
    changed = _reports(repo, {NODE: _record(head)})["parcels"]
    assert changed.score_of("infra-7") == 0.0
    assert "its file changed since the result was recorded" in _evidence(changed, "infra-7")[0].problem


@pytest.mark.parametrize(("changes", "why"), [
    ({"origin": "local", "partial": True}, "partial local run"),
    ({"origin": "ci", "dirty": True}, "uncommitted changes"),
])
def test_a_partial_local_run_or_a_dirty_tree_counts_as_manual(tmp_path: Path, changes: dict, why: str) -> None:
    repo, head = _checkout(tmp_path)
    report = _reports(repo, {NODE: _record(head, **changes)})["parcels"]
    assert report.score_of("infra-7") == 0.5
    assert why in _evidence(report, "infra-7")[0].automation
    # a whole local session on a clean tree is what CI runs: automated
    assert _reports(repo, {NODE: _record(head, origin="local")})["parcels"].score_of("infra-7") == 1.0


def test_an_unreached_decorated_function_earns_no_automated_point(tmp_path: Path) -> None:
    repo, head = _checkout(tmp_path)
    unreached = _reports(repo, {})["parcels"]
    (ev,) = _evidence(unreached, "monitor-6")
    assert (ev.how, ev.score) == ("manual", 0.5) and "never reached" in ev.automation
    reached = {"parcels.bench:compare": {"commit": head, "origin": "ci", "partial": False,
                                         "test_files": [TEST_FILE], "callers": ["parcels"]}}
    assert _reports(repo, {}, reached)["parcels"].score_of("monitor-6") == 1.0
    # reached at another commit: as if never reached
    reached["parcels.bench:compare"]["commit"] = "f" * 40
    (ev,) = _evidence(_reports(repo, {}, reached)["parcels"], "monitor-6")
    assert ev.score == 0.5 and "recorded at commit ffffffffffff" in ev.automation


def test_a_tagged_document_counts_only_for_the_domain_that_holds_it_or_that_it_names(tmp_path: Path) -> None:
    repo, _ = _checkout(tmp_path)
    (repo / "docs").mkdir()
    (repo / "docs" / "notes.md").write_text("# Notes\n\n<!-- rubric: model-2 -->\none line\n")
    (repo / "domains" / "parcels" / "docs").mkdir()
    (repo / "domains" / "parcels" / "docs" / "staleness.md").write_text("# Age\n\n<!-- rubric: model-4 -->\n")
    (repo / "docs" / "inclusion.md").write_text("# Inclusion\n\n<!-- rubric: model-7; domains: boxes, crates -->\n")
    reports = _reports(repo, {})
    parcels, boxes = reports["parcels"], reports["boxes"]
    # outside every domain, naming none: listed, counted for no domain
    assert parcels.score_of("model-2") == boxes.score_of("model-2") == 0.0
    assert "counts only for the domains it names" in _evidence(parcels, "model-2")[0].problem
    # in parcels' folder: parcels only
    assert (parcels.score_of("model-4"), boxes.score_of("model-4")) == (0.5, 0.0)
    # naming boxes: boxes only; the unknown name is a problem in the declarations
    assert (parcels.score_of("model-7"), boxes.score_of("model-7")) == (0.0, 0.5)
    assert any("unknown domain 'crates'" in p for p in boxes.problems)


def test_a_call_is_noted_per_test_with_the_calling_packages_and_the_domain_it_ran_for(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import inloop.readiness as readiness

    @readiness.rubric("infra-7", what="rolls back a domain's champion", how="automated")
    def rollback(domain: str, to_version: int | None = None) -> str:
        return f"{domain} -> {to_version}"

    @readiness.rubric("monitor-6", what="never called")
    def compare() -> None:
        return None

    recorder = readiness.ReachRecorder()
    monkeypatch.setattr(readiness, "_LISTENING", [recorder])  # the session's own recorder comes back after
    assert rollback("recommender", 3) == "recommender -> 3"  # the wrapper keeps behaviour and arguments
    recorder.context = "tests/domains/credit/test_x.py::test_y"
    rollback(domain="credit")
    hits = recorder.take()
    assert set(hits) == {f"{__name__}:test_a_call_is_noted_per_test_with_the_calling_packages_and_the_domain_it_ran_for"
                         ".<locals>.rollback"}
    (by,) = hits.values()
    assert "recommender" in by[""] and "credit" not in by[""]
    assert "credit" in by["tests/domains/credit/test_x.py::test_y"]
    assert recorder.take() == {}  # taken once

    @readiness.rubric("data-1", what="an asset that yields its outputs")
    def outputs(domain: str):  # type: ignore[no-untyped-def]
        yield from (domain, "done")

    import inspect

    assert inspect.isgeneratorfunction(outputs)  # Dagster tells generator assets apart by this
    assert list(outputs("invoice_ocr")) == ["invoice_ocr", "done"]
    (by,) = recorder.take().values()
    assert "invoice_ocr" in by["tests/domains/credit/test_x.py::test_y"]


def test_a_platform_test_of_a_package_counts_only_for_the_domains_that_reached_its_code(tmp_path: Path) -> None:
    repo, head = _checkout(tmp_path)
    package = repo / "platform" / "src" / "inloop" / "privacy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from inloop.privacy.erasure import forget\n")
    (package / "erasure.py").write_text('from inloop.readiness import rubric\n\n\n'
                                        '@rubric("data-5", what="forget a person", how="automated")\n'
                                        "def forget(domain, subject):\n    pass\n")
    (repo / "tests" / "platform").mkdir()
    source = 'import pytest\n\nfrom inloop.privacy import forget\n\n\n@pytest.mark.rubric("data-5")\ndef test_forget():\n    pass\n'
    (repo / "tests" / "platform" / "test_privacy.py").write_text(source)
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "privacy")
    head = _git(repo, "rev-parse", "HEAD")
    results = {"tests/platform/test_privacy.py::test_forget": {
        **_record(head), "file_sha256": hashlib.sha256(source.encode()).hexdigest()}}
    # the platform test called forget("parcels", ...): parcels' erasure ran, boxes' never did
    reached = {"inloop.privacy.erasure:forget": {"commit": head, "origin": "ci", "partial": False,
                                                 "test_files": ["tests/platform/test_privacy.py"],
                                                 "callers": ["inloop", "parcels"]}}
    reports = _reports(repo, results, reached)
    assert reports["parcels"].score_of("data-5") == 1.0
    assert reports["boxes"].score_of("data-5") == 0.0
    problems = {e.problem for e in _evidence(reports["boxes"], "data-5")}
    assert "a platform test of inloop.privacy.erasure, whose @rubric code boxes's tests and code never reached" in problems
