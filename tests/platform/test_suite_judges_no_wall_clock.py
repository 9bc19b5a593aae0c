"""The suite judges no wall-clock time: a speed limit in a test fails on a loaded machine and says
nothing about the code (#15: a canary latency gate failed `make test` once). Speed goals are bench
figures with a goal (``inloop bench``); gate logic is tested on recorded latencies.

A static look at every test's ``assert``: an ordering comparison (``<``, ``<=``, ``>``, ``>=``) between
something timed (a latency, an elapsed or training time, a p95/p99, a clock reading) and a number other
than zero is a wall-clock judgement. ``> 0`` (a duration was recorded) and equalities against recorded
figures are not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
TIMED = re.compile(r"latenc|elapsed|took|perf_counter|monotonic|training_seconds|_ms\b|_ms_|p95|p99|wall", re.I)
ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def _timed(node: ast.AST) -> bool:
    return bool(TIMED.search(ast.unparse(node)))


def _nonzero_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float) and node.value != 0


def wall_clock_judgements(source: str) -> list[str]:
    """Each assert in ``source`` that orders a timed quantity against a non-zero number, as ``line: code``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Assert):
            continue
        for compare in (n for n in ast.walk(node.test) if isinstance(n, ast.Compare)):
            sides = [compare.left, *compare.comparators]
            for op, left, right in zip(compare.ops, sides[:-1], sides[1:], strict=True):
                if isinstance(op, ORDERING) and ((_timed(left) and _nonzero_number(right))
                                                 or (_timed(right) and _nonzero_number(left))):
                    found.append(f"{node.lineno}: {ast.unparse(node.test)}")
    return found


def test_the_detector_finds_a_latency_limit_and_passes_recorded_figures() -> None:
    assert wall_clock_judgements("assert statistics.median(v.latency_ms for v in views) < 50\n")
    assert wall_clock_judgements("assert service.model.training_seconds < 10\n")
    assert wall_clock_judgements("assert 0.5 > time.perf_counter() - started\n")
    assert not wall_clock_judgements("assert all(v.latency_ms > 0 for v in views)\n")
    assert not wall_clock_judgements("assert (mine.latency_p95_ms, theirs.latency_p95_ms) == (2.0, 1.5)\n")
    assert not wall_clock_judgements('assert 300 < frame["application_duration_seconds"].median() < 900\n')


def test_no_test_in_the_suite_judges_wall_clock_time() -> None:
    offenders = {str(path.relative_to(TESTS)): found for path in sorted(TESTS.rglob("*.py"))
                 if (found := wall_clock_judgements(path.read_text(encoding="utf-8")))}
    assert not offenders, ("move these speed limits to a bench figure with a goal; test gate logic on recorded "
                           f"latencies: {offenders}")
