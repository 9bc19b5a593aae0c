"""Worst-case demos: executable stories that push a bad case through the real system.

A demo records each step (what came in, which check fired, which fallback took over, who was
notified, where it ended) and the *claims* its story makes. It passes only when every claim
held, so the same demo the console plays for a stakeholder is also a test that fails when its
story stops being true.

Every run through :func:`run_demo` (console, ``inloop demo run``, the test suite) stores its result
in the platform database (``demo_runs``): the console shows a demo's last result without running it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["Demo", "DemoResult", "DemoTrace", "StoredDemoRun", "Step", "demo_domain", "last_demo_runs",
           "run_demo", "store_demo_result"]

log = logging.getLogger("inloop.demos")

StepKind = Literal["input", "action", "check", "fallback", "notify", "result", "claim", "info"]


@dataclass
class Step:
    kind: StepKind
    title: str
    detail: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    ok: bool | None = None
    at_s: float = 0.0


class DemoTrace:
    """The step-by-step record a demo writes while it runs."""

    def __init__(self, on_step: Callable[[Step], None] | None = None) -> None:
        self.steps: list[Step] = []
        self._start = time.perf_counter()
        self._on_step = on_step

    def _add(self, step: Step) -> Step:
        step.at_s = round(time.perf_counter() - self._start, 3)
        self.steps.append(step)
        if self._on_step:
            self._on_step(step)
        return step

    def step(self, kind: StepKind, title: str, detail: str = "", **evidence: Any) -> Step:
        """Record what happened (kind: input, action, check, fallback, notify, result, info)."""
        return self._add(Step(kind=kind, title=title, detail=detail, evidence=evidence))

    def claim(self, holds: bool, statement: str, **evidence: Any) -> bool:
        """Record a claim of the story and whether it held; the demo fails if any claim fails."""
        self._add(Step(kind="claim", title=statement, evidence=evidence, ok=bool(holds)))
        return bool(holds)

    @property
    def claims(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "claim"]


@dataclass(frozen=True)
class Demo:
    """A registered worst-case demo. ``run`` receives a :class:`DemoTrace` and tells its story."""

    id: str
    title: str
    story: str
    run: Callable[[DemoTrace], None]
    concerns: tuple[str, ...] = ()


@dataclass
class DemoResult:
    demo_id: str
    passed: bool
    steps: list[Step]
    error: str | None = None
    seconds: float = 0.0

    @property
    def failed_claims(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "claim" and not s.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"demo_id": self.demo_id, "passed": self.passed, "error": self.error, "seconds": self.seconds,
                "steps": [asdict(s) for s in self.steps]}


def run_demo(demo: Demo, on_step: Callable[[Step], None] | None = None, *, domain: str | None = None,
             source: str | None = None, store: bool = True) -> DemoResult:
    """Run a demo; it passes only if it made at least one claim and every claim held.

    The result is stored (see :func:`store_demo_result`) unless ``store`` is false; ``source`` says who
    ran it (default: "test suite" under pytest, else "python").
    """
    trace = DemoTrace(on_step)
    started_at = dt.datetime.now(dt.UTC)
    start = time.perf_counter()
    error = None
    try:
        demo.run(trace)
    except Exception as exc:  # a demo that crashes has failed its story; keep the trace
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
        trace.step("result", "the demo crashed", str(exc))
    passed = error is None and bool(trace.claims) and all(s.ok for s in trace.claims)
    result = DemoResult(demo.id, passed, trace.steps, error, round(time.perf_counter() - start, 3))
    if store:
        store_demo_result(result, domain=domain or demo_domain(demo), title=demo.title, started_at=started_at,
                          source=source or ("test suite" if "PYTEST_CURRENT_TEST" in os.environ else "python"))
    return result


def demo_domain(demo: Demo) -> str:
    """The domain a demo belongs to: the top-level package of its story function (``credit.demos`` -> credit)."""
    return (getattr(demo.run, "__module__", None) or "unknown").split(".")[0]


def _jsonable(value: Any, depth: int = 0) -> Any:
    """Step evidence as JSON: images and tables are described, not stored whole."""
    if value is None or isinstance(value, bool | int | str):
        return value if not isinstance(value, str) or len(value) <= 2000 else value[:2000] + "..."
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, bytes):
        return f"({len(value):,} bytes of binary data, e.g. an image)"
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a pandas DataFrame: its first rows
        return _jsonable(value.head(50).to_dict(orient="records"), depth)
    if depth < 6 and isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in list(value.items())[:200]}
    if depth < 6 and isinstance(value, list | tuple | set):
        return [_jsonable(v, depth + 1) for v in list(value)[:200]]
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        text = repr(value)
        return text if len(text) <= 500 else text[:500] + "..."


def store_demo_result(result: DemoResult, *, domain: str, title: str, started_at: dt.datetime, source: str,
                      db_url: str | None = None) -> int | None:
    """Store one run's verdict and steps; returns its id, or None when the database cannot take it.

    Storing never fails the demo: a demo run where no platform database is reachable is still a run,
    and the warning says why its result is not on the console.
    """
    from inloop import db
    from inloop.db.models import DemoRun

    steps = [_jsonable(asdict(step)) for step in result.steps]
    try:
        with db.session(db_url) as sess:
            row = DemoRun(domain=domain, demo_id=result.demo_id, title=title[:300], passed=result.passed,
                          started_at=started_at, seconds=result.seconds, source=source[:32], error=result.error,
                          steps=steps)
            sess.add(row)
            sess.flush()
            return int(row.id)
    except Exception as exc:  # the database is down or read-only: the run itself stands
        log.warning("the result of demo %s:%s was not stored: %s", domain, result.demo_id, exc)
        return None


@dataclass(frozen=True)
class StoredDemoRun:
    """A demo run as stored: what the console shows without running anything."""

    id: int
    domain: str
    demo_id: str
    title: str
    passed: bool
    started_at: dt.datetime
    seconds: float
    source: str
    error: str | None
    steps: list[Step]

    @property
    def claims(self) -> list[Step]:
        return [s for s in self.steps if s.kind == "claim"]


def last_demo_runs(domain: str | None = None, demo_id: str | None = None, *, per_demo: int = 1,
                   db_url: str | None = None) -> list[StoredDemoRun]:
    """The newest ``per_demo`` stored runs of every demo (or of one), newest first within each demo."""
    import sqlalchemy as sa

    from inloop import db
    from inloop.db.models import DemoRun

    ranked = sa.select(DemoRun.id, sa.func.row_number().over(
        partition_by=(DemoRun.domain, DemoRun.demo_id), order_by=DemoRun.id.desc()).label("rank"))
    if domain:
        ranked = ranked.where(DemoRun.domain == domain)
    if demo_id:
        ranked = ranked.where(DemoRun.demo_id == demo_id)
    sub = ranked.subquery()
    query = (sa.select(DemoRun).join(sub, sub.c.id == DemoRun.id).where(sub.c.rank <= per_demo)
             .order_by(DemoRun.domain, DemoRun.demo_id, DemoRun.id.desc()))
    out = []
    with db.read_session(db_url) as sess:
        for r in sess.scalars(query):
            steps = [Step(kind=s.get("kind", "info"), title=s.get("title", ""), detail=s.get("detail", ""),
                          evidence=s.get("evidence") or {}, ok=s.get("ok"), at_s=float(s.get("at_s") or 0))
                     for s in r.steps if isinstance(s, dict)]
            out.append(StoredDemoRun(r.id, r.domain, r.demo_id, r.title, r.passed, r.started_at, r.seconds,
                                     r.source, r.error, steps))
    return out
