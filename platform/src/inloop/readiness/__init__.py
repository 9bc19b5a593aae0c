"""Production readiness: the ML Test Score rubric, evidence declared next to the code, scores.

Evidence is declared where it lives, never in a spreadsheet:

* **tests** — ``@pytest.mark.rubric("infra-7")`` on a test function (domain = the folder under
  ``tests/domains/<domain>/``; tests under ``tests/platform`` or ``tests/dashboards`` count for every domain).
  A test run by ``make test`` / CI counts as automated.
* **concern checks** — ``rubric: [monitor-2]`` on a concern in the domain's ``project.yaml``; the
  check's last result comes from the platform database.
* **code** (assets, sensors, schedules, reports, plain functions) — the :func:`rubric` decorator
  below, on the object that provides the evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from inloop.readiness.rubric import RUBRIC, SECTIONS, RubricTest, rubric_test

__all__ = ["RUBRIC", "SECTIONS", "CodeEvidence", "RubricTest", "code_evidence", "rubric", "rubric_test"]

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


def rubric(*ids: str, what: str, how: How = "automated", domain: str | None = None) -> Callable[[F], F]:
    """Declare that the decorated object is evidence for the given ML Test Score ids.

    ``domain`` defaults to the top-level package of the decorated object's module when that is a
    domain package; platform code (``inloop.*``) counts for every domain.
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
        return obj

    return decorate


def code_evidence() -> list[CodeEvidence]:
    """Every ``@rubric`` declaration imported so far (import the modules first)."""
    return list(_REGISTRY.values())

