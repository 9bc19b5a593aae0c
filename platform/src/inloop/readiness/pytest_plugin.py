"""A pytest plugin that records the last result of every ``@pytest.mark.rubric`` test.

Registered in ``tests/conftest.py`` (``pytest_plugins = ["inloop.readiness.pytest_plugin"]``). At the
end of a session it merges the outcomes of the rubric-marked tests that ran into
``<rootdir>/.inloop/readiness/test-results.json`` (git-ignored, outside every test's temporary
directory), under a file lock so concurrent sessions do not lose each other's results. Tests that did
not run this session keep their earlier result. Under pytest-xdist the controller writes the file:
workers tag their reports and the controller collects them.

Only rubric-marked tests are recorded: node id, outcome (passed / failed / skipped), when, how long,
the rubric ids the marker named, and what ties the result to the code it judged: the commit
(``git rev-parse HEAD``) and whether the tree was dirty, the SHA-256 of the test's file, the origin
(``ci`` when ``CI=true``, else ``local``) and whether the session was partial (``-k``, ``-m``, chosen
paths, ``--lf``, deselected tests). The record also holds which ``@rubric`` functions the session
reached (``reached``), and from which tests and packages — code evidence counts only when reached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

__all__ = ["RESULTS_FILE", "UNRECORDED", "file_digest", "load_reached", "load_results", "repo_commit", "result_of", "results_path"]

RESULTS_FILE = "test-results.json"
_PROPERTY = "inloop.rubric"
_REACHED = "inloop.rubric.reached"
#: What a record without provenance (an old or hand-written one) shows for its commit and file hash.
UNRECORDED = "(not recorded)"
_PARAMS = re.compile(r"\[.*\]$")


def results_path(repo: Path) -> Path:
    return repo / ".inloop" / "readiness" / RESULTS_FILE


def file_digest(path: Path) -> str | None:
    """SHA-256 of a file's bytes (None when it cannot be read): ties a result to the test it judged."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


_CODE_SUFFIXES = (".py", ".yaml", ".yml", ".toml", ".sql", ".cfg", ".ini")


