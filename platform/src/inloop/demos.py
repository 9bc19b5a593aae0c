"""Worst-case demos: executable stories that push a bad case through the real system.

A demo records each step (what came in, which check fired, which fallback took over, who was
notified, where it ended) and the *claims* its story makes. It passes only when every claim
held, so the same demo the console plays for a stakeholder is also a test that fails when its
story stops being true.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Demo", "DemoResult", "DemoTrace", "Step", "run_demo"]

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


def run_demo(demo: Demo, on_step: Callable[[Step], None] | None = None) -> DemoResult:
    """Run a demo; it passes only if it made at least one claim and every claim held."""
    trace = DemoTrace(on_step)
    start = time.perf_counter()
    error = None
    try:
        demo.run(trace)
    except Exception as exc:  # a demo that crashes has failed its story; keep the trace
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
        trace.step("result", "the demo crashed", str(exc))
    passed = error is None and bool(trace.claims) and all(s.ok for s in trace.claims)
    return DemoResult(demo.id, passed, trace.steps, error, round(time.perf_counter() - start, 3))
