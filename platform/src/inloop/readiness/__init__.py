"""Production readiness: the ML Test Score rubric, evidence declared next to the code, scores.

Evidence is declared where it lives, never in a spreadsheet:

* **tests** — ``@pytest.mark.rubric("infra-7")`` on a test function (domain = the folder under
  ``tests/domains/<domain>/``; tests under ``tests/platform`` or ``tests/dashboards`` count for every domain).
  A test run by ``make test`` / CI counts as automated.
* **concern checks** — ``rubric: [monitor-2]`` on a concern in the domain's ``project.yaml``; the
  check's last result comes from the platform database.
* **code** (assets, sensors, schedules, reports, plain functions) — the :func:`rubric` decorator
  below, on the object that provides the evidence. A decorated function counts only when it is
  *reached*: the decorator keeps a note of every call made while a recorder is listening (the pytest
  plugin listens during the test session and writes the calls into the results record), and code that
  nothing reached counts at most as manual. ``how`` defaults to manual.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from inloop.readiness.rubric import RUBRIC, SECTIONS, RubricTest, rubric_test

__all__ = ["RUBRIC", "SECTIONS", "CodeEvidence", "ReachRecorder", "RubricTest", "code_evidence", "listen",
           "rubric", "rubric_test"]

F = TypeVar("F")

How = Literal["automated", "manual"]


@dataclass(frozen=True)
class CodeEvidence:
    """One ``@rubric`` declaration: which rubric tests the decorated object provides evidence for."""

    ids: tuple[str, ...]
    what: str  # one line: what this object does for the rubric test
    how: How  # "automated": a schedule/sensor/pipeline/CI runs it; "manual": a person runs it
    qualname: str  # module:qualname of the decorated object
    domain: str | None  # None: platform-wide (counts for every domain)


_REGISTRY: dict[str, CodeEvidence] = {}


class ReachRecorder:
    """Which ``@rubric`` functions ran, and from where, while it listens.

    Only one recorder listens at a time (the pytest plugin's, during the test session). ``context``
    names what is running now (a test's node id); each call notes the context once, with the top-level
    packages on the call stack, so a platform function can be credited to the domain whose code called it.
    """

    def __init__(self) -> None:
        self.context = ""
        #: qualname -> {context -> top-level packages of the callers}
        self.hits: dict[str, dict[str, set[str]]] = {}

    def note(self, qualname: str, for_domain: str | None = None) -> None:
        """One call of a decorated function, made for ``for_domain`` when it takes a ``domain`` argument
        (the first call per context and domain walks the stack; later ones are a lookup)."""
        seen = self.hits.setdefault(qualname, {})
        key = f"{self.context}\x00{for_domain}" if for_domain else self.context
        if key in seen:
            return
        callers: set[str] = {for_domain} if for_domain else set()
        frame: types.FrameType | None = sys._getframe(2)
        depth = 0
        while frame is not None and depth < 200:
            name = frame.f_globals.get("__name__") or ""
            callers.add(name.split(".", 1)[0])
            frame, depth = frame.f_back, depth + 1
        seen[key] = callers

    def take(self) -> dict[str, dict[str, set[str]]]:
        """The hits so far per context, and forget them (the plugin ships them with each test's report)."""
        hits, self.hits = self.hits, {}
        merged: dict[str, dict[str, set[str]]] = {}
        for qualname, by in hits.items():
            for key, callers in by.items():
                merged.setdefault(qualname, {}).setdefault(key.split("\x00", 1)[0], set()).update(callers)
        return merged


_LISTENING: list[ReachRecorder] = []


def listen(recorder: ReachRecorder | None) -> None:
    """Make ``recorder`` the one that decorated functions report to (None: stop listening)."""
    _LISTENING[:] = [recorder] if recorder is not None else []


def _counted(func: Any, key: str) -> Any:
    """``func`` wrapped so each call is noted by the listening recorder (signature and hints kept).

    A platform function that takes the domain it works for (a ``domain`` parameter, e.g.
    ``rollback(domain, ...)``) is noted as exercised for that domain: the call ran that domain's path.
    """
    try:
        params = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        params = []
    position = params.index("domain") if "domain" in params else None

    def for_domain(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        value = kwargs.get("domain")
        if value is None and position is not None and len(args) > position:
            value = args[position]
        return value if isinstance(value, str) else None

    if inspect.isgeneratorfunction(func):  # e.g. an asset that yields its outputs: stay a generator
        @functools.wraps(func)
        def gcall(*args: Any, **kwargs: Any) -> Any:
            if _LISTENING:
                _LISTENING[0].note(key, for_domain(args, kwargs))
            return (yield from func(*args, **kwargs))

        return gcall

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def acall(*args: Any, **kwargs: Any) -> Any:
            if _LISTENING:
                _LISTENING[0].note(key, for_domain(args, kwargs))
            return await func(*args, **kwargs)

        return acall

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        if _LISTENING:
            _LISTENING[0].note(key, for_domain(args, kwargs))
        return func(*args, **kwargs)

    return call


def rubric(*ids: str, what: str, how: How = "manual", domain: str | None = None) -> Callable[[F], F]:
    """Declare that the decorated object is evidence for the given ML Test Score ids.

    ``how="automated"`` says a pipeline, schedule, sensor or CI runs it; it scores as automated only
    when a recorded test session (or CI) reached it — code nothing reached counts at most as manual.
    Functions are wrapped so their calls can be noted; other objects (classes, definitions) cannot
    be reached and count as manual.

    ``domain`` defaults to the top-level package of the decorated object's module when that is a
    domain package; platform code (``inloop.*``) counts for a domain whose code or tests reached it,
    or for every domain with ``domain="*"``.
    """
    if not ids:
        raise ValueError("@rubric needs at least one rubric id, e.g. @rubric('infra-7', what=...)")
    for rubric_id in ids:
        rubric_test(rubric_id)  # validates
    if how not in ("automated", "manual"):
        raise ValueError(f"how must be 'automated' or 'manual', not {how!r}")

    def decorate(obj: F) -> F:
        module = getattr(obj, "__module__", None) or "?"
        name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or getattr(obj, "name", repr(obj))
        top = module.split(".", 1)[0]
        owner = domain if domain is not None else (None if top == "inloop" else top)
        key = f"{module}:{name}"
        _REGISTRY[key] = CodeEvidence(ids=tuple(ids), what=what, how=how, qualname=key, domain=owner)
        if inspect.isfunction(obj):
            return _counted(obj, key)  # type: ignore[no-any-return]
        return obj

    return decorate


def code_evidence() -> list[CodeEvidence]:
    """Every ``@rubric`` declaration imported so far (import the modules first)."""
    return list(_REGISTRY.values())