def repo_commit(repo: Path) -> tuple[str | None, bool]:
    """(``git rev-parse HEAD``, whether tracked code or configuration differs from it); (None, False)
    outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=30)
        if head.returncode != 0:
            return None, False
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                                capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None, False
    # Only code and configuration make a tree dirty: a re-resolved lock file or a regenerated report
    # does not change what the tests judged.
    changed = [line[3:].strip() for line in status.stdout.splitlines() if len(line) > 3]
    return head.stdout.strip() or None, any(name.endswith(_CODE_SUFFIXES) for name in changed)


def _read(repo: Path) -> dict[str, Any]:
    path = results_path(repo)
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def load_results(repo: Path) -> dict[str, dict[str, Any]]:
    """node id -> {"outcome", "at" (datetime), "duration", "ids", "commit", "dirty", "file_sha256",
    "origin", "partial"}; empty when nothing was recorded."""
    out: dict[str, dict[str, Any]] = {}
    for nodeid, rec in (_read(repo).get("tests") or {}).items():
        try:
            out[nodeid] = {**rec, "at": datetime.fromisoformat(rec["at"])}
        except (KeyError, TypeError, ValueError):
            continue
    return out


def load_reached(repo: Path) -> dict[str, dict[str, Any]]:
    """module:qualname -> {"commit", "dirty", "origin", "partial", "at", "test_files", "callers"}: the
    ``@rubric`` functions recorded sessions reached; empty when none was recorded."""
    out: dict[str, dict[str, Any]] = {}
    for qualname, rec in (_read(repo).get("reached") or {}).items():
        if isinstance(rec, dict):
            out[qualname] = rec
    return out


def result_of(results: dict[str, dict[str, Any]], nodeid: str) -> dict[str, Any] | None:
    """The last result of a test; a parametrized test's cases combine (any failure fails it).

    The provenance (commit, dirty, file hash, origin, partial) is the oldest / weakest of the cases:
    every case must hold for the combined result to hold.
    """
    cases = [rec for key, rec in results.items() if key == nodeid or _PARAMS.sub("", key) == nodeid]
    if not cases:
        return None
    outcomes = {c["outcome"] for c in cases}
    outcome = "failed" if "failed" in outcomes else "passed" if "passed" in outcomes else "skipped"
    commits = {c.get("commit", UNRECORDED) for c in cases}
    digests = {c.get("file_sha256", UNRECORDED) for c in cases}
    return {"outcome": outcome, "at": max(c["at"] for c in cases), "count": len(cases),
            "commit": commits.pop() if len(commits) == 1 else "(mixed)",
            "file_sha256": digests.pop() if len(digests) == 1 else "(mixed)",
            "dirty": any(c.get("dirty") for c in cases),
            "origin": "ci" if all(c.get("origin") == "ci" for c in cases) else "local",
            "partial": any(c.get("partial", True) for c in cases)}


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as handle:
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: last writer wins
            pass
        yield


def _partial(config: pytest.Config, deselected: int) -> bool:
    """A session someone narrowed by hand: ``-k``, ``-m``, chosen paths or node ids, ``--lf``, deselected tests."""
    option = config.option
    chosen = config.args_source == pytest.Config.ArgsSource.ARGS
    return bool(getattr(option, "keyword", "") or getattr(option, "markexpr", "") or getattr(option, "lf", False)
                or deselected or chosen)


class _Recorder:
    def __init__(self, config: pytest.Config) -> None:
        from inloop.readiness import ReachRecorder

        self.config = config
        self.outcomes: dict[str, dict[str, Any]] = {}
        self.reached: dict[str, dict[str, set[str]]] = {}  # qualname -> {test file -> caller packages}
        self.deselected = 0
        self.reach = ReachRecorder()
        self.root = Path(config.rootpath)
        self.commit, self.dirty = None, False
        self.digests: dict[str, str | None] = {}

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from inloop.readiness import listen

        listen(self.reach)
        if not hasattr(self.config, "workerinput"):  # the controller ties the record to the code it ran
            self.commit, self.dirty = repo_commit(self.root)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self.reach.context = nodeid

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
        outcome = yield
        report = outcome.get_result()
        ids = [str(a) for m in item.iter_markers("rubric") for a in m.args]
        if ids:
            report.user_properties.append((_PROPERTY, ",".join(ids)))
        hits = self.reach.take()
        if hits:  # shipped with the report so an xdist controller hears of its workers' calls
            report.user_properties.append((_REACHED, json.dumps(
                {q: {ctx: sorted(callers) for ctx, callers in by.items()} for q, by in hits.items()})))

    def _digest(self, nodeid: str) -> str | None:
        file = nodeid.split("::", 1)[0]
        if file not in self.digests:
            self.digests[file] = file_digest(self.root / file)
        return self.digests[file]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        reached = next((v for k, v in report.user_properties if k == _REACHED), None)
        if reached is not None:
            for qualname, by in json.loads(reached).items():
                mine = self.reached.setdefault(qualname, {})
                for ctx, callers in by.items():
                    # per test file, not node id: a file says which domain's tests reached it, and stays small
                    mine.setdefault((ctx or report.nodeid).split("::", 1)[0], set()).update(callers)
        ids = next((v for k, v in report.user_properties if k == _PROPERTY), None)
        if ids is None:
            return
        rec = self.outcomes.setdefault(report.nodeid, {"outcome": "passed", "duration": 0.0, "ids": ids.split(","),
                                                       "file_sha256": self._digest(report.nodeid)})
        rec["duration"] = round(rec["duration"] + (report.duration or 0.0), 3)
        rec["at"] = datetime.now(UTC).isoformat(timespec="seconds")
        if report.failed:
            rec["outcome"] = "failed"
        elif report.skipped and rec["outcome"] != "failed":
            rec["outcome"] = "skipped"

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from inloop.readiness import listen

        listen(None)
        if (not self.outcomes and not self.reached) or hasattr(self.config, "workerinput"):
            return  # nothing marked ran, or an xdist worker (its controller records)
        provenance = {"commit": self.commit, "dirty": self.dirty, "partial": _partial(self.config, self.deselected),
                      "origin": "ci" if os.environ.get("CI", "").lower() in ("true", "1", "yes") else "local"}
        for rec in self.outcomes.values():
            rec.update(provenance)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        path = results_path(self.root)
        try:
            with _locked(path):
                try:
                    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
                except ValueError:
                    data = {}
                tests = data.get("tests") or {}
                tests.update(self.outcomes)
                reached = data.get("reached") or {}
                for qualname, by in self.reached.items():
                    old = reached.get(qualname) or {}
                    same = old.get("commit") == self.commit and old.get("partial") == provenance["partial"]
                    rec = {**provenance, "at": now,
                           "test_files": sorted(set(by) | (set(old.get("test_files", ())) if same else set())),
                           "callers": sorted(set().union(*by.values()) | (set(old.get("callers", ())) if same
                                                                           else set()))}
                    # a full or CI session is the stronger record: a later partial local one does not replace it
                    if old.get("commit") == self.commit and not old.get("partial", True) and rec["partial"]:
                        continue
                    reached[qualname] = rec
                data = {"about": "last result of each @pytest.mark.rubric test, and the @rubric functions the tests "
                                 "reached (inloop.readiness)",
                        "session": {**provenance, "at": now}, "tests": tests, "reached": reached}
                handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump(data, out, indent=1, sort_keys=True)
                os.replace(tmp, path)
        except OSError as exc:  # never fail a test run over the record
            warnings.warn(f"inloop.readiness: could not record rubric test results in {path}: {exc}", stacklevel=1)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Recorder(config), "inloop-readiness-recorder")
