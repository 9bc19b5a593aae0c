"""A pytest plugin that records the last result of every ``@pytest.mark.rubric`` test.

Registered in ``tests/conftest.py`` (``pytest_plugins = ["inloop.readiness.pytest_plugin"]``). At the
end of a session it merges the outcomes of the rubric-marked tests that ran into
``<rootdir>/.inloop/readiness/test-results.json`` (git-ignored, outside every test's temporary
directory), under a file lock so concurrent sessions do not lose each other's results. Tests that did
not run this session keep their earlier result. Under pytest-xdist the controller writes the file:
workers tag their reports and the controller collects them.

Only rubric-marked tests are recorded: node id, outcome (passed / failed / skipped), when, how long,
and the rubric ids the marker named.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

__all__ = ["RESULTS_FILE", "load_results", "result_of", "results_path"]

RESULTS_FILE = "test-results.json"
_PROPERTY = "inloop.rubric"
_PARAMS = re.compile(r"\[.*\]$")


def results_path(repo: Path) -> Path:
    return repo / ".inloop" / "readiness" / RESULTS_FILE


def load_results(repo: Path) -> dict[str, dict[str, Any]]:
    """node id -> {"outcome", "at" (datetime), "duration", "ids"}; empty when nothing was recorded."""
    path = results_path(repo)
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for nodeid, rec in (raw.get("tests") or {}).items():
        try:
            out[nodeid] = {**rec, "at": datetime.fromisoformat(rec["at"])}
        except (KeyError, TypeError, ValueError):
            continue
    return out


def result_of(results: dict[str, dict[str, Any]], nodeid: str) -> dict[str, Any] | None:
    """The last result of a test; a parametrized test's cases combine (any failure fails it)."""
    cases = [rec for key, rec in results.items() if key == nodeid or _PARAMS.sub("", key) == nodeid]
    if not cases:
        return None
    outcomes = {c["outcome"] for c in cases}
    outcome = "failed" if "failed" in outcomes else "passed" if "passed" in outcomes else "skipped"
    return {"outcome": outcome, "at": max(c["at"] for c in cases), "count": len(cases)}


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


class _Recorder:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.outcomes: dict[str, dict[str, Any]] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
        outcome = yield
        report = outcome.get_result()
        ids = [str(a) for m in item.iter_markers("rubric") for a in m.args]
        if ids:
            report.user_properties.append((_PROPERTY, ",".join(ids)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        ids = next((v for k, v in report.user_properties if k == _PROPERTY), None)
        if ids is None:
            return
        rec = self.outcomes.setdefault(report.nodeid, {"outcome": "passed", "duration": 0.0, "ids": ids.split(",")})
        rec["duration"] = round(rec["duration"] + (report.duration or 0.0), 3)
        rec["at"] = datetime.now(UTC).isoformat(timespec="seconds")
        if report.failed:
            rec["outcome"] = "failed"
        elif report.skipped and rec["outcome"] != "failed":
            rec["outcome"] = "skipped"

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.outcomes or hasattr(self.config, "workerinput"):
            return  # nothing marked ran, or an xdist worker (its controller records)
        path = results_path(Path(self.config.rootpath))
        try:
            with _locked(path):
                try:
                    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
                except ValueError:
                    data = {}
                tests = data.get("tests") or {}
                tests.update(self.outcomes)
                data = {"about": "last result of each @pytest.mark.rubric test (inloop.readiness)", "tests": tests}
                handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump(data, out, indent=1, sort_keys=True)
                os.replace(tmp, path)
        except OSError as exc:  # never fail a test run over the record
            warnings.warn(f"inloop.readiness: could not record rubric test results in {path}: {exc}", stacklevel=1)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Recorder(config), "inloop-readiness-recorder")
