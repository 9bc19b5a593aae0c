"""Deleting a piece of evidence from a copy of this repository lowers its score.

The copy holds the tracked files (``git ls-files``). The credit feature tests run once inside it so
their result is recorded there; then ``inloop readiness credit --repo COPY`` is read, the test file is
deleted, and the rubric test, its section and — after a second deletion in the weakest section — the
final score drop.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inloop.cli import app
from inloop.readiness.collect import INSTALLED_REPO

FEATURE_TESTS = "tests/domains/credit/test_features.py"

pytestmark = pytest.mark.slow


def _copy_repo(dest: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=INSTALLED_REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = INSTALLED_REPO / name
        if source.is_file():  # tracked but deleted in the working tree: skip
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def _readiness(repo: Path) -> dict:
    result = CliRunner().invoke(app, ["readiness", "credit", "--repo", str(repo), "--json"])
    assert result.exit_code == 0, result.output
    # The JSON report is on stdout; libraries may log (e.g. MLflow creating its database) around it.
    text = result.stdout
    start = next(i for i, line in enumerate(text.splitlines(keepends=True)) if line.startswith("["))
    (report,), _ = json.JSONDecoder().raw_decode("".join(text.splitlines(keepends=True)[start:]))
    return report


def _score(report: dict, rubric_id: str) -> float:
    return next(t["score"] for t in report["tests"] if t["id"] == rubric_id)


def test_deleting_evidence_in_a_copy_drops_the_test_its_section_and_the_final_score(tmp_path: Path) -> None:
    if not (INSTALLED_REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs the git checkout (git ls-files) to copy the repository")
    repo = _copy_repo(tmp_path / "copy")
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", FEATURE_TESTS],
                         cwd=repo, capture_output=True, text=True, timeout=300, check=False,
                         env={**os.environ, "PYTEST_ADDOPTS": "", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert ran.returncode == 0, ran.stdout[-2000:]

    before = _readiness(repo)
    data7 = next(t for t in before["tests"] if t["id"] == "data-7")
    ours = [e for e in data7["evidence"] if e["ref"].startswith(FEATURE_TESTS + "::")]
    assert ours and all(e["verified"] and e["last_result"] == "passed" for e in ours)
    # one chosen file: a partial run, so automated only when it came from CI (CI=true), else by hand
    worth = 1.0 if os.environ.get("CI", "").lower() in ("true", "1", "yes") else 0.5
    assert data7["score"] == worth and {e["score"] for e in ours} == {worth}
    remaining = max((e["score"] for e in data7["evidence"] if not e["ref"].startswith(FEATURE_TESTS)), default=0.0)

    (repo / FEATURE_TESTS).unlink()
    after = _readiness(repo)
    assert _score(after, "data-7") == remaining < worth
    assert after["sections"]["data"] == before["sections"]["data"] - (worth - remaining)
    assert after["final"] == min(after["sections"].values())

    # Only what ran counts: in the copy only the feature tests ran, so a section whose evidence is all
    # tests that never ran there, or platform code credit's tests never reached, scores 0 — and says why.
    for section, score in after["sections"].items():
        if score == 0:
            problems = [e["problem"] for t in after["tests"] if t["section"] == section for e in t["evidence"]]
            reasons = ("never run", "never reached", "does not use", "only ever failed", "planned", "no asset check")
            assert problems and all(any(r in p for r in reasons) for p in problems), problems

    # Now the weakest section that still scores: remove the file that declares its best evidence for one
    # rubric test.
    scoring = {k: v for k, v in after["sections"].items() if v > 0}
    if not scoring:
        pytest.fail("every credit section scores 0 in the copy; nothing left to delete")
    weakest = min(scoring, key=scoring.get)  # type: ignore[arg-type]
    floor = after["sections"][weakest]
    def files_of(test: dict) -> set[str]:
        return {e["location"].rsplit(":", 1)[0] for e in test["evidence"] if e["verified"]}

    candidates = [t for t in after["tests"] if t["section"] == weakest and t["score"] > 0
                  and not any(f.endswith("project.yaml") for f in files_of(t))]
    assert candidates, f"no deletable evidence in credit's {weakest} section"
    target = candidates[0]
    files = files_of(target)
    for name in files:
        (repo / name).unlink()
    final = _readiness(repo)
    assert _score(final, target["id"]) == 0.0, (target["id"], files)
    assert final["sections"][weakest] <= floor - target["score"]
    assert final["final"] == min(final["sections"].values()) <= after["final"]
    if after["final"] == floor:  # that section was the minimum: the final score drops with it
        assert final["final"] < after["final"]
    assert any(m["id"] == target["id"] for m in final["missing"])
